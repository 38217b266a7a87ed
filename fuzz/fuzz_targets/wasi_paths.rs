//! Fuzz target `wasi_paths`: sequences of WASI path operations with arbitrary paths against a
//! fresh preopened directory; nothing outside it may be created, modified or read (see
//! `src/wasi_paths.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::wasi_paths::fuzz_one(data);
});
