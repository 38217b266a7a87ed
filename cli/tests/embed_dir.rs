//! `wasic build --embed-dir HOST::GUEST`: a C program (`tests/wasi/tree_walk.c`) reading a
//! tree (nested directories, an empty file and directory, a 10 MB file, symlinks to a file, to
//! a directory and out of the tree) stored in the executable prints what it prints with
//! `--dir`, after the tree was moved away; every change is refused as beneath a read-only
//! `--dir`; a run-time `WASIC_DIR` for the same guest path replaces the embedded tree; bad
//! flags are one-line errors that leave no output behind. (Libraries: `library.rs`.)

mod common;

use common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// The tree under `root/tree`.
fn make_tree(root: &Path) -> PathBuf {
    let t = root.join("tree");
    std::fs::create_dir_all(t.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(t.join("emptydir")).unwrap();
    std::fs::write(t.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(t.join("empty"), "").unwrap();
    let big: Vec<u8> = (0..10u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(t.join("sub/big.bin"), big).unwrap();
    std::fs::write(t.join("sub/deeper/d.txt"), "deep\n").unwrap();
    symlink("hello.txt", t.join("link")).unwrap();
    symlink("sub", t.join("sublink")).unwrap();
    symlink("../../escape", t.join("sub/out")).unwrap();
    t
}

#[test]
fn an_embedded_tree_reads_as_the_same_tree_granted_with_dir_after_the_tree_is_gone() {
    let wasm = compile_c("tree_walk");
    let t = tempfile::tempdir().unwrap();
    let tree = make_tree(t.path());
    let grant = format!("{}::/data", tree.display());
    let with_dir = build(&wasm, t.path(), "with_dir", &["--dir", &grant]);
    let embedded = build(&wasm, t.path(), "embedded", &["--embed-dir", &grant]);
    let want = run_exe(&with_dir, &["walk", "/data"]);
    assert_eq!(want.status, 0, "{}", want.stderr);
    assert!(
        want.stdout
            .contains("big.bin: 10485760 bytes, read 10485760")
            && want.stdout.contains("sublink -> sub (a directory)")
            && want.stdout.contains("empty: 0 bytes"),
        "{}",
        want.stdout
    );
    // The executable alone: the tree moved away, run from another directory.
    std::fs::rename(&tree, t.path().join("moved")).unwrap();
    let out = run(
        command(&embedded, &["walk", "/data"]).current_dir("/"),
        None,
    );
    assert_run(&out, 0, &want.stdout);
}

#[test]
fn every_change_beneath_an_embedded_tree_is_refused_as_beneath_a_read_only_dir() {
    let wasm = compile_c("tree_walk");
    let t = tempfile::tempdir().unwrap();
    let tree = make_tree(t.path());
    let grant = format!("{}::/data", tree.display());
    let read_only = build(&wasm, t.path(), "ro", &["--dir", &format!("{grant}:ro")]);
    let embedded = build(&wasm, t.path(), "embedded", &["--embed-dir", &grant]);
    let want = run_exe(&read_only, &["write", "/data"]);
    assert_eq!(want.status, 0, "{}", want.stderr);
    let out = run_exe(&embedded, &["write", "/data"]);
    assert_run(&out, 0, &want.stdout);
    for line in [
        "create: Operation not permitted",
        "write to a read-only descriptor: Bad file descriptor",
        "rename: Operation not permitted",
        "opendir ..: Operation not permitted",
    ] {
        assert!(out.stdout.contains(line), "{line}:\n{}", out.stdout);
    }
    assert!(!tree.join("new").exists());
}

#[test]
fn a_run_time_wasic_dir_for_the_same_guest_path_replaces_the_embedded_tree() {
    let wasm = compile_c("tree_walk");
    let t = tempfile::tempdir().unwrap();
    let tree = make_tree(t.path());
    let other = t.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("only-here"), "x").unwrap();
    let exe = build(
        &wasm,
        t.path(),
        "embedded",
        &["--embed-dir", &format!("{}::/data", tree.display())],
    );
    let out = run(
        command(&exe, &["walk", "/data"]).env("WASIC_DIR", format!("{}::/data", other.display())),
        None,
    );
    assert_run(
        &out,
        0,
        "only-here: 1 bytes, read 1, sum 78, last byte 120 (1), end 1\n",
    );
}

#[test]
fn bad_embed_dir_flags_are_one_line_errors_that_write_no_output() {
    let wasm = compile_c("tree_walk");
    let t = tempfile::tempdir().unwrap();
    let tree = make_tree(t.path());
    let fifo_tree = t.path().join("withfifo");
    std::fs::create_dir(&fifo_tree).unwrap();
    let fifo = std::ffi::CString::new(fifo_tree.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let grant = format!("{}::/data", tree.display());
    let missing = format!("{}::/data", t.path().join("nope").display());
    let fifo_grant = format!("{}::/f", fifo_tree.display());
    let cases: [(&[&str], &str); 4] = [
        (&["--embed-dir", &missing], "is not a directory"),
        (
            &["--embed-dir", &grant, "--embed-dir", &grant],
            "`/data` is embedded twice",
        ),
        (
            &["--embed-dir", &grant, "--dir", &grant],
            "`/data` is also granted with --dir",
        ),
        (
            &["--embed-dir", &fifo_grant],
            "pipe: not a regular file, directory or symlink",
        ),
    ];
    for (flags, msg) in cases {
        let exe = t.path().join("out");
        let out = run(
            std::process::Command::new(wasic())
                .arg("build")
                .arg(&wasm)
                .arg("-o")
                .arg(&exe)
                .args(flags),
            None,
        );
        assert_ne!(out.status, 0, "{flags:?}");
        assert!(out.stderr.contains(msg), "{flags:?}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(!exe.exists(), "{flags:?}");
        out.assert_no_panic();
    }
    // `wasic run` grants directories with --dir; it has no --embed-dir.
    let out = run(
        std::process::Command::new(wasic())
            .args(["run", "--embed-dir", &grant])
            .arg(&wasm),
        None,
    );
    assert_ne!(out.status, 0);
    assert!(out.stderr.contains("--embed-dir"), "{}", out.stderr);
}
