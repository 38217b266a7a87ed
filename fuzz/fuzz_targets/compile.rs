//! Fuzz target `compile`: arbitrary bytes into `wasic_compiler::compile` must give an error or
//! an object, never a panic; an object the compiler returns must load with `Module::from_object`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasic_fuzz::compile_one(data);
});
