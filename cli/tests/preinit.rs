//! `wasic build --preinit [--init-func NAME]`: the initialiser runs at build time and the
//! executable starts from its state (a C program whose state is visible before `main` and
//! whose output is unchanged), and what cannot be snapshotted is refused at build time with a
//! message naming it, leaving no output.

mod common;

use common::*;
use std::path::Path;

#[test]
fn preinit_runs_the_initialiser_at_build_time_and_main_starts_from_its_state() {
    let wasm = compile_c("preinit");
    let t = tempfile::tempdir().unwrap();
    let plain = build(&wasm, t.path(), "plain", &[]);
    let pre = build(&wasm, t.path(), "pre", &["--preinit"]);
    let tail = "1270607 primes below 20000000, sum 12272577818052, the 1000000th is 15485863\n";
    assert_run(
        &run_exe(&plain, &[]),
        0,
        &format!("initialized before main: no\n{tail}"),
    );
    assert_run(
        &run_exe(&pre, &[]),
        0,
        &format!("initialized before main: yes\n{tail}"),
    );
}

/// A module whose initialiser (export `init`) runs `$body`, and whose `_start` exits with
/// the value of global `$g` (which the initialiser may set).
fn wat_module(body: &str) -> String {
    format!(
        r#"(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (type $ret (func (result i32)))
    (table 2 funcref)
    (func $f (result i32) (i32.const 5))
    (func $seven (result i32) (i32.const 7))
    (elem (i32.const 0) $f)
    (elem declare func $seven)
    (data (i32.const 16) ".")
    (func (export "init") {body})
    (func (export "_start")
        ;; Table entry 1, if set, adds its result.
        (if (i32.eqz (ref.is_null (table.get (i32.const 1))))
            (then (global.set $g (i32.add (global.get $g)
                (call_indirect (type $ret) (i32.const 1))))))
        (call $exit (global.get $g))))"#
    )
}

fn build_wat(dir: &Path, wat: &str, flags: &[&str]) -> Output {
    let src = dir.join("m.wat");
    std::fs::write(&src, wat).unwrap();
    let out = run(
        std::process::Command::new(wasic())
            .arg("build")
            .arg(&src)
            .arg("-o")
            .arg(dir.join("m"))
            .args(flags),
        None,
    );
    out.assert_no_panic();
    out
}

#[test]
fn init_func_names_the_initialiser_and_its_globals_and_memory_are_kept() {
    let t = tempfile::tempdir().unwrap();
    let wat =
        wat_module("(global.set $g (i32.const 42)) (i32.store8 (i32.const 1000) (i32.const 7))");
    let out = build_wat(t.path(), &wat, &["--preinit", "--init-func", "init"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_run(&run_exe(&t.path().join("m"), &[]), 42, "");
}

#[test]
fn tables_the_initialiser_grew_and_filled_are_kept_and_their_first_segment_too() {
    let t = tempfile::tempdir().unwrap();
    // Entry 1 becomes $seven; the table grows by 3 (a null entry at 2..5); entry 0 stays $f.
    let wat = wat_module(
        "(table.set (i32.const 1) (ref.func $seven))
         (drop (table.grow (ref.null func) (i32.const 3)))
         (global.set $g (i32.add (table.size) (call_indirect (type $ret) (i32.const 0))))",
    );
    let out = build_wat(t.path(), &wat, &["--preinit", "--init-func", "init"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    // g = 5 (table size) + 5 ($f) at build time, + 7 ($seven through entry 1) at run time.
    assert_run(&run_exe(&t.path().join("m"), &[]), 17, "");
    // Without --preinit, nothing set entry 1 and `init` never ran.
    let out = build_wat(t.path(), &wat, &[]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_run(&run_exe(&t.path().join("m"), &[]), 0, "");
}

#[test]
fn a_64_bit_table_the_initialiser_filled_is_kept_with_i64_segment_offsets() {
    let t = tempfile::tempdir().unwrap();
    let wat = wat_module(
        "(table.set (i64.const 1) (ref.func $seven))
         (drop (table.grow (ref.null func) (i64.const 3)))
         (global.set $g (i32.add (i32.wrap_i64 (table.size))
             (call_indirect (type $ret) (i64.const 0))))",
    )
    .replace("(table 2 funcref)", "(table i64 2 funcref)")
    .replace("(elem (i32.const 0) $f)", "(elem (i64.const 0) $f)")
    .replace("(table.get (i32.const 1))", "(table.get (i64.const 1))")
    .replace(
        "(call_indirect (type $ret) (i32.const 1))",
        "(call_indirect (type $ret) (i64.const 1))",
    );
    assert!(wat.contains("(table i64 2 funcref)") && !wat.contains("(type $ret) (i32.const"));
    let out = build_wat(t.path(), &wat, &["--preinit", "--init-func", "init"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_run(&run_exe(&t.path().join("m"), &[]), 17, "");
}

#[test]
fn a_table_of_typed_function_references_the_initialiser_filled_is_kept() {
    let t = tempfile::tempdir().unwrap();
    // The snapshot's segment must be of the table's own type, `(ref null $t)`, not funcref.
    let wat = r#"(module
        (type $t (func (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (table $tab 2 (ref null $t))
        (func $seven (type $t) (i32.const 7))
        (elem declare func $seven)
        (func (export "init") (table.set $tab (i32.const 1) (ref.func $seven)))
        (func (export "_start")
            (call $exit (call_ref $t (ref.as_non_null (table.get $tab (i32.const 1)))))))"#;
    let out = build_wat(t.path(), wat, &["--preinit", "--init-func", "init"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_run(&run_exe(&t.path().join("m"), &[]), 7, "");
}

#[test]
fn what_cannot_be_snapshotted_is_refused_at_build_time_with_what_it_is() {
    let cases = [
        (
            "",
            &["--preinit"][..],
            "exports no function `wizer.initialize`",
        ),
        (
            "(unreachable)",
            &["--preinit", "--init-func", "init"],
            "`init` trapped: wasm trap: unreachable",
        ),
        (
            "(call $exit (i32.const 3))",
            &["--preinit", "--init-func", "init"],
            "`init` exited (status 3)",
        ),
        (
            // Opens "." beneath the preopen (fd 3) and leaves it open.
            "(drop (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 1)
                (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 32)))",
            &["--preinit", "--init-func", "init", "--dir", "."],
            "left files open",
        ),
    ];
    for (body, flags, msg) in cases {
        let t = tempfile::tempdir().unwrap();
        let out = build_wat(t.path(), &wat_module(body), flags);
        assert_ne!(out.status, 0, "{body}");
        assert!(out.stderr.contains(msg), "{body}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(!t.path().join("m").exists(), "{body}");
    }
}
