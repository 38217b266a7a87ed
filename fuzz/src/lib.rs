//! Shared code of wasic's fuzz targets: the differential oracles (wasic against the wasmi
//! interpreter on wasm-smith modules; exception handling against wasmtime) and the WASI
//! path-sandbox checker. The fuzz targets in `fuzz_targets/` are thin wrappers around these,
//! and `tools/repro.rs` replays an input with a readable report.

pub mod differential;
pub mod exceptions;
pub mod wasi_paths;

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
