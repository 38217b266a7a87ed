//! Criterion benchmarks: every program (`programs/*.c`) on every engine (native process, wasic,
//! wasmtime, wasmi; compilation outside the measurement, instantiate + `_start` inside), and
//! compile time of the combined module for wasic and wasmtime.
//!
//! `cargo bench` runs everything (wasmi takes a while: filter with e.g. `cargo bench -- wasic`,
//! or set WASIC_BENCH_ENGINES=native,wasic,wasmtime). BENCHMARKS.md is made by the `report`
//! binary instead (see run.sh), which checks checksums and interleaves engines.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use wasic_benches::{artifact, Engine, Output, PROGRAMS};

fn engines() -> Vec<Engine> {
    match std::env::var("WASIC_BENCH_ENGINES") {
        Ok(list) => list
            .split(',')
            .map(|s| Engine::from_name(s).unwrap_or_else(|| panic!("unknown engine {s}")))
            .collect(),
        Err(_) => Engine::ALL.to_vec(),
    }
}

fn programs(c: &mut Criterion) {
    for program in PROGRAMS {
        let mut group = c.benchmark_group(*program);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));
        for engine in engines() {
            let mut runner = engine.prepare(program).expect("prepare");
            runner.run(Output::Discard).expect("run");
            group.bench_function(BenchmarkId::from_parameter(engine.name()), |b| {
                b.iter(|| runner.run(Output::Discard).expect("run"))
            });
        }
        group.finish();
    }
}

fn compile(c: &mut Criterion) {
    let wasm = std::fs::read(artifact("all.wasm")).expect("all.wasm");
    let mut group = c.benchmark_group("compile-all.wasm");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(wasm.len() as u64));
    group.bench_function("wasic", |b| {
        b.iter(|| wasic_compiler::compile(&wasm, &wasic_benches::wasic_options()).unwrap())
    });
    let engine = wasic_benches::wasmtime_engine().unwrap();
    group.bench_function("wasmtime", |b| {
        b.iter(|| engine.precompile_module(&wasm).unwrap())
    });
    group.finish();
}

criterion_group!(benches, programs, compile);
criterion_main!(benches);
