//! The process around a WASI program built by wasic: exit statuses (return, proc_exit, traps
//! with their stderr report and complete stdout), grants given at run time through the
//! reserved `WASIC_DIR*` / `WASIC_ENV*` variables (never visible to the guest, taken in suffix
//! order), argv[0], and `wasic run` (cache hit on the second run, status and args passed
//! through).

mod common;

use common::*;
use std::os::unix::process::CommandExt;
use std::process::Command;

fn misc(dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    build_c("misc", dir, extra)
}

#[test]
fn returning_from_start_exits_0() {
    let t = tempfile::tempdir().unwrap();
    assert_run(
        &run_exe(&misc(t.path(), &[]), &["return"]),
        0,
        "returning from main\n",
    );
}

#[test]
fn proc_exit_sets_the_exit_status() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &[]);
    assert_run(&run_exe(&exe, &["exit", "3"]), 3, "exiting with 3\n");
    assert_run(&run_exe(&exe, &["exit", "255"]), 255, "exiting with 255\n");
    assert_run(&run_exe(&exe, &["exit", "0"]), 0, "exiting with 0\n");
}

#[test]
fn proc_exit_256_keeps_the_low_8_bits_as_the_readme_documents() {
    // README: "the OS keeps the low 8 bits, as for any native program: 256 becomes 0".
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &[]);
    assert_run(&run_exe(&exe, &["exit", "256"]), 0, "exiting with 256\n");
    assert_run(&run_exe(&exe, &["exit", "259"]), 3, "exiting with 259\n");
}

fn check_trap(kind: &str, names: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &[]);
    // Enough output to overflow a pipe buffer several times over.
    let lines = 20000;
    let out = run_exe(&exe, &[kind, &lines.to_string()]);
    assert_eq!(
        out.status, 134,
        "a trap exits with 134; stderr: {}",
        out.stderr
    );
    let expected: String = (0..lines)
        .map(|i| format!("line {i} of output before the trap\n"))
        .collect();
    assert!(
        out.stdout == expected,
        "stdout before the trap is incomplete ({} of {} bytes)",
        out.stdout.len(),
        expected.len()
    );
    assert!(
        out.stderr.starts_with("Error: wasm trap: "),
        "stderr: {}",
        out.stderr
    );
    let first = out.stderr.lines().next().unwrap().to_lowercase();
    assert!(
        names.iter().any(|n| first.contains(n)),
        "the trap message names the trap: {first}"
    );
    assert!(
        out.stderr.lines().count() > 1,
        "a wasm backtrace follows: {}",
        out.stderr
    );
    out.assert_no_panic();
}

#[test]
fn builtin_trap_exits_134_with_a_trap_report_after_complete_stdout() {
    check_trap("trap", &["unreachable"]);
}

#[test]
fn out_of_bounds_load_exits_134_with_a_trap_report_after_complete_stdout() {
    check_trap("oob", &["out of bounds", "memory"]);
}

#[test]
fn run_time_grants_add_directories_and_variables() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &["--env", "BAKED=1"]);
    let out = run(
        command(&exe, &["env"])
            .env("WASIC_ENV", "FOO=bar")
            .env("WASIC_ENV_X", "BAZ=qux=1")
            .env("WASIC_ENV_2", "EMPTY=")
            .env("NOT_GRANTED", "x"),
        None,
    );
    assert_run(
        &out,
        0,
        "environ_sizes_get: OK\nenviron_get: OK\ncount=4\nBAKED=1\nBAZ=qux=1\nEMPTY=\nFOO=bar\n",
    );

    // Directories: the fs program finds /sandbox through a WASIC_DIR_<x> grant.
    let fs = build_c("fs", t.path(), &[]);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let out = run(
        command(&fs, &["io"])
            .env("WASIC_DIR_A", format!("{}::/other", b.path().display()))
            .env(
                "WASIC_DIR_sandbox",
                format!("{}::/sandbox", a.path().display()),
            ),
        None,
    );
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(a.path().join("io.txt")).unwrap(),
        "hello WORLD\n"
    );
    assert!(!b.path().join("io.txt").exists());
}

#[test]
fn wasic_variables_are_invisible_to_the_guest_even_with_inherit_env() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &["--inherit-env", "--env", "BAKED=yes"]);
    let d = tempfile::tempdir().unwrap();
    let mut cmd = command(&exe, &["env"]);
    cmd.env_clear()
        .env("HOST_VAR", "host value")
        .env("WASIC_ENV", "GRANTED=1")
        .env("WASIC_DIR", format!("{}::/d", d.path().display()))
        .env("WASIC_CACHE_DIR", "/nowhere")
        .env("WASIC_ANYTHING", "secret")
        .env("WASIC_", "x");
    let out = run(&mut cmd, None);
    assert_run(
        &out,
        0,
        "environ_sizes_get: OK\nenviron_get: OK\ncount=3\nBAKED=yes\nGRANTED=1\nHOST_VAR=host value\n",
    );
}

