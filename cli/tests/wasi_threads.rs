//! wasi-threads programs built with `wasic build` and run: Rust's `wasm32-wasip1-threads` std
//! threads print what their native build prints; how threads end the process (`proc_exit` and
//! traps from any thread, `_start` returning while threads run), that a thread blocked in a
//! WASI call holds up no other thread, that the limits apply to every thread, and what is
//! refused (a wasi-threads module as a library or through `--invoke`, a module that does not
//! have wasi-threads' shape).

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A wasi-threads module: `_start` spawns one thread with start argument 1, then waits until
/// memory word 0 becomes non-zero and exits with it; the thread runs `$THREAD` (which may set
/// word 0 and notify).
fn threaded(thread: &str) -> String {
    format!(
        r#"(module
    (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (import "env" "memory" (memory 1 64 shared))
    (tag $e (param i32))
    (func $recurse (param i32) (result i32)
        (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    (func $thread_body (export "wasi_thread_start") (param $tid i32) (param $arg i32)
        {thread})
    (func (export "_start")
        (local $tid i32)
        (local.set $tid (call $spawn (i32.const 1)))
        (if (i32.le_s (local.get $tid) (i32.const 0)) (then (call $exit (i32.const 99))))
        (block $done
            (loop $wait
                (br_if $done (i32.atomic.load (i32.const 0)))
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
                (br $wait)))
        (call $exit (i32.atomic.load (i32.const 0)))))"#
    )
}

/// Thread code storing `value` (an i32 expression) in memory word 0 and waking main, which
/// exits with it.
fn hand_to_main(value: &str) -> String {
    format!(
        "(i32.atomic.store (i32.const 0) {value})
         (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))"
    )
}

/// `out` is a trap whose report starts with `msg`, with status 134.
fn assert_trap(out: &Output, msg: &str) {
    assert_eq!(out.status, 134, "{}", out.stderr);
    assert!(out.stderr.starts_with(msg), "{}", out.stderr);
}

fn build_wat(dir: &std::path::Path, name: &str, wat: &str, flags: &[&str]) -> std::path::PathBuf {
    let src = dir.join(format!("{name}.wat"));
    std::fs::write(&src, wat).unwrap();
    build(&src, dir, name, flags)
}

#[test]
fn a_thread_gets_its_id_and_start_argument_and_main_sees_its_stores() {
    // Ids start at 1; the thread stores tid * 10 + arg = 11 and wakes main, which exits with it.
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(
        t.path(),
        "ids",
        &threaded(&hand_to_main(
            "(i32.add (i32.mul (local.get $tid) (i32.const 10)) (local.get $arg))",
        )),
        &[],
    );
    let out = run_exe(&exe, &[]);
    assert_run(&out, 11, "");
}

#[test]
fn proc_exit_in_a_spawned_thread_ends_the_process_with_its_code() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(
        t.path(),
        "exit",
        &threaded("(call $exit (i32.const 7))"),
        &[],
    );
    assert_run(&run_exe(&exe, &[]), 7, "");
}

#[test]
fn a_trap_in_a_spawned_thread_ends_the_process_with_its_report_and_134() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(t.path(), "trap", &threaded("(unreachable)"), &[]);
    let out = run_exe(&exe, &[]);
    assert_trap(&out, "Error: wasm trap: unreachable");
    assert!(out.stderr.contains("thread_body"), "{}", out.stderr);
}

#[test]
fn stack_exhaustion_in_a_spawned_thread_is_the_call_stack_trap_under_max_stack() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(
        t.path(),
        "deep",
        &threaded("(drop (call $recurse (i32.const 0)))"),
        &["--max-stack", "256K"],
    );
    let out = run_exe(&exe, &[]);
    assert_trap(&out, "Error: wasm trap: call stack exhausted");
}

#[test]
fn timeout_stops_a_program_whose_spawned_thread_loops_forever() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(
        t.path(),
        "spin",
        &threaded("(loop $l (br $l))"),
        &["--timeout", "300ms"],
    );
    let start = Instant::now();
    let out = run_exe(&exe, &[]);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_trap(&out, "Error: wasm trap: interrupted");
}

