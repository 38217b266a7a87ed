//! End-to-end tests of `wasic run`'s compile cache: a second `wasic run --invoke` of a module
//! loads it from the cache and compiles nothing (seen in `WASIC_LOG=cache`'s account of each
//! run, and in the entry left untouched); other modules, optimizations or CPU levels are
//! compiled anew; a corrupt or foreign entry is rebuilt, never run; an unusable or disabled
//! cache still runs; concurrent runs all succeed. Every test uses its own cache directory.

mod common;

use common::{run, Output};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A module whose `answer` returns `n` (and whose bytes differ with `n`).
fn module(dir: &Path, n: i32) -> PathBuf {
    let p = dir.join(format!("m{n}.wat"));
    std::fs::write(
        &p,
        format!(
            r#"(module
                (func $f (param i32) (result i32)
                    (i32.add (local.get 0) (i32.const {n})))
                (func (export "answer") (result i32) (call $f (i32.const 0)))
                (func (export "twice") (param i32) (result i32)
                    (i32.mul (local.get 0) (i32.const 2))))"#
        ),
    )
    .unwrap();
    p
}

/// `wasic` with `cache` as its cache directory and the cache's log on.
fn wasic(cache: &Path) -> Command {
    let mut c = Command::new(common::wasic());
    c.env("WASIC_CACHE_DIR", cache)
        .env("WASIC_LOG", "cache")
        .env_remove("WASIC_CACHE");
    c
}

fn invoke(cache: &Path, flags: &[&str], module: &Path) -> Output {
    let out = run(
        wasic(cache)
            .arg("run")
            .args(flags)
            .args(["--invoke", "answer"])
            .arg(module),
        None,
    );
    out.assert_no_panic();
    assert_eq!(out.status, 0, "{out:?}");
    out
}

/// Whether the run compiled (true) or loaded from the cache (false), as the log says; each
/// run says exactly one of the two.
fn compiled(out: &Output) -> bool {
    let c = out.stderr.contains(": compiled");
    let hit = out.stderr.contains(": cache hit: ");
    assert!(c != hit, "one of compiled and cache hit: {}", out.stderr);
    c
}

/// The cache's object entries.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_second_invoke_of_the_same_module_loads_it_from_the_cache_and_compiles_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (cache, m) = (t.path().join("cache"), module(t.path(), 42));
    let first = invoke(&cache, &[], &m);
    assert_eq!(first.stdout, "42\n");
    assert!(compiled(&first), "{}", first.stderr);
    let [entry] = &entries(&cache)[..] else {
        panic!("one entry: {:?}", entries(&cache))
    };
    let before = std::fs::metadata(entry).unwrap();
    let second = invoke(&cache, &[], &m);
    assert_eq!(second.stdout, "42\n");
    assert!(!compiled(&second), "{}", second.stderr);
    assert!(second.stderr.contains(&entry.display().to_string()));
    // Nothing was written: the same file, unmodified, and nothing beside it.
    let after = std::fs::metadata(entry).unwrap();
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec())
    );
    assert_eq!(entries(&cache), std::slice::from_ref(entry));
    // Another export of the same module, other arguments: the same compiled module.
    let other = run(
        wasic(&cache)
            .args(["run", "--invoke", "twice"])
            .arg(&m)
            .arg("21"),
        None,
    );
    assert_eq!(
        (other.status, other.stdout.as_str()),
        (0, "42\n"),
        "{other:?}"
    );
    assert!(!compiled(&other), "{}", other.stderr);
}

#[test]
fn another_module_optimization_setting_or_target_cpu_compiles_again() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let (m, m2) = (module(t.path(), 1), module(t.path(), 2));
    assert!(compiled(&invoke(&cache, &[], &m)));
    let variants: [(&[&str], &Path, &str); 4] = [
        (&[], &m2, "2\n"),
        (&["-O", "inline=off"], &m, "1\n"),
        (&["--target-cpu", "x86-64-v2"], &m, "1\n"),
        (
            &["--target-cpu", "x86-64-v2", "-O", "inline=off"],
            &m,
            "1\n",
        ),
    ];
    for (flags, module, answer) in variants {
        let out = invoke(&cache, flags, module);
        assert_eq!(out.stdout, answer, "{flags:?}");
        assert!(compiled(&out), "{flags:?} {module:?} hit: {}", out.stderr);
    }
    assert_eq!(entries(&cache).len(), 5);
    // Each is now cached in its own entry.
    for (flags, module, answer) in variants {
        let out = invoke(&cache, flags, module);
        assert_eq!(out.stdout, answer, "{flags:?}");
        assert!(!compiled(&out), "{flags:?} {module:?}: {}", out.stderr);
    }
}

