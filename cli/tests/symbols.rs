//! The names native tools see in a built executable: every wasm function with a name in the
//! module's `name` section is an ELF symbol of that name (what `perf report`, `gdb` and `nm`
//! show), local to the executable, and trap backtraces use the same names.

mod common;

use common::*;
use std::process::Command;

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
