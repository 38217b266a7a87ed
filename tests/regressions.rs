//! Regression tests found by fuzzing (see fuzz/README.md): each module in tests/regressions/
//! reproduced a compiler crash or a divergence between wasic and the wasmi interpreter. One
//! `case!` line per finding: the module file, then either `compiles` (the compiler must return,
//! Ok or Err, without panicking, and an accepted module must load) or an export to call with
//! its arguments and the result the specification requires (checked against wasmi when the
//! case was found).

use wasic_runtime::{Error, Instance, Module, Store, Trap, Val};

/// What a call must do.
#[allow(dead_code)]
enum Expect {
    Values(Vec<Val>),
    Trap(Trap),
}

fn wasm(file: &str) -> Vec<u8> {
    let path = format!("{}/regressions/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    wat::parse_bytes(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_owned()
}

#[allow(dead_code)]
fn compiles(file: &str) {
    let wasm = wasm(file);
    if let Ok(object) = wasic_compiler::compile(&wasm, &Default::default()) {
        // SAFETY: `object` was just produced by `wasic_compiler::compile`.
        unsafe { Module::from_object(&object) }
            .unwrap_or_else(|e| panic!("compiled {file} does not load: {e}"));
    }
}

/// Instantiates `file` (no imports) and makes `calls` in order; each must do what it expects.
#[allow(dead_code)]
fn calls(file: &str, calls: &[(&str, Vec<Val>, Expect)]) {
    let object = wasic_compiler::compile(&wasm(file), &Default::default())
        .unwrap_or_else(|e| panic!("{file} does not compile: {e}"));
    // SAFETY: `object` was just produced by `wasic_compiler::compile`.
    let module = unsafe { Module::from_object(&object) }.unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut store = Store::default();
    let instance = Instance::new(&mut store, &module, &[]).unwrap_or_else(|e| panic!("{e}"));
    for (name, args, expect) in calls {
        let f = instance
            .get_func(name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let got = f.call(&mut store, args);
        match (expect, &got) {
            (Expect::Values(want), Ok(vals)) if vals == want => {}
            (Expect::Trap(want), Err(Error::Trap(t))) if t.trap == *want => {}
            (Expect::Values(want), _) => panic!("{name}{args:?}: want {want:?}, got {got:?}"),
            (Expect::Trap(want), _) => panic!("{name}{args:?}: want trap {want:?}, got {got:?}"),
        }
    }
}

/// Every file in tests/regressions/ is used by a case below.
#[test]
fn every_regression_module_has_a_case() {
    let source = include_str!("regressions.rs");
    let dir = format!("{}/regressions", env!("CARGO_MANIFEST_DIR"));
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wat") || name.ends_with(".wasm") {
            assert!(
                source.contains(&format!("\"{name}\"")),
                "{name} has no case in tests/regressions.rs"
            );
        }
    }
}

// One line per finding (name, module, check); see fuzz/STATUS.md for how each was found.
