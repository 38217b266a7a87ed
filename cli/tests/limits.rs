//! Resource limits stop hostile programs with a clear message while the host stays healthy:
//! `--max-memory` (allocation bomb: memory.grow fails with -1), `--max-stack` (deep recursion:
//! "call stack exhausted") and `--timeout` (infinite loop: "interrupted"), on executables built
//! by `wasic build` and through `wasic run`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn wasic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasic"))
}

fn build(dir: &Path, wat: &str, flags: &[&str]) -> std::path::PathBuf {
    let src = dir.join("m.wat");
    std::fs::write(&src, wat).unwrap();
    let exe = dir.join("m");
    let out = wasic()
        .arg("build")
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Grows memory one page at a time until memory.grow fails, then exits with the page count.
const ALLOCATION_BOMB: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (call $exit (memory.size))))"#;

const DEEP_RECURSION: &str = r#"(module
  (memory (export "memory") 1)
  (func $down (param i64) (result i64)
    (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $down (i64.const 0)))))"#;

const INFINITE_LOOP: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))"#;

#[test]
fn max_memory_makes_memory_grow_fail_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), ALLOCATION_BOMB, &["--max-memory", "1M"]);
    let out = Command::new(&exe).output().unwrap();
    // 1 MiB = 16 pages: growth stops there and the program goes on (it exits with the size).
    assert_eq!(out.status.code(), Some(16), "{}", stderr(&out));
}

#[test]
fn without_max_memory_a_32_bit_memory_grows_to_4_gib() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), ALLOCATION_BOMB, &[]);
    let out = Command::new(&exe).output().unwrap();
    // 65536 pages; the exit status keeps the low 8 bits.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn max_stack_stops_deep_recursion_with_call_stack_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    for limit in ["64K", "64M"] {
        let exe = build(dir.path(), DEEP_RECURSION, &["--max-stack", limit]);
        let out = Command::new(&exe).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(134),
            "--max-stack {limit}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).starts_with("Error: wasm trap: call stack exhausted"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn default_stack_limit_also_ends_unbounded_recursion_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), DEEP_RECURSION, &[]);
    let out = Command::new(&exe).output().unwrap();
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("Error: wasm trap: call stack exhausted"));
}

#[test]
fn timeout_interrupts_an_infinite_loop() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), INFINITE_LOOP, &["--timeout", "200ms"]);
    let start = Instant::now();
    let out = Command::new(&exe).output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("Error: wasm trap: interrupted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn limits_apply_to_wasic_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("loop.wat");
    std::fs::write(&src, INFINITE_LOOP).unwrap();
    let out = wasic()
        .env("WASIC_CACHE_DIR", dir.path().join("cache"))
        .args(["run", "--timeout", "100ms"])
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"));
    let src = dir.path().join("bomb.wat");
    std::fs::write(&src, ALLOCATION_BOMB).unwrap();
    let out = wasic()
        .env("WASIC_CACHE_DIR", dir.path().join("cache"))
        .args(["run", "--max-memory", "2M"])
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(32), "{}", stderr(&out));
}

#[test]
fn bad_limit_values_are_refused_with_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("loop.wat");
    std::fs::write(&src, INFINITE_LOOP).unwrap();
    for (flag, value) in [
        ("--max-memory", "lots"),
        ("--max-stack", "12Q"),
        ("--timeout", "soon"),
        ("--timeout", "-1s"),
    ] {
        let out = wasic()
            .arg("build")
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("x"))
            .arg(format!("{flag}={value}"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(value), "{flag} {value}: {err}");
        assert!(!dir.path().join("x").exists());
    }
}
