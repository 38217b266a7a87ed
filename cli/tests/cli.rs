//! The `wasic` command line itself: help and version, and every way a build can be refused
//! (missing, malformed, truncated or invalid modules, reactors, non-WASI imports, bad flags),
//! each with a one-line `error: ...` naming the problem, a non-zero status, no panic and no
//! output file. Also `--static`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn wasic_cmd(args: &[&str]) -> Output {
    run(Command::new(wasic()).args(args), None)
}

#[test]
fn help_and_version_succeed() {
    for args in [
        &["--help"][..],
        &["build", "--help"],
        &["run", "--help"],
        &["--version"],
    ] {
        let out = wasic_cmd(args);
        assert_eq!(out.status, 0, "wasic {args:?}: {out:?}");
        assert!(!out.stdout.is_empty(), "wasic {args:?} printed nothing");
        out.assert_no_panic();
    }
    assert!(wasic_cmd(&["--version"]).stdout.starts_with("wasic "));
    let help = wasic_cmd(&["build", "--help"]).stdout;
    for flag in ["--dir", "--env", "--inherit-env", "--static", "--output"] {
        assert!(help.contains(flag), "build --help mentions {flag}");
    }
}

/// Runs `wasic build <input> -o <dir>/out <extra>` and checks it is refused properly; returns
/// the error line.
#[track_caller]
fn refused(dir: &Path, input: &Path, extra: &[&str], mentions: &[&str]) -> String {
    let exe = dir.join("out");
    let out = run(
        Command::new(wasic())
            .arg("build")
            .arg(input)
            .arg("-o")
            .arg(&exe)
            .args(extra),
        None,
    );
    out.assert_no_panic();
    assert_ne!(out.status, 0, "the build must fail: {out:?}");
    assert!(!exe.exists(), "no output file may be created");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".wasic"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
    let err = out.stderr.trim_end();
    assert!(
        err.starts_with("error: "),
        "stderr starts with `error: `: {err}"
    );
    assert_eq!(err.lines().count(), 1, "the error is one line:\n{err}");
    for m in mentions {
        assert!(err.contains(m), "the error mentions `{m}`: {err}");
    }
    err.to_string()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn missing_input_file_is_refused() {
    let t = tempfile::tempdir().unwrap();
    refused(t.path(), &t.path().join("nope.wasm"), &[], &["nope.wasm"]);
}

#[test]
fn garbage_bytes_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "garbage.wasm",
        b"\x7fELF this is not wasm \x00\x01\x02",
    );
    refused(t.path(), &p, &[], &["garbage.wasm"]);
}

#[test]
fn truncated_wasm_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let full = std::fs::read(compile_c("misc")).unwrap();
    let p = write(t.path(), "truncated.wasm", &full[..full.len() / 2]);
    refused(t.path(), &p, &[], &["truncated.wasm"]);
    let p = write(t.path(), "header-only.wasm", b"\0asm\x01\0\0\0\x01\x05");
    refused(t.path(), &p, &[], &["header-only.wasm"]);
}

#[test]
fn invalid_wasm_is_refused() {
    let t = tempfile::tempdir().unwrap();
    // A function declared `() -> i32` whose body produces an i64.
    let bin: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
        0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
        0x03, 0x02, 0x01, 0x00, // function section
        0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b, // code: i64.const 0
    ];
    let p = write(t.path(), "invalid.wasm", bin);
    refused(t.path(), &p, &[], &["invalid.wasm"]);
    let p = write(
        t.path(),
        "invalid.wat",
        b"(module (func (export \"_start\") (i32.add)))",
    );
    refused(t.path(), &p, &[], &["invalid.wat"]);
}

#[test]
fn a_reactor_without_start_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "reactor.wat",
        b"(module (func (export \"_initialize\")))",
    );
    refused(t.path(), &p, &[], &["reactor", "_initialize"]);
    let p = write(
        t.path(),
        "nothing.wat",
        b"(module (func (export \"main\")))",
    );
    refused(t.path(), &p, &[], &["_start"]);
}

