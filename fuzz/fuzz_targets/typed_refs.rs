//! Fuzz target `typed_refs`: the `exceptions` target's module generator with GC on, which
//! brings typed function references (`(ref $t)`, `call_ref`, `return_call_ref`, `br_on_null`,
//! `br_on_non_null`, `ref.as_non_null`, non-nullable locals) and recursion groups; wasic and
//! wasmtime run each module wasic compiles with the same calls, and must agree (see
//! `src/exceptions.rs`). Modules with struct or array types wasic refuses as unsupported.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::exceptions::fuzz_one_typed(data);
});
