//! Garbage-collected programs built with `wasic build` and run as native executables: a
//! Kotlin/Wasm program (`tests/programs/gc_toolchain/kotlin_trees.wasm`, made by Kotlin 2.4.20's
//! `wasm-wasi` target: GC structs and arrays in 80 recursion groups, casts, `call_ref`,
//! exceptions with a `(ref null $Throwable)` payload) and the hand-written binary-trees
//! benchmark (`benches/programs/gc_binary_trees.wat`), at a depth where the collector runs many
//! times, under a memory limit the program's total allocation exceeds many times over.

mod common;

use common::*;

fn repo_file(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn kotlin_wasm_program_prints_what_wasmtime_prints() {
    let t = tempfile::tempdir().unwrap();
    let exe = build(
        &repo_file("tests/programs/gc_toolchain/kotlin_trees.wasm"),
        t.path(),
        "kotlin_trees",
        &[],
    );
    let out = run_exe(&exe, &[]);
    // The output wasmtime 50.0.1 gives (tests/programs/gc_toolchain/README.md).
    assert_run(
        &out,
        0,
        "stretch tree of depth 11\t check: 4095\n\
         1024\t trees of depth 4\t check: 31744\n\
         256\t trees of depth 6\t check: 32512\n\
         64\t trees of depth 8\t check: 32704\n\
         16\t trees of depth 10\t check: 32752\n\
         long lived tree of depth 10\t check: 2047\n\
         shapes: 100 total area: 340900 first: [Square, Rect, Square]\n\
         words: gc,i31,cast,array,struct\n",
    );
}

/// The binary-trees benchmark built with a 64 MiB memory limit.
fn binary_trees(dir: &std::path::Path) -> std::path::PathBuf {
    build(
        &repo_file("benches/programs/gc_binary_trees.wat"),
        dir,
        "binary_trees",
        &["--max-memory", "64M"],
    )
}

#[test]
fn binary_trees_allocating_800_mb_runs_under_a_64_mib_limit() {
    let t = tempfile::tempdir().unwrap();
    // Depth 17 allocates about 800 MB of nodes in all (33.5 million of 24 bytes); the
    // long-lived tree (2^18 nodes) and one short-lived tree at a time are live.
    let exe = binary_trees(t.path());
    let out = run_exe(&exe, &["17"]);
    assert_run(
        &out,
        0,
        // What wasmtime prints.
        "stretch tree of depth 18\t check: 524287\n\
         131072\t trees of depth 4\t check: 4063232\n\
         32768\t trees of depth 6\t check: 4161536\n\
         8192\t trees of depth 8\t check: 4186112\n\
         2048\t trees of depth 10\t check: 4192256\n\
         512\t trees of depth 12\t check: 4193792\n\
         128\t trees of depth 14\t check: 4194176\n\
         32\t trees of depth 16\t check: 4194272\n\
         long lived tree of depth 17\t check: 262143\n\
         array checksum: 1630720\n",
    );
}

#[test]
fn a_program_keeping_everything_it_allocates_traps_when_the_gc_heap_is_full() {
    let t = tempfile::tempdir().unwrap();
    // Depth 22: the stretch tree alone is 2^23 nodes (200 MB), over the 64 MiB limit.
    let exe = binary_trees(t.path());
    let out = run_exe(&exe, &["22"]);
    let stderr = &out.stderr;
    assert_eq!(out.status, 134, "stderr: {stderr}");
    assert!(stderr.contains("GC heap out of memory"), "stderr: {stderr}");
}
