//! Fuzz target `exceptions`: a wasm-smith module using exception handling (tags, `try_table`,
//! `throw`, `throw_ref`, `exnref`) and tail calls runs on wasic and on wasmtime with the same
//! calls; results (exceptions by tag and payload), traps, uncaught exceptions, memories, globals
//! and tables must agree (see `src/exceptions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::exceptions::fuzz_one(data);
});
