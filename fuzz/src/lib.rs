//! Shared code of wasic's fuzz targets: the differential oracles (wasic against the wasmi
//! interpreter on wasm-smith modules; exception handling against wasmtime) and the WASI
//! path-sandbox checker. The fuzz targets in `fuzz_targets/` are thin wrappers around these,
//! and `tools/repro.rs` replays an input with a readable report.

pub mod differential;
pub mod exceptions;
pub mod wasi_paths;

/// Whole-module optimizations with each one off in a quarter of the cases.
pub fn arb_optimizations(
    u: &mut arbitrary::Unstructured<'_>,
) -> arbitrary::Result<wasic_compiler::Optimizations> {
    let mut o = wasic_compiler::Optimizations::default();
    for name in wasic_compiler::Optimizations::NAMES {
        if u.ratio(1, 4)? {
            o.set(&format!("{name}=off"))
                .expect("every name in NAMES is an optimization");
        }
    }
    Ok(o)
}

/// The `compile` target: arbitrary bytes into the compiler must give `Ok` or `Err`, never a
/// panic; and a module the compiler accepts must load.
pub fn compile_one(data: &[u8]) {
    let opts = wasic_compiler::CompileOptions::default();
    if let Ok(object) = wasic_compiler::compile(data, &opts) {
        // SAFETY: `object` was just produced by `wasic_compiler::compile`; it is never run.
        if let Err(e) = unsafe { wasic_runtime::Module::from_object(&object) } {
            panic!("compiled module does not load: {e}");
        }
    }
}
