//! The `wasic` command line itself: help and version, and every way a build can be refused
//! (missing, malformed, truncated or invalid modules, reactors, non-WASI imports, bad flags),
//! each with a one-line `error: ...` naming the problem, a non-zero status, no panic and no
//! output file; a reactor refused before anything is compiled. Also how executables are linked:
//! PIE with full RELRO, `--static` as a static PIE.

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
    for flag in [
        "--dir",
        "--env",
        "--inherit-env",
        "--static",
        "--output",
        "--tcplisten",
        "--max-table-elements",
        ":ro",
    ] {
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

/// `readelf ARGS FILE` (binutils, which linking needs anyway).
fn readelf(args: &[&str], file: &Path) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("MISSING TOOL: cannot run `readelf` ({e}): install binutils"));
    assert!(out.status.success(), "readelf {args:?} {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks full RELRO: a GNU_RELRO segment, and every relocation resolved at start-up.
#[track_caller]
fn assert_full_relro(file: &Path) {
    let segments = readelf(&["-lW"], file);
    assert!(
        segments.contains("GNU_RELRO"),
        "no GNU_RELRO segment:\n{segments}"
    );
    let dynamic = readelf(&["-dW"], file);
    let bind_now = dynamic.lines().any(|l| {
        (l.contains("(FLAGS)") && l.contains("BIND_NOW"))
            || (l.contains("(FLAGS_1)") && l.split_whitespace().any(|w| w == "NOW"))
    });
    assert!(bind_now, "neither BIND_NOW nor FLAGS_1 NOW:\n{dynamic}");
}

#[test]
fn executables_are_position_independent_with_full_relro() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("misc", t.path(), &[]);
    assert_full_relro(&exe);
    assert!(readelf(&["-hW"], &exe).contains("DYN (Position-Independent Executable"));
    let segments = readelf(&["-lW"], &exe);
    assert!(segments.contains("INTERP"), "the default build is dynamic");
    assert!(readelf(&["-dW"], &exe).contains("(NEEDED)"));
}

#[test]
fn static_build_runs_and_is_a_static_pie_with_full_relro() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("misc", t.path(), &["--static"]);
    assert_run(&run_exe(&exe, &["exit", "4"]), 4, "exiting with 4\n");
    // A static PIE: relocatable (type DYN, so ASLR moves it), no program interpreter, no
    // shared libraries.
    let header = readelf(&["-hW"], &exe);
    assert!(
        header.contains("Type:") && header.contains("DYN"),
        "{header}"
    );
    let segments = readelf(&["-lW"], &exe);
    assert!(
        !segments.contains("INTERP"),
        "a static PIE has no interpreter:\n{segments}"
    );
    let dynamic = readelf(&["-dW"], &exe);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "a static PIE needs no library:\n{dynamic}"
    );
    assert_full_relro(&exe);
}

#[test]
fn shared_libraries_are_linked_with_full_relro() {
    let t = tempfile::tempdir().unwrap();
    let wat = write(t.path(), "lib.wat", b"(module (func (export \"f\")))");
    let lib = t.path().join("libf.so");
    let out = wasic_cmd(&[
        "build",
        "--lib",
        wat.to_str().unwrap(),
        "-o",
        lib.to_str().unwrap(),
    ]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_full_relro(&lib);
}

#[test]
fn an_absurd_timeout_is_a_one_line_error_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let wat = write(t.path(), "m.wat", b"(module (func (export \"_start\")))");
    let wat = wat.to_str().unwrap();
    let out_path = t.path().join("out");
    let out_path = out_path.to_str().unwrap();
    // Beyond what a Duration holds; beyond u64 milliseconds; far beyond both.
    for timeout in [
        "100000000000000000000s",
        "18446744073709552s",
        "99999999999999999999999999999999h",
    ] {
        for args in [
            vec!["run", "--timeout", timeout, wat],
            vec!["build", wat, "-o", out_path, "--timeout", timeout],
        ] {
            let out = wasic_cmd(&args);
            out.assert_no_panic();
            assert_ne!(out.status, 0, "{args:?}");
            let err = out.stderr.trim_end();
            assert!(!err.contains("backtrace"), "{err}");
            assert!(
                err.starts_with("error: ") && err.contains("--timeout"),
                "{err}"
            );
            assert!(err.contains(timeout) && err.contains("too long"), "{err}");
            assert_eq!(
                err.lines().count(),
                1,
                "{args:?}: the error is one line:\n{err}"
            );
        }
    }
    assert!(!Path::new(out_path).exists());
}

#[test]
fn a_reactor_is_refused_before_anything_is_compiled() {
    let t = tempfile::tempdir().unwrap();
    // A reactor whose one function body is invalid: compiling would fail on the body, so an
    // error about the missing `_start` shows the compiler never saw the module.
    let p = write(
        t.path(),
        "big-reactor.wat",
        b"(module (func (export \"_initialize\")) (func (export \"process\") (i32.add)))",
    );
    let err = refused(t.path(), &p, &[], &["reactor", "--lib", "--invoke"]);
    assert!(!err.contains("type mismatch"), "{err}");
    // `wasic run` refuses it the same way, and caches nothing.
    let cache = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(wasic())
            .env("WASIC_CACHE_DIR", cache.path())
            .arg("run")
            .arg(&p),
        None,
    );
    assert_ne!(out.status, 0);
    let err = out.stderr.trim_end();
    assert!(
        err.contains("reactor") && err.contains("--invoke") && !err.contains("type mismatch"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    // A large real reactor, compiled by clang, is refused the same way.
    let lib = tests_dir().join("library/entry.c");
    let wasm = t.path().join("entry.wasm");
    let r = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-mexec-model=reactor"])
        .arg(&lib)
        .arg("-o")
        .arg(&wasm)
        .output()
        .expect("MISSING TOOL: clang (bash scripts/install-deps.sh)");
    assert!(r.status.success());
    refused(t.path(), &wasm, &[], &["reactor", "_initialize", "--lib"]);
}

#[test]
fn library_builds_refuse_grants_and_limits_they_cannot_apply() {
    let t = tempfile::tempdir().unwrap();
    let wat = write(t.path(), "lib.wat", b"(module (func (export \"f\")))");
    for extra in [
        &["--tcplisten", "127.0.0.1:0"][..],
        &["--max-memory", "1M"],
        &["--max-table-elements", "10"],
        &["--timeout", "1s"],
    ] {
        let mut args = vec!["--lib"];
        args.extend_from_slice(extra);
        let out = Command::new(wasic())
            .arg("build")
            .arg(&wat)
            .arg("-o")
            .arg(t.path().join("libx.a"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(err.contains(extra[0]) && err.contains("--lib"), "{err}");
        assert!(!t.path().join("libx.a").exists());
    }
}

#[test]
fn max_table_elements_takes_a_count() {
    let t = tempfile::tempdir().unwrap();
    let wasm = compile_c("misc");
    refused(
        t.path(),
        &wasm,
        &["--max-table-elements", "ten"],
        &["--max-table-elements", "ten"],
    );
    let exe = build_c("misc", t.path(), &["--max-table-elements", "1000"]);
    assert_run(&run_exe(&exe, &["exit", "2"]), 2, "exiting with 2\n");
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
