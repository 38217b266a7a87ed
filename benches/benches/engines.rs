//! Criterion benchmarks: every program (`programs/*.c`, wasm by clang 14) on every engine of
//! the report (native gcc, wasm2c + gcc, the wasmtime CLI, `wasic build` executables for
//! x86-64-v2 and for the host CPU), each run a child process from spawn to exit. Engines
//! whose tool is missing are skipped with a note.
//!
//! `cargo bench --bench engines` (the wasic CLI: $WASIC, default ../target/debug/wasic; filter
//! with e.g. `cargo bench --bench engines -- fib/`, or WASIC_BENCH_ENGINES=native,wasic-host).
//! BENCHMARKS.md is made by the `report` binary instead (see run.sh), which checks outputs,
//! interleaves engines and adds start-up, compile times and the optimization ablation.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::PathBuf;
use std::time::Duration;
use wasic_benches::{bench_dir, programs, Bench, Engine, Tools, WasmSet};

fn bench() -> Bench {
    let wasic = std::env::var_os("WASIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench_dir().join("../target/debug/wasic"));
    Bench::new(Tools::find(Some(&wasic), None)).expect("bench work directory")
}

fn engines() -> Vec<Engine> {
    let all = Engine::main_engines();
    match std::env::var("WASIC_BENCH_ENGINES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                all.iter()
                    .find(|e| e.key() == s)
                    .cloned()
                    .unwrap_or_else(|| panic!("unknown engine {s}"))
            })
            .collect(),
        Err(_) => all,
    }
}

fn run_programs(c: &mut Criterion) {
    let bench = bench();
    for program in programs().expect("programs") {
        let mut group = c.benchmark_group(&program);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));
        for engine in engines() {
            let runner = match bench.prepare(&engine, WasmSet::Clang14, &program) {
                Ok(r) => r,
                Err(why) => {
                    eprintln!("skipping {program} on {}: {why}", engine.key());
                    continue;
                }
            };
            runner.run(false).expect("run");
            group.bench_function(BenchmarkId::from_parameter(engine.key()), |b| {
                b.iter(|| runner.run(false).expect("run"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, run_programs);
criterion_main!(benches);
