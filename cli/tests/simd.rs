//! SIMD programs end to end: C built with `clang --target=wasm32-wasi -O2 -msimd128` (one using
//! `wasm_simd128.h` intrinsics, one relying on auto-vectorization) give, through `wasic build`,
//! the same output as the same source built natively (the intrinsics program has a scalar twin
//! under `#ifndef __wasm_simd128__`). Checked for every `--target-cpu` this machine can run.

use std::path::Path;
use std::process::Command;

fn src(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/simd")
        .join(name)
}

fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn same_output_as_native(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native");
    output(
        Command::new("cc")
            .args(["-O2"])
            .arg(src(name))
            .arg("-o")
            .arg(&native),
    );
    let wasm = dir.path().join("p.wasm");
    output(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-msimd128"])
            .arg(src(name))
            .arg("-o")
            .arg(&wasm),
    );
    // The build really uses SIMD: the module contains the 0xfd prefix of v128 instructions.
    assert!(
        std::fs::read(&wasm).unwrap().contains(&0xfd),
        "no SIMD instruction in {name}"
    );
    let expected = output(&mut Command::new(&native));
    let mut cpus = vec!["x86-64-v2"];
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        cpus.push("x86-64-v3");
    }
    for cpu in cpus {
        let exe = dir.path().join(format!("p-{cpu}"));
        output(
            Command::new(env!("CARGO_BIN_EXE_wasic"))
                .arg("build")
                .arg(&wasm)
                .arg("-o")
                .arg(&exe)
                .args(["--target-cpu", cpu]),
        );
        assert_eq!(
            output(&mut Command::new(&exe)),
            expected,
            "{name} with --target-cpu {cpu}"
        );
    }
}

#[test]
fn intrinsics_program_matches_its_native_scalar_twin() {
    same_output_as_native("intrinsics.c");
}

#[test]
fn auto_vectorized_program_matches_native() {
    same_output_as_native("autovec.c");
}