#[test]
fn exceptions_are_thrown_and_caught_in_a_spawned_thread_and_uncaught_ones_end_the_program() {
    let t = tempfile::tempdir().unwrap();
    let caught = build_wat(
        t.path(),
        "caught",
        &threaded(&hand_to_main(
            "(block $h (result i32)
                (try_table (catch $e $h) (throw $e (i32.const 42)))
                (i32.const 0))",
        )),
        &[],
    );
    assert_run(&run_exe(&caught, &[]), 42, "");
    let uncaught = build_wat(
        t.path(),
        "uncaught",
        &threaded("(throw $e (i32.const 1))"),
        &[],
    );
    let out = run_exe(&uncaught, &[]);
    assert_trap(&out, "Error: wasm trap: uncaught exception");
}

#[test]
fn wasic_run_runs_a_wasi_threads_program_as_its_executable_does() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("exit.wat");
    std::fs::write(&src, threaded("(call $exit (i32.const 7))")).unwrap();
    let out = run(
        std::process::Command::new(wasic()).arg("run").arg(&src),
        None,
    );
    assert_run(&out, 7, "");
}

#[test]
fn max_memory_caps_the_shared_memory_of_every_thread() {
    // The thread grows the shared memory by 32 pages (2 MiB) under a 1 MiB cap: -1, so it
    // stores grow + 2 = 1; without the cap the grow succeeds (old size 1, stores 3).
    let grow = &hand_to_main("(i32.add (memory.grow (i32.const 32)) (i32.const 2))");
    let t = tempfile::tempdir().unwrap();
    let capped = build_wat(t.path(), "capped", &threaded(grow), &["--max-memory", "1M"]);
    assert_run(&run_exe(&capped, &[]), 1, "");
    let free = build_wat(t.path(), "free", &threaded(grow), &[]);
    assert_run(&run_exe(&free, &[]), 3, "");
}

#[test]
fn a_wasi_threads_module_is_refused_as_a_library_and_by_invoke() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("lib.wat");
    std::fs::write(&src, threaded("")).unwrap();
    let out = run(
        std::process::Command::new(wasic())
            .args(["build", "--lib"])
            .arg(&src)
            .arg("-o")
            .arg(t.path().join("lib.a")),
        None,
    );
    assert_ne!(out.status, 0);
    assert!(
        out.stderr
            .contains("uses wasi-threads, which only a command can run"),
        "{}",
        out.stderr
    );
    assert!(!t.path().join("lib.a").exists());
    let out = run(
        std::process::Command::new(wasic())
            .args(["run", "--invoke", "_start"])
            .arg(&src),
        None,
    );
    assert_ne!(out.status, 0);
    assert!(
        out.stderr
            .contains("uses wasi-threads, which only a command can run"),
        "{}",
        out.stderr
    );
    out.assert_no_panic();
}

#[test]
fn a_module_spawning_threads_without_wasi_thread_start_is_refused_at_build() {
    let t = tempfile::tempdir().unwrap();
    let wat = threaded("").replace("(export \"wasi_thread_start\")", "");
    let src = t.path().join("nostart.wat");
    std::fs::write(&src, wat).unwrap();
    let exe = t.path().join("nostart");
    let out = build_output(&src, &exe);
    assert_ne!(out.status, 0);
    assert!(
        out.stderr
            .contains("uses wasi-threads but exports no `wasi_thread_start` function"),
        "{}",
        out.stderr
    );
    assert!(!exe.exists());
}

#[test]
fn rust_std_threads_print_what_their_native_build_prints() {
    let Ok(wasm) = compile_rust_for("rust_threads", "wasm32-wasip1-threads") else {
        return;
    };
    let native = run(
        &mut std::process::Command::new(compile_rust_native("rust_threads")),
        None,
    );
    assert_eq!(native.status, 0, "{}", native.stderr);
    assert!(
        native.stdout.contains("64 threads: 4032"),
        "{}",
        native.stdout
    );
    let t = tempfile::tempdir().unwrap();
    let exe = build(&wasm, t.path(), "rust_threads", &[]);
    let out = run_exe(&exe, &[]);
    assert_run(&out, 0, &native.stdout);
}

/// The `rust_threads_edge` program built for wasm32-wasip1-threads, or `None` (skip recorded).
fn edge_program(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let wasm = compile_rust_for("rust_threads_edge", "wasm32-wasip1-threads").ok()?;
    Some(build(&wasm, dir, "edge", &[]))
}

