//! Stack exhaustion in built executables, with `-O stack-guard=on` (the default: no check in
//! compiled code, the guard region of the runtime's wasm stack) and `off` (prologue checks):
//! `--max-stack` is exact enough to tell 48 KiB of frames from 80 KiB, recursion through WASI
//! calls ends in the same clean "call stack exhausted" report with a wasm backtrace, and a
//! `--max-stack` far beyond the main thread's native stack is honoured on it.

mod common;

use common::{build, run_exe, Output};
use std::path::Path;

fn build_wat(dir: &Path, name: &str, wat: &str, flags: &[&str]) -> std::path::PathBuf {
    let src = dir.join(format!("{name}.wat"));
    std::fs::write(&src, wat).unwrap();
    build(&src, dir, name, flags)
}

const GUARD_SETTINGS: [&str; 2] = ["stack-guard=on", "stack-guard=off"];

/// Values each level of [`spills`] keeps live across its recursive call: 800 bytes of spill
/// slots, so a level's frame is between 800 and about 1000 bytes.
const SPILLED: usize = 100;

/// Recurses `depth` levels of a frame holding [`SPILLED`] values, then exits with status 7.
fn spills(depth: u32) -> String {
    let loads: String = (0..SPILLED)
        .map(|i| format!("(i64.load offset={} (i32.const 0))\n", 8 * i))
        .collect();
    let adds = "(i64.add)\n".repeat(SPILLED);
    format!(
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func $f (param $n i32) (result i64)
            {loads}
            (if (result i64) (local.get $n)
              (then (call $f (i32.sub (local.get $n) (i32.const 1))))
              (else (i64.const 0)))
            {adds})
          (func (export "_start")
            (drop (call $f (i32.const {depth})))
            (call $exit (i32.const 7))))"#
    )
}

#[track_caller]
fn assert_stack_exhausted(out: &Output, what: &str) {
    assert_eq!(out.status, 134, "{what}: {}", out.stderr);
    assert!(
        out.stderr
            .starts_with("Error: wasm trap: call stack exhausted\nwasm backtrace:"),
        "{what}: {}",
        out.stderr
    );
}

#[test]
fn max_stack_64k_runs_48k_of_frames_and_stops_80k() {
    let dir = tempfile::tempdir().unwrap();
    for guard in GUARD_SETTINGS {
        let flags = ["--max-stack", "64K", "-O", guard];
        let fits = build_wat(dir.path(), "fits", &spills(48), &flags);
        let out = run_exe(&fits, &[]);
        assert_eq!(out.status, 7, "{guard}: {}", out.stderr);
        let exceeds = build_wat(dir.path(), "exceeds", &spills(100), &flags);
        assert_stack_exhausted(&run_exe(&exceeds, &[]), guard);
        // Without the limit (6 MiB by default) the deep one runs too.
        let exe = build_wat(dir.path(), "default", &spills(100), &["-O", guard]);
        assert_eq!(run_exe(&exe, &[]).status, 7, "{guard}");
    }
}

/// Writes a line at every level of an unbounded recursion.
const PRINTING_RECURSION: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\02\00\00\00")
  (data (i32.const 16) "x\n")
  (func $down (param $n i64) (result i64)
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i64.add (call $down (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $down (i64.const 0)))))"#;

#[test]
fn recursion_through_wasi_calls_ends_in_a_clean_trap_report() {
    let dir = tempfile::tempdir().unwrap();
    for guard in GUARD_SETTINGS {
        for limit in ["16K", "64K", "1M"] {
            let what = format!("{guard} --max-stack {limit}");
            let exe = build_wat(
                dir.path(),
                "printing",
                PRINTING_RECURSION,
                &["--max-stack", limit, "-O", guard],
            );
            let out = run_exe(&exe, &[]);
            assert_stack_exhausted(&out, &what);
            assert!(out.stderr.contains("down"), "{what}: {}", out.stderr);
            // Every level printed before it went deeper.
            let lines = out.stdout.lines().count();
            assert!(lines > 100, "{what}: {lines} lines");
            assert!(out.stdout.lines().all(|l| l == "x"), "{what}");
        }
    }
}

/// Recurses a million levels (about 32 MiB of frames) and exits with status 7.
const MILLION_LEVELS: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $down (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 0))
      (else (i64.add (call $down (i64.sub (local.get $n) (i64.const 1))) (i64.const 1)))))
  (func (export "_start")
    (drop (call $down (i64.const 1000000)))
    (call $exit (i32.const 7))))"#;

#[test]
fn a_max_stack_far_beyond_the_native_stack_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    for guard in GUARD_SETTINGS {
        let exe = build_wat(
            dir.path(),
            "deep",
            MILLION_LEVELS,
            &["--max-stack", "256M", "-O", guard],
        );
        assert_eq!(run_exe(&exe, &[]).status, 7, "{guard}");
        let exe = build_wat(dir.path(), "deep", MILLION_LEVELS, &["-O", guard]);
        assert_stack_exhausted(&run_exe(&exe, &[]), guard);
    }
}
