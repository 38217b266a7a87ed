//! Fuzz target `embedded`: sequences of WASI path operations against a directory granted
//! read-only and against the same tree embedded in the executable (`--embed-dir`): the same
//! answers, op by op, and no sandbox violation (see `fuzz_embedded` in `src/wasi_paths.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::wasi_paths::fuzz_embedded(data);
});