#[test]
fn a_module_importing_env_foo_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "envfoo.wat",
        b"(module (import \"env\" \"foo\" (func)) (func (export \"_start\")))",
    );
    refused(t.path(), &p, &[], &["env", "foo"]);
    // A WASI name with the wrong type is refused too.
    let p = write(
        t.path(),
        "badtype.wat",
        b"(module (import \"wasi_snapshot_preview1\" \"fd_write\" (func (param i32))) (func (export \"_start\")))",
    );
    refused(t.path(), &p, &[], &["fd_write"]);
}

#[test]
fn bad_env_and_dir_flags_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let wasm = compile_c("misc");
    refused(t.path(), &wasm, &["--env", "NOEQUALS"], &["NOEQUALS"]);
    refused(t.path(), &wasm, &["--env", "=value"], &["=value"]);
    refused(
        t.path(),
        &wasm,
        &["--dir", "/nonexistent-wasic-dir"],
        &["/nonexistent-wasic-dir"],
    );
    let file = write(t.path(), "plain-file", b"x");
    refused(
        t.path(),
        &wasm,
        &["--dir", &file.display().to_string()],
        &["plain-file"],
    );
}

#[test]
fn wasic_run_refuses_bad_grants_and_missing_files_without_panicking() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = compile_c("misc");
    for args in [
        vec![
            "run",
            "--dir",
            "/nonexistent-wasic-dir",
            wasm.to_str().unwrap(),
        ],
        vec!["run", "--env", "NOEQUALS", wasm.to_str().unwrap()],
        vec!["run", "/nonexistent/prog.wasm"],
    ] {
        let out = run(
            Command::new(wasic())
                .env("WASIC_CACHE_DIR", cache.path())
                .args(&args),
            None,
        );
        out.assert_no_panic();
        assert_ne!(out.status, 0, "{args:?}");
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn unknown_flags_are_refused_by_the_argument_parser() {
    let t = tempfile::tempdir().unwrap();
    let wasm = compile_c("misc");
    let exe = t.path().join("out");
    let out = run(
        Command::new(wasic())
            .arg("build")
            .arg(&wasm)
            .arg("-o")
            .arg(&exe)
            .arg("--frobnicate"),
        None,
    );
    out.assert_no_panic();
    assert_ne!(out.status, 0);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("--frobnicate"));
    assert!(!exe.exists());
}

#[test]
fn static_build_runs_and_is_statically_linked() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("misc", t.path(), &["--static"]);
    assert_run(&run_exe(&exe, &["exit", "4"]), 4, "exiting with 4\n");
    let ldd = Command::new("ldd").arg(&exe).output();
    let file = Command::new("file").arg(&exe).output();
    let ldd_says = ldd.map(|o| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    });
    let file_says = file.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let is_static = ldd_says
        .as_deref()
        .is_ok_and(|s| s.contains("not a dynamic executable"))
        || file_says
            .as_deref()
            .is_ok_and(|s| s.contains("statically linked"));
    assert!(
        is_static,
        "not static: ldd: {ldd_says:?}, file: {file_says:?}"
    );
    // And the default build is dynamic (so the check above means something).
    let dynamic = build_c("misc", t.path(), &[]);
    let ldd = Command::new("ldd").arg(&dynamic).output().unwrap();
    assert!(
        String::from_utf8_lossy(&ldd.stdout).contains("libc"),
        "the default build links libc dynamically"
    );
}

#[test]
fn building_into_a_special_file_writes_into_it_instead_of_replacing_it() {
    // `-o /dev/null` must never turn /dev/null into a regular file: outputs that are not regular
    // files get the bytes copied in. A FIFO stands in for the device here.
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("m.wat");
    std::fs::write(&wat, r#"(module (func (export "_start")))"#).unwrap();
    let fifo = dir.path().join("out");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasic"))
        .arg("build")
        .arg(&wat)
        .arg("-o")
        .arg(&fifo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = reader.join().unwrap();
    assert!(
        bytes.starts_with(b"\x7fELF"),
        "the executable went through the FIFO"
    );
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
}
