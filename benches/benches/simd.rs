//! A SIMD kernel against its scalar twin (`simd/kernel.c`, one source, built by clang 14 with
//! and without `-msimd128`), both as `wasic build --target-cpu native` executables: what
//! fixed-width SIMD buys. Both variants must print the same checksum (checked before timing).
//!
//! `cargo bench --bench simd` (the wasic CLI: $WASIC, default ../target/debug/wasic).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;
use wasic_benches::{bench_dir, Bench, Engine, Tools, WasmSet};

fn simd_vs_scalar(c: &mut Criterion) {
    let wasic = std::env::var_os("WASIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench_dir().join("../target/debug/wasic"));
    let bench = Bench::new(Tools::find(Some(&wasic), None)).expect("bench work directory");
    let src = bench_dir().join("simd/kernel.c");
    let mut group = c.benchmark_group("simd-kernel");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let mut checksums = Vec::new();
    for (name, flag) in [("scalar", "-fno-vectorize"), ("simd128", "-msimd128")] {
        let module = format!("simd-kernel-{name}");
        let runner = bench
            .prepare_module(
                &Engine::wasic(true),
                WasmSet::Clang14,
                &module,
                &src,
                || bench.wasm(WasmSet::Clang14, &src, &module, &[flag]),
            )
            .unwrap_or_else(|e| panic!("building the {name} kernel: {e}"));
        checksums.push(runner.run(true).expect("run").stdout);
        group.bench_function(name, |b| b.iter(|| runner.run(false).expect("run")));
    }
    assert_eq!(
        checksums[0], checksums[1],
        "the SIMD kernel and its scalar twin disagree"
    );
    group.finish();
}

criterion_group!(benches, simd_vs_scalar);
criterion_main!(benches);
