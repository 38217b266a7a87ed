//! Sandbox escape attempts from a real wasm program (`tests/wasi/escape.c`): `..` at several
//! depths, absolute paths, host-made symlinks to `/etc`, to `..`, relative chains, dangling
//! links pointing out, hard links and renames across the boundary, readlink/stat through
//! escaping links, `..` from a subdirectory descriptor, embedded NUL bytes. Every attempt must
//! be denied (with wasmtime's EPERM), and nothing outside the grant may change.

mod common;

use common::*;
use std::os::unix::fs::symlink;

/// `root/{outside/secret.txt, outside_dir/, grant/...}` with the escape links in `grant`.
fn layout() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("outside")).unwrap();
    std::fs::create_dir_all(r.join("outside_dir")).unwrap();
    std::fs::create_dir_all(r.join("grant/sub/deeper")).unwrap();
    std::fs::write(r.join("outside/secret.txt"), "top secret\n").unwrap();
    let g = r.join("grant");
    std::fs::write(g.join("file.txt"), "inside\n").unwrap();
    symlink("/etc", g.join("link_etc")).unwrap();
    symlink("..", g.join("link_up")).unwrap();
    symlink("chain2", g.join("chain1")).unwrap();
    symlink("sub/../../outside", g.join("chain2")).unwrap();
    symlink("../outside_dir/created.txt", g.join("dangling")).unwrap();
    symlink(r.join("outside/secret.txt"), g.join("abs_secret")).unwrap();
    symlink("../..", g.join("sub/up2")).unwrap();
    root
}

const EXPECTED: &str = "\
dotdot depth 1: EPERM
dotdot depth 2: EPERM
dotdot depth 3: EPERM
dotdot depth 9: EPERM
dotdot preopen itself: EPERM
absolute /etc/passwd: EPERM
libc open(/etc/passwd): ENOTCAPABLE
symlink to /etc, then passwd: EPERM
absolute symlink to a file outside: EPERM
relative symlink chain escaping: EPERM
symlink to ..: EPERM
symlink to .. as a directory: EPERM
symlink ../.. in a subdirectory: EPERM
create through dangling symlink: EPERM
libc fopen(dangling, w): EPERM
path_link to outside: EPERM
path_link from outside: EPERM
path_link following absolute symlink: EPERM
path_link through symlink to ..: EPERM
path_rename to outside: EPERM
path_rename through symlink to ..: EPERM
path_rename from outside: EPERM
readlink(link_etc) (the link itself is inside): OK /etc
readlink through symlink to ..: EPERM
stat following link_etc: EPERM
stat link_etc/passwd: EPERM
stat through symlink to ..: EPERM
stat ../outside: EPERM
lstat(link_etc) (the link itself): OK filetype=7
subdir fd: ..: EPERM
subdir fd: ../file.txt: EPERM
subdir fd: deeper/../..: EPERM
subdir fd: deeper/.. (stays inside, allowed): OK
path with embedded NUL: EINVAL
mkdir with embedded NUL: EINVAL
mkdir outside: EPERM
symlink placed outside: EPERM
unlink outside: EPERM
unlink through symlink to ..: EPERM
rmdir outside: EPERM
set times outside: EPERM
set times following absolute symlink: EPERM
guest creates symlink pointing outside: EPERM
open through guest-made symlink: ENOENT
guest creates absolute symlink: EPERM
open through guest-made absolute symlink: ENOENT
truncate through guest-made symlink: ENOENT
done
";

fn check_escapes(grant_flag: Option<&str>) {
    let t = tempfile::tempdir().unwrap();
    let root = layout();
    let r = root.path();
    let grant = format!("{}::/sandbox", r.join("grant").display());
    let exe = match grant_flag {
        Some(_) => build_c("escape", t.path(), &["--dir", &grant]),
        None => build_c("escape", t.path(), &[]),
    };
    let outside_before = (
        snapshot(&r.join("outside")),
        snapshot(&r.join("outside_dir")),
    );
    let inside_before: Vec<_> = snapshot(&r.join("grant"));
    let mut cmd = command(&exe, &[]);
    if grant_flag.is_none() {
        cmd.env("WASIC_DIR", &grant);
    }
    let out = run(&mut cmd, None);

    // Security first, with a message that says so.
    let escaped: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("ESCAPED"))
        .collect();
    assert!(
        escaped.is_empty(),
        "SANDBOX ESCAPE:\n{}",
        escaped.join("\n")
    );
    assert_eq!(
        (
            snapshot(&r.join("outside")),
            snapshot(&r.join("outside_dir"))
        ),
        outside_before,
        "something outside the grant changed"
    );
    assert_eq!(
        std::fs::read_to_string(r.join("outside/secret.txt")).unwrap(),
        "top secret\n"
    );
    assert!(!r.join("outside_dir/created.txt").exists());
    // Inside, nothing is new (the guest may not make links pointing out), or only its links.
    let mut inside_after = snapshot(&r.join("grant"));
    inside_after.retain(|(p, _)| p != "guest_link" && p != "guest_abs_link");
    assert_eq!(
        inside_after, inside_before,
        "the grant changed beyond the guest's own links"
    );
    // Then the exact outcome of every attempt (errnos as wasmtime reports them).
    assert_run(&out, 0, EXPECTED);
}

#[test]
fn escape_attempts_are_all_denied_with_a_runtime_grant() {
    check_escapes(None);
}

#[test]
fn escape_attempts_are_all_denied_with_a_build_time_grant() {
    check_escapes(Some("--dir"));
}

#[test]
fn a_program_without_grants_sees_no_preopens_and_cannot_open_anything() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("escape", t.path(), &[]);
    let out = run_exe(&exe, &[]);
    assert_eq!(
        out.status, 99,
        "the program must fail to find /sandbox: {out:?}"
    );
    assert!(out.stdout.starts_with("FAILED: fd >= 0"), "{}", out.stdout);
}
