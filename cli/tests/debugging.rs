//! Native debugging of a program built from a module with DWARF (`clang -g`): gdb stops at
//! breakpoints set by function name and by `file:line`, names wasm frames with their source
//! lines in `bt`, and stops at a fault on its source line; `addr2line` maps a function's
//! address to its line; a trap's own backtrace prints `function (file:line)`. The program is `tests/wasi/debug.c`; the line numbers below are its.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `gdb -batch` with `commands` on `exe` (with `args`), or `None` (recorded as a skip) without
/// gdb.
fn gdb(exe: &Path, args: &[&str], commands: &[&str]) -> Option<String> {
    if Command::new("gdb").arg("--version").output().is_err() {
        skip("gdb is not installed (bash scripts/install-deps.sh installs it)");
        return None;
    }
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.arg("--args").arg(exe).args(args);
    let out = run(&mut cmd, None);
    Some(format!("{}{}", out.stdout, out.stderr))
}

fn debug_exe(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    build(
        &compile_c_with("debug", &["-g", "-O1"]),
        dir,
        "debug",
        extra,
    )
}

#[test]
fn gdb_stops_at_functions_and_lines_and_shows_wasm_frames_with_source_lines() {
    let t = tempfile::tempdir().unwrap();
    let exe = debug_exe(t.path(), &[]);
    let Some(out) = gdb(&exe, &[], &["break debug.c:10", "run", "bt", "continue"]) else {
        return;
    };
    assert!(
        out.contains("Breakpoint 1, depth () at ") && out.contains("debug.c:10"),
        "stops at debug.c:10 in depth:\n{out}"
    );
    // Four frames of the recursion, the inner three called from line 13.
    let recursive = out
        .lines()
        .filter(|l| l.contains("in depth () at ") && l.ends_with("debug.c:13"))
        .count();
    assert_eq!(recursive, 3, "bt through the wasm frames:\n{out}");
    assert!(
        out.contains("levels 3 value 42"),
        "the program ran on:\n{out}"
    );

    let Some(out) = gdb(
        &exe,
        &["0xfffffff0"],
        &["break depth", "run", "delete", "continue", "bt 2"],
    ) else {
        return;
    };
    assert!(
        out.contains("Breakpoint 1, depth () at ") && out.contains("debug.c:9"),
        "`break depth` stops at its first line:\n{out}"
    );
    assert!(
        out.contains("SIGSEGV") && out.contains("in depth () at ") && out.contains("debug.c:10"),
        "the fault is shown on its line:\n{out}"
    );
}

#[test]
fn addr2line_maps_a_wasm_function_to_its_source_line() {
    let t = tempfile::tempdir().unwrap();
    let exe = debug_exe(t.path(), &[]);
    let nm = run(Command::new("nm").arg(&exe), None);
    let address = nm
        .stdout
        .lines()
        .find_map(|l| l.strip_suffix(" t depth"))
        .unwrap_or_else(|| panic!("no symbol depth:\n{}", nm.stdout));
    let out = run(
        Command::new("addr2line")
            .args(["-f", "-e"])
            .arg(&exe)
            .arg(address),
        None,
    );
    assert_eq!(out.status, 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"depth"), "{}", out.stdout);
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.ends_with("tests/wasi/debug.c:9")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_module_without_dwarf_gets_no_debug_sections_and_strip_drops_them() {
    let t = tempfile::tempdir().unwrap();
    let has_debug_line = |exe: &Path| {
        let out = run(Command::new("readelf").arg("-S").arg(exe), None);
        out.stdout.contains(".debug_line")
    };
    // (Debian's wasi-libc carries DWARF, so a C program always has some: a WAT one has none.)
    let wat = t.path().join("plain.wat");
    std::fs::write(&wat, "(module (func (export \"_start\")))").unwrap();
    let plain = build(&wat, t.path(), "plain", &[]);
    assert!(!has_debug_line(&plain), "no DWARF in, none out");
    let stripped = debug_exe(t.path(), &["--strip"]);
    assert!(
        !has_debug_line(&stripped),
        "--strip drops the guest's DWARF too"
    );
    let with = debug_exe(t.path(), &[]);
    assert!(has_debug_line(&with));
}

#[test]
fn a_trap_backtrace_shows_each_frames_source_line() {
    let t = tempfile::tempdir().unwrap();
    let exe = debug_exe(t.path(), &[]);
    let out = run_exe(&exe, &["0xfffffff0"]);
    assert_eq!(out.status, 134, "stderr: {}", out.stderr);
    let frames: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("!depth"))
        .collect();
    assert_eq!(frames.len(), 3, "three frames of depth:\n{}", out.stderr);
    assert!(
        frames[0].ends_with("tests/wasi/debug.c:10)"),
        "{}",
        frames[0]
    );
    assert!(
        frames[1].ends_with("tests/wasi/debug.c:13)"),
        "{}",
        frames[1]
    );
    // Frames of code without DWARF stay as they were.
    assert!(
        out.stderr.contains("!_start.command_export\n"),
        "{}",
        out.stderr
    );
}
