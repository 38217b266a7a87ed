//! Who grants what: read-only directory grants (`--dir HOST::GUEST:ro`, `WASIC_DIR=...:ro`)
//! refuse every change beneath them and allow reads; `wasic run` grants exactly its flags,
//! whatever `WASIC_*` variables its own environment holds; an executable in secure-execution
//! mode (setuid: `AT_SECURE`) ignores `WASIC_*` and keeps its baked-in grants.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// A host tree for the read-only tests: `file.txt` ("hello") and an empty `sub/`.
fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("file.txt"), "hello").unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    d
}

/// The changes `grants try-writes` attempts (its labels, in order).
const CHANGES: &[&str] = &[
    "write through a read-only descriptor",
    "ftruncate",
    "futimens",
    "create",
    "open for writing, write",
    "open for appending, write",
    "open read-write, write",
    "open with O_TRUNC",
    "truncate",
    "utimensat",
    "mkdir",
    "unlink",
    "rmdir",
    "rename",
    "link",
    "symlink",
    "create in sub",
    "create via sub's descriptor",
    "mkdir via sub's descriptor",
];

/// Checks a `grants try-writes /ro` run beneath a read-only grant of `host`: reads worked,
/// every change failed, and the host tree is as it was.
#[track_caller]
fn assert_read_only(out: &Output, host: &Path, before: &[(String, String)]) {
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["read file.txt: hello", "list: 2 entries", "stat: OK"],
        "reads work: {}",
        out.stdout
    );
    assert_eq!(lines.len(), 3 + CHANGES.len(), "{}", out.stdout);
    for (line, change) in lines[3..].iter().zip(CHANGES) {
        let (label, result) = line.split_once(": ").unwrap();
        assert_eq!(label, *change);
        assert_ne!(
            result, "OK",
            "`{change}` succeeded beneath a read-only grant"
        );
    }
    assert_eq!(snapshot(host), before, "the host tree changed");
}

#[test]
fn read_only_dir_grants_refuse_every_change_and_allow_reads() {
    let t = tempfile::tempdir().unwrap();
    let host = tree();
    let before = snapshot(host.path());
    let grant = format!("{}::/ro:ro", host.path().display());
    // Baked in at build time.
    let exe = build_c("grants", t.path(), &["--dir", &grant]);
    assert_read_only(&run_exe(&exe, &["try-writes", "/ro"]), host.path(), &before);
    // Granted at run time.
    let plain = build_c("grants", t.path(), &[]);
    let out = run(
        command(&plain, &["try-writes", "/ro"]).env("WASIC_DIR_0", &grant),
        None,
    );
    assert_read_only(&out, host.path(), &before);
    // Through `wasic run`.
    let cache = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(wasic())
            .env("WASIC_CACHE_DIR", cache.path())
            .args(["run", "--dir", &grant])
            .arg(compile_c("grants"))
            .args(["try-writes", "/ro"]),
        None,
    );
    assert_read_only(&out, host.path(), &before);
}

#[test]
fn the_same_program_changes_a_read_write_grant() {
    // The counterpart of the read-only test: without `:ro` the very same calls succeed, so the
    // failures above come from the grant.
    let t = tempfile::tempdir().unwrap();
    let host = tree();
    let exe = build_c(
        "grants",
        t.path(),
        &["--dir", &format!("{}::/rw", host.path().display())],
    );
    let out = run_exe(&exe, &["try-writes", "/rw"]);
    assert_eq!(out.status, 0, "{out:?}");
    for change in ["create", "open for writing, write", "mkdir", "symlink"] {
        assert!(
            out.stdout.contains(&format!("\n{change}: OK\n")),
            "{change}: {}",
            out.stdout
        );
    }
    assert!(host.path().join("new.txt").exists());
}

#[test]
fn read_only_grant_syntax_errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    let wasm = compile_c("grants");
    for (flag, says) in [
        ("::/g:ro", "empty host path"),
        ("/tmp:::ro", "empty guest path"),
    ] {
        let out = run(
            Command::new(wasic())
                .arg("build")
                .arg(&wasm)
                .arg("-o")
                .arg(t.path().join("out"))
                .args(["--dir", flag]),
            None,
        );
        assert_ne!(out.status, 0);
        let err = out.stderr.trim_end();
        assert!(
            err.starts_with("error: --dir ") && err.contains(says),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Every `WASIC_*` grant variable, each granting something.
fn hostile(cmd: &mut Command) -> &mut Command {
    cmd.env("WASIC_DIR", "/")
        .env("WASIC_DIR_0", "/tmp")
        .env("WASIC_ENV", "EVIL=1")
        .env("WASIC_ENV_7", "EVIL7=1")
        .env("WASIC_TCPLISTEN", "127.0.0.1:0")
}

#[test]
fn wasic_run_grants_exactly_its_flags_whatever_wasic_variables_it_inherits() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = compile_c("grants");
    let d = tempfile::tempdir().unwrap();
    let wasic_run = |flags: &[&str], args: &[&str]| {
        let mut cmd = Command::new(wasic());
        hostile(&mut cmd)
            .env("WASIC_CACHE_DIR", cache.path())
            .arg("run")
            .args(flags)
            .arg(&wasm)
            .args(args);
        run(&mut cmd, None)
    };
    assert_run(&wasic_run(&[], &["fds"]), 0, "");
    assert_run(&wasic_run(&[], &["env"]), 0, "");
    let dir = format!("{}::/d", d.path().display());
    let flags = ["--dir", &dir, "--env", "MINE=1"];
    assert_run(&wasic_run(&flags, &["fds"]), 0, "fd 3: dir /d\n");
    assert_run(&wasic_run(&flags, &["env"]), 0, "env MINE=1\n");
}

#[test]
fn secure_execution_mode_ignores_wasic_variables_and_keeps_baked_grants() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return skip("making a setuid-root copy needs root");
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip("setpriv (util-linux) is not installed");
    }
    let t = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = std::ffi::CString::new(t.path().to_str().unwrap()).unwrap();
    // SAFETY: zeroed statvfs is valid; statvfs fills it.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut vfs) }, 0);
    if vfs.f_flag & libc::ST_NOSUID != 0 {
        return skip("the temporary directory is on a nosuid file system");
    }
    let exe = build_c("grants", t.path(), &["--env", "BAKED=1"]);
    let setuid = t.path().join("grants-setuid");
    std::fs::copy(&exe, &setuid).unwrap();
    std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Run as `nobody`: a setuid-root program started by another user gets AT_SECURE.
    let as_nobody = |exe: &Path, what: &str| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(exe)
            .arg(what)
            .env_clear()
            .env("WASIC_DIR", "/")
            .env("WASIC_ENV", "EVIL=1");
        run(&mut cmd, None)
    };
    // The plain copy, run the same way, honours the variables: the test can tell.
    assert_run(&as_nobody(&exe, "fds"), 0, "fd 3: dir /\n");
    assert_run(&as_nobody(&exe, "env"), 0, "env BAKED=1\nenv EVIL=1\n");
    assert_run(&as_nobody(&setuid, "fds"), 0, "");
    assert_run(&as_nobody(&setuid, "env"), 0, "env BAKED=1\n");
}
