//! What native tools see in a built executable: every wasm function with a name in the
//! module's `name` section is an ELF symbol of that name (what `perf report`, `gdb` and `nm`
//! show), local to the executable, and trap backtraces use the same names; the runtime's own
//! debug information and symbols are left out unless `--debug` asks for them (and Rust's
//! backtrace symbolizer always), and `--strip` drops the guest's symbols too.

mod common;

use common::*;
use object::{Object, ObjectSection};
use std::process::Command;

/// What `nm -C` lists of an executable's symbols.
fn nm(exe: &std::path::Path) -> String {
    let out = Command::new("nm")
        .arg("-C")
        .arg(exe)
        .output()
        .expect("nm runs");
    String::from_utf8(out.stdout).unwrap()
}

/// The names of the executable's sections, and whether it has a symbol table.
fn sections(exe: &std::path::Path) -> (Vec<String>, bool) {
    let bytes = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let names = file
        .sections()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    (names, file.symbol_table().is_some())
}

#[test]
fn wasm_functions_are_local_elf_symbols_named_from_the_name_section() {
    let t = tempfile::tempdir().unwrap();
    let exe = build(&compile_c("misc"), t.path(), "misc", &[]);
    let nm = Command::new("nm")
        .arg(&exe)
        .output()
        .expect("nm (binutils) runs");
    assert!(nm.status.success(), "nm failed");
    let symbols = String::from_utf8(nm.stdout).unwrap();
    let has = |kind_and_name: &str| symbols.lines().any(|l| l.ends_with(kind_and_name));
    // The C library's functions compiled into the module, by their wasm names: local (`t`),
    // so a guest function never takes the place of the host's function of the same name.
    for name in ["__main_void", "__fwritex", "_Exit"] {
        assert!(has(&format!(" t {name}")), "no local symbol {name}");
    }
    assert!(
        !symbols.contains("wasm_func_"),
        "every function of misc.wasm has a name, none is wasm_func_N"
    );
    // The guest's `main` is local beside the executable's own global `main`.
    assert!(has(" T main") && has(" t main"), "both mains");

    let out = run_exe(&exe, &["trap", "1"]);
    assert_eq!(out.status, 134, "stderr: {}", out.stderr);
    assert!(
        out.stderr.contains("!__main_void"),
        "the backtrace names functions as the symbols do: {}",
        out.stderr
    );
}

#[test]
fn executables_carry_the_runtimes_debug_info_only_with_debug_and_no_symbols_with_strip() {
    let t = tempfile::tempdir().unwrap();
    // A module without DWARF of its own (a C program has wasi-libc's), exiting with 7.
    let wat = t.path().join("exit7.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 7))))"#,
    )
    .unwrap();
    let default = build(&wat, t.path(), "default", &[]);
    let debug = build(&wat, t.path(), "debug", &["--debug"]);
    let strip = build(&wat, t.path(), "strip", &["--strip"]);
    let has_debug_info = |s: &[String]| s.iter().any(|n| n == ".debug_info");
    let (default_sections, default_symbols) = sections(&default);
    let (debug_sections, _) = sections(&debug);
    let (strip_sections, strip_symbols) = sections(&strip);
    assert!(!has_debug_info(&default_sections), "{default_sections:?}");
    assert!(default_symbols, "the default keeps the symbol table");
    assert!(has_debug_info(&debug_sections), "{debug_sections:?}");
    assert!(!has_debug_info(&strip_sections) && !strip_symbols);
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&strip) < size(&default) && size(&default) < size(&debug));
    // By default the runtime's own functions have no symbols (the guest's keep theirs), and
    // even the `--debug` build has no DWARF symbolizer of Rust's standard library in it
    // (cli/build.rs rebuilds std without its `backtrace` feature).
    let default_nm = nm(&default);
    let runtime_locals: Vec<&str> = default_nm
        .lines()
        .filter(|l| l.contains(" t ") && l.contains("wasic_runtime::"))
        .collect();
    assert!(runtime_locals.is_empty(), "{runtime_locals:?}");
    let debug_nm = nm(&debug);
    assert!(
        debug_nm.contains("wasic_runtime::"),
        "--debug keeps the runtime's symbols"
    );
    for symbolizer in ["addr2line::", "gimli::", "miniz_oxide::"] {
        assert!(!debug_nm.contains(symbolizer), "{symbolizer} is linked in");
    }
    // All three run the same program.
    for exe in [&default, &debug, &strip] {
        assert_run(&run_exe(exe, &[]), 7, "");
    }
}

#[test]
fn an_executable_contains_only_the_wasi_functions_its_module_imports() {
    let t = tempfile::tempdir().unwrap();
    let module = |name: &str, imports: &str, body: &str| {
        let wat = t.path().join(format!("{name}.wat"));
        std::fs::write(
            &wat,
            format!(
                r#"(module
                     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                     {imports}
                     (memory (export "memory") 1)
                     (func (export "_start") {body} (call $exit (i32.const 7))))"#
            ),
        )
        .unwrap();
        build(&wat, t.path(), name, &["--debug"])
    };
    let exit_only = module("exit_only", "", "");
    // `path_open` through `wasi_unstable` (its own static beside preview 1's).
    let opens = module(
        "opens",
        r#"(import "wasi_unstable" "path_open"
             (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
        "(drop (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) \
         (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)))",
    );
    let (a, b) = (nm(&exit_only), nm(&opens));
    let has = |s: &str, f: &str| s.lines().any(|l| l.ends_with(f));
    for f in [
        "wasic_runtime::wasi::path::path_open",
        "wasic_runtime::wasi::sandbox::open_beneath",
        "wasic_runtime::wasi::poll::poll",
        "wasic_runtime::wasi::fd::fd_readdir",
    ] {
        assert!(
            !has(&a, f),
            "{f} is linked into an executable that imports only proc_exit"
        );
    }
    assert!(has(&a, "wasic_runtime::wasi::proc::proc_exit"));
    assert!(has(&b, "wasic_runtime::wasi::path::path_open"));
    assert!(has(&b, "wasic_wasi_u_path_open") && !has(&b, "wasic_wasi_p1_path_open"));
    assert!(
        std::fs::metadata(&exit_only).unwrap().len() < std::fs::metadata(&opens).unwrap().len()
    );
    for exe in [&exit_only, &opens] {
        assert_run(&run_exe(exe, &[]), 7, "");
    }
}