#[test]
fn main_returning_ends_the_process_while_a_thread_sleeps() {
    let t = tempfile::tempdir().unwrap();
    let Some(exe) = edge_program(t.path()) else {
        return;
    };
    let start = Instant::now();
    let out = run_exe(&exe, &["sleep"]);
    assert_run(&out, 0, "main is done while a thread sleeps\n");
    // The sleeping thread would sleep a minute.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_thread_blocked_reading_stdin_holds_up_no_other_thread() {
    let t = tempfile::tempdir().unwrap();
    let Some(exe) = edge_program(t.path()) else {
        return;
    };
    // Stdin is a pipe that stays open and empty until the program has ended.
    let mut child = command(&exe, &["stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "main was held up by the reading thread"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "main writes while a thread reads\n"
    );
}

#[test]
fn rust_process_exit_in_a_spawned_thread_ends_the_program_with_its_code() {
    let t = tempfile::tempdir().unwrap();
    let Some(exe) = edge_program(t.path()) else {
        return;
    };
    assert_run(&run_exe(&exe, &["exit"]), 5, "");
}

#[test]
fn a_panicking_rust_thread_aborts_the_program_with_the_panic_message_and_134() {
    // Rust's wasm targets are built with panic=abort: the panic ends the program, as on
    // wasmtime; natively, `join` would return it.
    let t = tempfile::tempdir().unwrap();
    let Some(exe) = edge_program(t.path()) else {
        return;
    };
    let out = run_exe(&exe, &["panic"]);
    assert_eq!(out.status, 134, "{}", out.stderr);
    assert!(out.stderr.contains("worker failed"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Error: wasm trap: unreachable"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

/// `tests/wasi/pthreads.c` compiled with Debian's clang and linked against the wasi-libc threads
/// build that Rust's wasm32-wasip1-threads target ships (Debian has none), with that
/// toolchain's `rust-lld`; `None` (skip recorded) without the target.
fn pthreads_program(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))?;
    let rustlib = sysroot.join("lib/rustlib");
    let libc = rustlib.join("wasm32-wasip1-threads/lib/self-contained");
    let lld = rustlib.join("x86_64-unknown-linux-gnu/bin/rust-lld");
    if !libc.join("libc.a").is_file() || !lld.is_file() {
        skip("the wasm32-wasip1-threads target is not installed (rustup target add wasm32-wasip1-threads): it carries the threads build of wasi-libc");
        return None;
    }
    let obj = dir.join("pthreads.o");
    let out = run(
        std::process::Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-matomics", "-mbulk-memory"])
            .arg("-ftls-model=local-exec")
            .arg("-c")
            .arg(tests_dir().join("wasi/pthreads.c"))
            .arg("-o")
            .arg(&obj),
        None,
    );
    assert_eq!(out.status, 0, "clang failed: {}", out.stderr);
    let builtins = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("llvm-"))
        .flat_map(|e| glob_builtins(&e.path()))
        .next()
        .expect("libclang_rt.builtins-wasm32.a (libclang-rt-dev-wasm32)");
    let wasm = dir.join("pthreads.wasm");
    let out = run(
        std::process::Command::new(&lld)
            .args([
                "-flavor",
                "wasm",
                "--shared-memory",
                "--import-memory",
                "--export-memory",
            ])
            .args(["--max-memory=67108864", "-z", "stack-size=65536"])
            .arg(libc.join("crt1-command.o"))
            .arg(&obj)
            .arg(libc.join("libc.a"))
            .arg(builtins)
            .arg("-o")
            .arg(&wasm),
        None,
    );
    assert_eq!(out.status, 0, "rust-lld failed: {}", out.stderr);
    Some(wasm)
}

/// `LLVM/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a` under an LLVM installation.
fn glob_builtins(llvm: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(versions) = std::fs::read_dir(llvm.join("lib/clang")) else {
        return vec![];
    };
    versions
        .filter_map(|v| v.ok())
        .map(|v| v.path().join("lib/wasi/libclang_rt.builtins-wasm32.a"))
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn c_pthreads_program_with_mutex_condvar_and_thread_locals_runs() {
    let t = tempfile::tempdir().unwrap();
    let Some(wasm) = pthreads_program(t.path()) else {
        return;
    };
    let exe = build(&wasm, t.path(), "pthreads", &[]);
    assert_run(
        &run_exe(&exe, &[]),
        0,
        "counter 400000, thread-local sums 10, main's own 0\n",
    );
}
