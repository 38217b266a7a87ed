//! A SIMD kernel against its scalar twin (`simd/kernel.c`, one source, built with and without
//! `-msimd128`), both compiled by wasic and run in process: what fixed-width SIMD buys.
//! Both variants must print the same checksum (checked before timing).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use wasic_benches::{Output, Runner, WasicRunner};

fn build(dir: &Path, simd: bool) -> Vec<u8> {
    let out = dir.join(if simd { "simd.wasm" } else { "scalar.wasm" });
    let mut cmd = Command::new(std::env::var("WASI_CC").unwrap_or_else(|_| "clang".into()));
    cmd.args(["--target=wasm32-wasi", "-O2"]);
    cmd.arg(if simd { "-msimd128" } else { "-fno-vectorize" });
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("simd/kernel.c")).arg("-o").arg(&out);
    assert!(cmd.status().expect("clang").success(), "{cmd:?} failed");
    std::fs::read(out).unwrap()
}

fn simd_vs_scalar(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("simd-kernel");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let mut checksums = Vec::new();
    for (name, simd) in [("scalar", false), ("simd128", true)] {
        let mut runner = WasicRunner::new(&build(dir.path(), simd)).expect("compile");
        checksums.push(runner.run(Output::Capture).expect("run"));
        group.bench_function(name, |b| b.iter(|| runner.run(Output::Discard).expect("run")));
    }
    assert_eq!(checksums[0], checksums[1], "the SIMD kernel and its scalar twin disagree");
    group.finish();
}

criterion_group!(benches, simd_vs_scalar);
criterion_main!(benches);
