//! Resource limits stop hostile programs with a clear message while the host stays healthy:
//! `--max-memory` (allocation bomb: memory.grow fails with -1; exception objects kept alive
//! fail cleanly), `--max-stack` (deep recursion: "call stack exhausted") and `--timeout`
//! (infinite loop in wasm, or a guest blocked in or looping on host calls: "interrupted"), on
//! executables built by `wasic build` and through `wasic run`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
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

/// Throws 20,000 exceptions with 256-byte payloads and keeps every one alive in a table.
const EXCEPTION_HOARD: &str = r#"(module
  (memory (export "memory") 1)
  (tag $big (param PAYLOAD))
  (table $kept 20000 exnref)
  (func (export "_start")
    (local $i i32)
    (loop $l
      (table.set $kept (local.get $i)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $big CONSTS))
          (unreachable)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (i32.const 20000))))))"#;

#[test]
fn max_memory_bounds_live_exception_objects() {
    let dir = tempfile::tempdir().unwrap();
    let wat = EXCEPTION_HOARD
        .replace("PAYLOAD", &["v128"; 16].join(" "))
        .replace("CONSTS", &["(v128.const i64x2 1 2)"; 16].join(" "));
    let exe = build(dir.path(), &wat, &["--max-memory", "1M"]);
    let out = Command::new(&exe).output().unwrap();
    // Like wasmtime's "GC heap out of memory": an error, not a trap.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("Error: exception heap out of memory: no capacity for an allocation of"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // Without the limit the same program runs to its end.
    let exe = build(dir.path(), &wat, &[]);
    let out = Command::new(&exe).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

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

/// What a guest stuck in host code did once its `--timeout 1s` ran out.
struct Stopped {
    status: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `tests/wasi/hostloop.c` scenario `scenario`, built with `--timeout 1s` and `flags`.
/// Its stdin is a pipe the test keeps open and never writes to; its stdout is `/dev/null`
/// when `stdout_null`, else captured. A run still going after 30 s is killed and fails.
fn run_hostloop(scenario: &str, flags: &[&str], stdout_null: bool) -> Stopped {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["--timeout", "1s"];
    all.extend_from_slice(flags);
    let exe = common::build_c("hostloop", dir.path(), &all);
    let mut cmd = common::command(&exe, &[scenario]);
    cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdout(if stdout_null {
        Stdio::null()
    } else {
        Stdio::piped()
    });
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    // Held open (and never written) until the program has ended.
    let stdin = child.stdin.take().unwrap();
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = reader(child.stdout.take().map(|o| Box::new(o) as _));
    let err = reader(child.stderr.take().map(|e| Box::new(e) as _));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{scenario}: still running after 30 s with --timeout 1s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    drop(stdin);
    Stopped {
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed,
    }
}

/// The timeout stopped the guest in time, as it stops a loop in wasm code: the "interrupted"
/// trap report, the wasm backtrace to the host call, status 134.
#[track_caller]
fn assert_interrupted(scenario: &str, r: &Stopped) {
    eprintln!("{scenario}: stopped after {:?}", r.elapsed);
    assert_eq!(
        r.status, 134,
        "{scenario}: stdout {:?}, stderr {:?}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr
            .starts_with("Error: wasm trap: interrupted\nwasm backtrace:"),
        "{scenario}: {}",
        r.stderr
    );
    assert!(r.stderr.contains("main"), "{scenario}: {}", r.stderr);
    // The guest never saw the EINTR its host call gave up with.
    assert!(!r.stdout.contains("returned"), "{scenario}: {}", r.stdout);
    // Within 2 s of the limit.
    assert!(
        r.elapsed < Duration::from_secs(3),
        "{scenario}: took {:?}",
        r.elapsed
    );
}

#[test]
fn timeout_stops_a_guest_waiting_in_sock_accept_for_a_client_that_never_comes() {
    let flags = ["--tcplisten", "127.0.0.1:0"];
    assert_interrupted("accept", &run_hostloop("accept", &flags, false));
}

#[test]
fn timeout_stops_a_guest_blocked_in_fd_read_on_a_pipe_without_data() {
    assert_interrupted("read-pipe", &run_hostloop("read-pipe", &[], false));
}

#[test]
fn timeout_stops_a_guest_sleeping_in_poll_oneoff_on_a_long_clock() {
    assert_interrupted("sleep", &run_hostloop("sleep", &[], false));
}

#[test]
fn timeout_stops_a_guest_waiting_in_poll_oneoff_for_a_pipe_that_never_becomes_ready() {
    assert_interrupted("poll-pipe", &run_hostloop("poll-pipe", &[], false));
}

#[test]
fn timeout_stops_a_guest_looping_on_random_get_with_large_buffers() {
    assert_interrupted("random", &run_hostloop("random", &[], false));
}

#[test]
fn timeout_stops_a_guest_looping_on_sched_yield() {
    assert_interrupted("yield", &run_hostloop("yield", &[], false));
}

#[test]
fn timeout_stops_a_guest_looping_on_big_fd_writes_to_dev_null() {
    assert_interrupted("write", &run_hostloop("write", &[], true));
}

#[test]
fn timeout_stops_a_guest_rereading_a_directory_with_fd_readdir() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..200 {
        std::fs::write(d.path().join(format!("file-{i:03}")), b"x").unwrap();
    }
    let grant = format!("{}::/dir", d.path().display());
    assert_interrupted(
        "readdir",
        &run_hostloop("readdir", &["--dir", &grant], false),
    );
}

#[test]
fn timeout_stops_a_guest_blocked_in_path_open_on_a_fifo_without_writer() {
    let d = tempfile::tempdir().unwrap();
    let fifo = std::ffi::CString::new(d.path().join("fifo").into_os_string().into_encoded_bytes())
        .unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let grant = format!("{}::/dir", d.path().display());
    assert_interrupted(
        "open-fifo",
        &run_hostloop("open-fifo", &["--dir", &grant], false),
    );
}