#[test]
fn a_corrupt_or_foreign_cache_entry_is_rebuilt_and_never_run() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let (m1, m2) = (module(t.path(), 1), module(t.path(), 2));
    invoke(&cache, &[], &m1);
    let [e1] = &entries(&cache)[..] else { panic!() };
    let e1 = e1.clone();
    invoke(&cache, &[], &m2);
    let e2 = entries(&cache).into_iter().find(|e| *e != e1).unwrap();
    let whole = std::fs::read(&e1).unwrap();
    let mut flipped = whole.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let corruptions: [(&str, Vec<u8>, &str); 4] = [
        (
            "truncated",
            whole[..whole.len() / 2].to_vec(),
            "header says",
        ),
        ("emptied", vec![], "shorter than a header"),
        ("a byte flipped", flipped, "checksum"),
        // Module 2's code, whole and valid, under module 1's name: must not answer 2.
        (
            "another module's",
            std::fs::read(&e2).unwrap(),
            "another key",
        ),
    ];
    for (what, bytes, why) in corruptions {
        std::fs::write(&e1, &bytes).unwrap();
        let out = invoke(&cache, &[], &m1);
        assert_eq!(out.stdout, "1\n", "{what}");
        assert!(compiled(&out), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains("rejected") && out.stderr.contains(why),
            "{what}: {}",
            out.stderr
        );
        assert_ne!(std::fs::read(&e1).unwrap(), bytes, "{what}: rebuilt");
        assert!(!compiled(&invoke(&cache, &[], &m1)), "{what}: then used");
    }
}

#[test]
fn an_unusable_cache_directory_still_runs_with_one_warning() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("file");
    std::fs::write(&file, b"").unwrap();
    // Not creatable, even by root: its parent is a file.
    let cache = file.join("cache");
    let m = module(t.path(), 7);
    for _ in 0..2 {
        let out = invoke(&cache, &[], &m);
        assert_eq!(out.stdout, "7\n");
        assert!(compiled(&out));
        let warnings = out.stderr.matches("warning").count();
        assert_eq!(warnings, 1, "{}", out.stderr);
        assert!(out.stderr.contains("cannot create the cache directory"));
    }
    // A command too, which runs as an executable.
    let cmd = t.path().join("cmd.wat");
    std::fs::write(&cmd, EXIT_7).unwrap();
    let out = run(wasic(&cache).arg("run").arg(&cmd), None);
    assert_eq!(out.status, 7, "{out:?}");
    assert_eq!(out.stderr.matches("warning").count(), 1, "{}", out.stderr);
}

/// A WASI command that exits with status 7.
const EXIT_7: &str = r#"(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $exit (i32.const 7))))"#;

#[test]
fn wasic_cache_off_compiles_every_run_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let m = module(t.path(), 3);
    let cmd = t.path().join("cmd.wat");
    std::fs::write(&cmd, EXIT_7).unwrap();
    for _ in 0..2 {
        let out = run(
            wasic(&cache)
                .env("WASIC_CACHE", "off")
                .args(["run", "--invoke", "answer"])
                .arg(&m),
            None,
        );
        assert_eq!((out.status, out.stdout.as_str()), (0, "3\n"), "{out:?}");
        assert!(out.stderr.contains("cache off"), "{}", out.stderr);
        // The executable is temporary, and gone once it runs.
        let tmp = t.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let out = run(
            wasic(&cache)
                .env("WASIC_CACHE", "off")
                .env("TMPDIR", &tmp)
                .arg("run")
                .arg(&cmd),
            None,
        );
        assert_eq!(out.status, 7, "{out:?}");
        assert!(out.stderr.contains("cache off"), "{}", out.stderr);
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }
    assert!(!cache.exists());
    let bad = run(
        wasic(&cache)
            .env("WASIC_CACHE", "maybe")
            .arg("run")
            .arg(&cmd),
        None,
    );
    assert_eq!(bad.status, 1);
    assert!(
        bad.stderr.contains("WASIC_CACHE is `maybe`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_executable_cache_of_a_plain_run_reports_its_hit() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let cmd = t.path().join("cmd.wat");
    std::fs::write(&cmd, EXIT_7).unwrap();
    let first = run(wasic(&cache).arg("run").arg(&cmd), None);
    assert_eq!(first.status, 7, "{first:?}");
    assert!(compiled(&first));
    let second = run(wasic(&cache).arg("run").arg(&cmd), None);
    assert_eq!(second.status, 7, "{second:?}");
    assert!(!compiled(&second), "{}", second.stderr);
}

#[test]
fn concurrent_invokes_of_one_module_all_succeed_and_leave_one_whole_entry() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let m = module(t.path(), 5);
    let children: Vec<_> = (0..4)
        .map(|_| {
            wasic(&cache)
                .args(["run", "--invoke", "answer"])
                .arg(&m)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "5\n", "{stderr}");
        assert!(!stderr.contains("warning"), "{stderr}");
    }
    // No partial file is left, and the one entry is whole: the next run uses it.
    assert_eq!(entries(&cache).len(), 1, "{:?}", entries(&cache));
    assert!(!compiled(&invoke(&cache, &[], &m)));
}
