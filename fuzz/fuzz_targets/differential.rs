//! Fuzz target `differential`: a wasm-smith module (WebAssembly 2.0, bounded memory, fuel so
//! that it terminates) runs on wasic and on the wasmi interpreter with the same calls; results,
//! traps, host-call logs, memories, globals and tables must agree (see `src/differential.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::differential::fuzz_one(data);
});
