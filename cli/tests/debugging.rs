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

/// `wasm` without its `name` section.
fn without_name_section(wasm: &[u8]) -> Vec<u8> {
    fn leb(bytes: &[u8], mut at: usize) -> (usize, usize) {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let b = bytes[at];
            at += 1;
            value |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            if b < 0x80 {
                return (value, at);
            }
        }
    }
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let (size, body) = leb(wasm, at + 1);
        let end = body + size;
        let is_name = wasm[at] == 0 && {
            let (len, name) = leb(wasm, body);
            &wasm[name..name + len] == b"name"
        };
        if !is_name {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    out
}

#[test]
fn without_a_name_section_functions_are_named_from_the_dwarf() {
    let t = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(compile_c_with("debug", &["-g", "-O1"])).unwrap();
    let stripped = without_name_section(&wasm);
    assert!(stripped.len() < wasm.len(), "the name section was removed");
    let path = t.path().join("noname.wasm");
    std::fs::write(&path, stripped).unwrap();
    let exe = build(&path, t.path(), "noname", &[]);
    let nm = run(Command::new("nm").arg(&exe), None);
    assert!(
        nm.stdout.lines().any(|l| l.ends_with(" t depth")),
        "the symbol comes from DW_AT_name:\n{}",
        nm.stdout
    );
    let out = run_exe(&exe, &["0xfffffff0"]);
    assert!(
        out.stderr.contains("!depth (") && out.stderr.contains("debug.c:10)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_module_with_broken_dwarf_builds_without_debug_info_and_one_warning() {
    let t = tempfile::tempdir().unwrap();
    let wat = t.path().join("broken.wat");
    std::fs::write(
        &wat,
        r#"(module
             (func (export "_start"))
             (@custom ".debug_info" "\ff\ff\ff\ff not DWARF")
             (@custom ".debug_line" "\01\02\03"))"#,
    )
    .unwrap();
    let exe = t.path().join("broken");
    let out = build_output(&wat, &exe);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one warning: {}", out.stderr);
    assert!(
        lines[0].starts_with("warning: ")
            && lines[0].contains("broken.wat")
            && lines[0].contains("built without debug information"),
        "{}",
        lines[0]
    );
    assert_run(&run_exe(&exe, &[]), 0, "");
}

/// `perf record` of a program spending its time in one C function (built with default flags:
/// the name section names it) attributes the samples to that function by name. Uses the
/// `cpu-clock` software event, which needs no hardware counters; recorded as a skip where perf
/// is missing or the kernel does not let it sample.
#[test]
fn perf_report_names_the_hot_c_function() {
    if Command::new("perf").arg("--version").output().is_err() {
        skip(
            "perf is not installed (Debian: linux-perf; bash scripts/install-deps.sh installs it)",
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let exe = build(&compile_c("hot"), t.path(), "hot", &[]);
    let data = t.path().join("perf.data");
    let rec = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "2000", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&exe)
        .arg("300000000")
        .output()
        .unwrap();
    if !rec.status.success() {
        skip(&format!(
            "perf record cannot sample here: {}",
            String::from_utf8_lossy(&rec.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ));
        return;
    }
    assert!(String::from_utf8_lossy(&rec.stdout).starts_with("hot "));
    let report = Command::new("perf")
        .args(["report", "--stdio", "--sort", "symbol", "-i"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    // The first sample line (highest share) is the hot function, by its C name.
    let top = text
        .lines()
        .find(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains('%'))
        .unwrap_or_default();
    assert!(top.contains("hot_loop"), "top of perf report:\n{text}");
}
