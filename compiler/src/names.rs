//! What compiled functions are called: the ELF symbol of each defined function, which `perf`,
//! `gdb`, `nm` and `addr2line` show, and the readable names trap backtraces print.
//!
//! A symbol is the function's name from the module's `name` section as it is there (mangled
//! C++ and Rust names stay mangled: the native tools demangle them themselves), so that
//! `perf report` shows `hot_loop` and `gdb` can `break hot_loop`. Function symbols are local to
//! the object, so a guest function named `memcpy` or `main` never interposes on the C
//! library's or the executable's own; within the object a symbol must still be unique, and
//! wasic's own symbols all start with `wasic_`. A function without a usable name is
//! `wasm_func_N` (its index in the function index space), the prefix no name can take.
//!
//! Backtraces print names demangled (`core::fmt::write`, `std::vector<int>::push_back(int&&)`),
//! done here at compile time so the runtime linked into every executable carries no
//! demangler.

use std::collections::HashSet;
use wasic_abi::meta::{ModuleMeta, NameMap};

/// The prefix of the fallback symbols; no name-section name is used as a symbol with it.
const FALLBACK_PREFIX: &str = "wasm_func_";

/// The ELF symbol of every defined function of `meta`, in defined-function order, from the
/// raw (not yet demangled) names of its name section.
pub fn function_symbols(meta: &ModuleMeta) -> Vec<String> {
    let num_funcs = meta.funcs.len() as u32;
    let mut taken = HashSet::new();
    (meta.num_imported_funcs..num_funcs)
        .map(|index| {
            let fallback = || format!("{FALLBACK_PREFIX}{index}");
            let Some(name) = meta.func_names.get(index).and_then(symbol_safe) else {
                return fallback();
            };
            // Names repeat (two static functions of one name); the first keeps it.
            let symbol = [name.clone(), format!("{name}.{index}")]
                .into_iter()
                .find(|s| !taken.contains(s))
                .unwrap_or_else(fallback);
            taken.insert(symbol.clone());
            symbol
        })
        .collect()
}

/// `name` as a symbol, or `None` when it cannot be one: empty, in wasic's own namespaces, or
/// with control characters (a NUL would cut the symbol short in the string table).
fn symbol_safe(name: &str) -> Option<String> {
    let reserved = name.starts_with("wasic_") || name.starts_with(FALLBACK_PREFIX);
    (!name.is_empty() && !reserved && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// `names` with every mangled Rust or C++ name demangled (Rust's hash suffix dropped).
pub fn demangled(names: &NameMap) -> NameMap {
    let mut out = NameMap::default();
    for (index, name) in names.iter() {
        out.push(index, &demangle(name));
    }
    out
}

/// A readable form of one function name.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the hash: `core::fmt::write`, not `core::fmt::write::h9c1d…`.
        return format!("{d:#}");
    }
    if name.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(name) {
            if let Ok(d) = sym.demangle() {
                return d;
            }
        }
    }
    // wasm-ld demangles names itself (without `--no-demangle`), keeping Rust's hash.
    match name.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            path.to_string()
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(imported: u32, total: u32, names: &[(u32, &str)]) -> ModuleMeta {
        let mut m = ModuleMeta {
            funcs: vec![0; total as usize],
            num_imported_funcs: imported,
            ..Default::default()
        };
        for (i, n) in names {
            m.func_names.push(*i, n);
        }
        m
    }

    #[test]
    fn symbols_are_the_names_unique_and_outside_wasics_namespaces() {
        let m = meta(
            1,
            8,
            &[
                (0, "imported"),
                (1, "hot_loop"),
                (2, "helper"),
                (3, "helper"),
                (4, "wasic_module"),
                (5, "wasm_func_1"),
                (6, "bad\0name"),
            ],
        );
        assert_eq!(
            function_symbols(&m),
            [
                "hot_loop",
                "helper",
                "helper.3",
                "wasm_func_4",
                "wasm_func_5",
                "wasm_func_6",
                "wasm_func_7"
            ]
        );
    }

    #[test]
    fn rust_and_cpp_names_are_demangled_and_others_kept() {
        assert_eq!(
            demangle("_ZN4core3fmt5write17h9c1d30a3a4d5e0f1E"),
            "core::fmt::write"
        );
        assert_eq!(demangle("_Z3addii"), "add(int, int)");
        assert_eq!(demangle("hot_loop"), "hot_loop");
        assert_eq!(
            demangle("std::rt::lang_start::h0123456789abcdef"),
            "std::rt::lang_start"
        );
        assert_eq!(demangle("a::hcafe"), "a::hcafe");
        assert_eq!(demangle("_Zbogus"), "_Zbogus");
    }
}
