//! A C program using `_Atomic` and `__atomic_*` builtins on its ordinary memory (clang with
//! `-matomics`, no shared memory: the threads proposal's atomics on a non-shared memory, as in
//! real wasi-sdk C++ programs), built with `wasic build` in the default feature set and run;
//! and `--timeout` stopping a guest blocked in `memory.atomic.wait32`.

mod common;

use common::*;

#[test]
fn c_program_with_atomics_on_ordinary_memory_builds_and_runs() {
    let wasm = compile_c_with("atomics", &["-matomics"]);
    let bytes = std::fs::read(&wasm).unwrap();
    // The program really contains atomic instructions (prefix 0xfe) and no shared memory.
    assert!(
        bytes.windows(2).any(|w| w == [0xfe, 0x1e]),
        "no i32.atomic.rmw.add in {}",
        wasm.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = build(&wasm, dir.path(), "atomics", &[]);
    let out = run_exe(&exe, &[]);
    assert_run(
        &out,
        0,
        "fetch_add 3000, counter 7\n\
         exchange -1, wide 123456788abc\n\
         cas 1/3005, failed cas 0 saw 7\n\
         u8 250 -> 4, u16 fff0 -> ffff\n",
    );
}

/// A guest waiting forever on its shared memory, in `_start`.
const WAIT_FOREVER: &str = r#"(module
    (memory 1 1 shared)
    (func (export "_start")
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"#;

#[test]
fn timeout_stops_a_guest_waiting_forever_in_memory_atomic_wait() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("wait.wat");
    std::fs::write(&src, WAIT_FOREVER).unwrap();
    let exe = build(&src, dir.path(), "wait", &["--timeout", "200ms"]);
    let start = std::time::Instant::now();
    let out = run_exe(&exe, &[]);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status, 134, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("Error: wasm trap: interrupted"),
        "{}",
        out.stderr
    );
}
