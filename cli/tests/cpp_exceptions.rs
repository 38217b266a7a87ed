//! Real C++ exceptions end to end: `tests/exceptions/throw_catch.cpp` and `uncaught.cpp`, compiled
//! by clang-22 with `-fwasm-exceptions` against an EH-enabled libc++abi (the committed `.wasm`
//! fixtures; `tests/exceptions/build.sh` rebuilds them, BUILD.md says why they are committed),
//! in the standard exnref encoding (`X.wasm`: try_table/throw_ref) and the legacy one
//! (`X.legacy.wasm`: try/catch/rethrow/delegate). Built with `wasic build` and run natively:
//! - throw_catch exits 0 printing exactly `throw_catch.stdout` (throws through recursion,
//!   rethrow, handler selection, destructors that throw, std exceptions, exception_ptr, 1000
//!   throws in a loop, every exception object destroyed) and nothing on stderr;
//! - uncaught exits 134 after running the destructors of every frame (`uncaught.stdout`), with
//!   the "uncaught exception" trap message and a wasm backtrace on stderr.
//!
//! When wasmtime is installed at /opt/wasmtime/bin/wasmtime the exnref modules are also run
//! there and the stdout must be byte-identical (wasmtime cannot run the legacy encoding);
//! otherwise a visible NOTE says the comparison was not done.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASMTIME: &str = "/opt/wasmtime/bin/wasmtime";

/// The trap message of an exception that leaves `_start`: the first line on stderr.
const UNCAUGHT_TRAP: &str = "Error: wasm trap: uncaught exception";

fn fixture(name: &str) -> PathBuf {
    let p = tests_dir().join("exceptions").join(name);
    assert!(
        p.is_file(),
        "missing fixture {} (rebuild with bash cli/tests/exceptions/build.sh)",
        p.display()
    );
    p
}

fn expected_stdout(program: &str) -> String {
    std::fs::read_to_string(fixture(&format!("{program}.stdout"))).unwrap()
}

/// `wasic build <wasm> -o <tmp>/<name>`, then runs the executable with no arguments.
fn build_and_run(wasm: &Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let name = wasm
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .replace('.', "_");
    let exe = build(wasm, dir.path(), &name, &[]);
    let out = run_exe(&exe, &[]);
    out.assert_no_panic();
    out
}

/// `wasmtime run <wasm>` (RUST_BACKTRACE unset, so its error messages are its own), or `None`
/// with a visible note when wasmtime is not installed.
fn wasmtime_run(wasm: &Path) -> Option<Output> {
    if !Path::new(WASMTIME).exists() {
        eprintln!(
            "NOTE: {WASMTIME} does not exist: the comparison with wasmtime was NOT done \
             (only the literal expected output was checked)"
        );
        println!("NOTE: wasmtime comparison not done ({WASMTIME} missing)");
        return None;
    }
    Some(run(
        Command::new(WASMTIME)
            .env_remove("RUST_BACKTRACE")
            .arg("run")
            .arg(wasm),
        None,
    ))
}

fn throw_catch_prints_the_native_output(wasm_name: &str) -> Output {
    let ours = build_and_run(&fixture(wasm_name));
    assert_run(&ours, 0, &expected_stdout("throw_catch"));
    ours
}

#[track_caller]
fn assert_uncaught_trap(wasm_name: &str, out: &Output) {
    assert_eq!(
        out.stdout,
        expected_stdout("uncaught"),
        "unexpected stdout (status {}, stderr: {:?})",
        out.status,
        out.stderr
    );
    assert_eq!(
        out.status, 134,
        "an uncaught exception must be a trap (stderr: {:?})",
        out.stderr
    );
    assert_eq!(
        out.stderr.lines().next(),
        Some(UNCAUGHT_TRAP),
        "first line of stderr:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{wasm_name}!descend(int)")),
        "the wasm backtrace names the throwing function:\n{}",
        out.stderr
    );
}

#[test]
fn cpp_exceptions_standard_encoding_print_the_native_output() {
    let ours = throw_catch_prints_the_native_output("throw_catch.wasm");
    let Some(theirs) = wasmtime_run(&fixture("throw_catch.wasm")) else {
        return;
    };
    assert_eq!(theirs.stderr, "", "wasmtime wrote to stderr");
    assert_eq!(theirs.status, 0, "wasmtime exit status");
    assert_eq!(
        ours.stdout, theirs.stdout,
        "stdout differs between wasic and wasmtime"
    );
}

#[test]
fn cpp_exceptions_legacy_encoding_print_the_native_output() {
    throw_catch_prints_the_native_output("throw_catch.legacy.wasm");
}

#[test]
fn uncaught_cpp_exception_standard_encoding_runs_destructors_then_traps() {
    let wasm = fixture("uncaught.wasm");
    let ours = build_and_run(&wasm);
    assert_uncaught_trap("uncaught.wasm", &ours);
    let Some(theirs) = wasmtime_run(&wasm) else {
        return;
    };
    // wasmtime reports an uncaught exception as an error (exit 1), wasic as a trap (134).
    assert_eq!(
        theirs.status, 1,
        "wasmtime must fail too (stderr: {:?})",
        theirs.stderr
    );
    assert_eq!(
        ours.stdout, theirs.stdout,
        "stdout differs between wasic and wasmtime"
    );
}

#[test]
fn uncaught_cpp_exception_legacy_encoding_runs_destructors_then_traps() {
    let ours = build_and_run(&fixture("uncaught.legacy.wasm"));
    assert_uncaught_trap("uncaught.legacy.wasm", &ours);
}