#[test]
fn argv_is_passed_untouched_including_argv0() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path(), &[]);
    let out = run(
        command(&exe, &["args", "--env", "A=B", "-o", ""]).arg0("/weird/argv0 name"),
        None,
    );
    assert_run(
        &out,
        0,
        "args_sizes_get: OK\nargs_get: OK\nargc=6 size=37\nargv[0]=[/weird/argv0 name]\nargv[1]=[args]\n\
         argv[2]=[--env]\nargv[3]=[A=B]\nargv[4]=[-o]\nargv[5]=[]\n",
    );
}

fn cache_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
    let mut v: Vec<_> = walk(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, m)
        })
        .collect();
    v.sort();
    v
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn wasic_run_builds_once_then_reuses_the_cached_executable() {
    let wasm = compile_c("misc");
    let cache = tempfile::tempdir().unwrap();
    let wasic_run = |args: &[&str]| {
        let mut cmd = Command::new(wasic());
        cmd.env("WASIC_CACHE_DIR", cache.path())
            .arg("run")
            .arg(&wasm)
            .args(args);
        run(&mut cmd, None)
    };
    let first = wasic_run(&["exit", "5"]);
    assert_run(&first, 5, "exiting with 5\n");
    let files = cache_files(cache.path());
    assert_eq!(files.len(), 1, "one executable in the cache: {files:?}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = wasic_run(&["exit", "6"]);
    assert_run(&second, 6, "exiting with 6\n");
    assert_eq!(
        cache_files(cache.path()),
        files,
        "the cached executable was reused, not rebuilt"
    );
    // Arguments, including flag-like ones, pass through; argv[0] is the module's file name
    // without its directories, as wasmtime gives it.
    let out = wasic_run(&["args", "--dir", "x", "-v"]);
    let name = wasm.file_name().unwrap().to_str().unwrap();
    assert_run(
        &out,
        0,
        &format!(
            "args_sizes_get: OK\nargs_get: OK\nargc=5 size={}\nargv[0]=[{name}]\nargv[1]=[args]\nargv[2]=[--dir]\n\
             argv[3]=[x]\nargv[4]=[-v]\n",
            name.len() + 1 + 5 + 6 + 2 + 3,
        ),
    );
    assert_eq!(cache_files(cache.path()), files);
}

#[test]
fn wasic_run_does_not_reuse_executables_cached_by_another_wasic_build() {
    let wasm = compile_c("misc");
    let cache = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    // A copy of the binary stands for a rebuilt wasic with the same version number.
    let other = bin.path().join("wasic");
    std::fs::copy(wasic(), &other).unwrap();
    for (exe, expected_files) in [(wasic(), 1), (other.clone(), 2), (other, 2)] {
        let out = run(
            Command::new(exe)
                .env("WASIC_CACHE_DIR", cache.path())
                .arg("run")
                .arg(&wasm)
                .args(["exit", "3"]),
            None,
        );
        assert_run(&out, 3, "exiting with 3\n");
        assert_eq!(cache_files(cache.path()).len(), expected_files);
    }
}

#[test]
fn wasic_run_passes_grants_and_a_trap_status_through() {
    let wasm = compile_c("misc");
    let cache = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(wasic())
            .env("WASIC_CACHE_DIR", cache.path())
            .args(["run", "--env", "RUN_VAR=1"])
            .arg(&wasm)
            .arg("env"),
        None,
    );
    assert_run(
        &out,
        0,
        "environ_sizes_get: OK\nenviron_get: OK\ncount=1\nRUN_VAR=1\n",
    );
    let out = run(
        Command::new(wasic())
            .env("WASIC_CACHE_DIR", cache.path())
            .arg("run")
            .arg(&wasm)
            .args(["trap", "1"]),
        None,
    );
    assert_eq!(out.status, 134, "{out:?}");
    assert_eq!(out.stdout, "line 0 of output before the trap\n");
    assert!(
        out.stderr.starts_with("Error: wasm trap: "),
        "{}",
        out.stderr
    );
}

#[test]
fn wasic_run_preopens_its_directories_in_flag_order_even_beyond_ten() {
    // `wasic run` passes them as WASIC_DIR_0..WASIC_DIR_11: `_10` must come after `_9`, not
    // after `_1`, or the guest's descriptor numbers would not follow the command line.
    let wasm = compile_c("grants");
    let cache = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(wasic());
    cmd.env("WASIC_CACHE_DIR", cache.path()).arg("run");
    for i in 0..12 {
        cmd.arg("--dir")
            .arg(format!("{}::/d{i}", d.path().display()));
    }
    let out = run(cmd.arg(&wasm).arg("fds"), None);
    let expected: String = (0..12)
        .map(|i| format!("fd {}: dir /d{i}\n", i + 3))
        .collect();
    assert_run(&out, 0, &expected);
}
