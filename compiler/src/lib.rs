//! wasic's compiler: validates a WebAssembly module and compiles it into one relocatable object.
//!
//! Pipeline: [`module`] parses and validates the module sections and fills the metadata;
//! every defined function is validated and translated to Cranelift IR ([`translate`]) and
//! compiled on a pool of worker threads, together with the per-type trampolines
//! ([`trampolines`]); [`object`] writes code, metadata and the `wasic_module` descriptor into an
//! ELF object with no undefined symbols. The contract with the runtime is the `wasic-abi` crate.
//!
//! With the `inline` optimization, the module's call graph is scanned first and the small
//! non-recursive functions are compiled before the others, bottom-up, keeping their IR so that
//! their callers can inline them ([`inline`]).

mod dwarf;
mod entry;
mod error;
mod idioms;
mod inline;
mod isa;
pub use entry::{entry_object, runtime_data_object};
pub use isa::required_cpu_features;
mod module;
mod names;
mod object;
mod strict;
mod trampolines;
mod translate;
mod traps;

pub use error::CompileError;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{FuncId, ModuleReloc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use wasic_abi::meta::{HandlerSite, ModuleMeta, TrapSite};

/// The x86-64 microarchitecture level the code may assume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetCpu {
    /// x86-64-v2: SSE4.2 and POPCNT (runs on essentially every x86-64 machine since 2009).
    #[default]
    X86_64V2,
    /// x86-64-v3: adds AVX2, BMI1/2, LZCNT and FMA.
    X86_64V3,
    /// Whatever the compiling machine supports.
    Native,
}

/// Optimization level of the generated code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OptLevel {
    #[default]
    Speed,
    None,
}

/// Which WebAssembly the compiler accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Features {
    /// WebAssembly 2.0 plus the 3.0 proposals wasic implements (see [`validate_features`]).
    #[default]
    Latest,
    /// Exactly WebAssembly 2.0, with its binary-format rules (e.g. a memory index immediate
    /// must be a zero byte): what the 2.0 spec test suite checks.
    Wasm2,
    /// WebAssembly 1.0 with the threads proposal: the base the threads proposal's own test
    /// suite is written against (it still checks 1.0's "one table, one memory" rules, which
    /// reference types and multi-memory lifted).
    Wasm1Threads,
}

impl Features {
    /// The wasmparser feature set.
    pub fn wasmparser(self) -> wasmparser::WasmFeatures {
        match self {
            Features::Latest => validate_features(),
            Features::Wasm2 => wasmparser::WasmFeatures::WASM2,
            Features::Wasm1Threads => {
                wasmparser::WasmFeatures::WASM1 | wasmparser::WasmFeatures::THREADS
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub target_cpu: TargetCpu,
    pub opt_level: OptLevel,
    pub features: Features,
    pub optimizations: Optimizations,
}

/// Expands the list of whole-module optimizations into [`Optimizations`], its names and its
/// parser, so a new optimization is one line here: `name` is what `wasic build -O NAME=off`
/// takes, the field is what the compiler reads.
macro_rules! optimizations {
    ($( $(#[$doc:meta])* $field:ident = $name:literal, default $default:literal; )*) => {
        /// The optimizations only a whole-module ahead-of-time compiler can make, each of which
        /// can be turned off alone (`-O NAME=off`) to measure what it gains or to rule it out
        /// when hunting a miscompilation. All are on by default.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct Optimizations {
            $( $(#[$doc])* pub $field: bool, )*
        }

        impl Default for Optimizations {
            fn default() -> Self {
                Optimizations { $( $field: $default, )* }
            }
        }

        impl Optimizations {
            /// Every optimization's `-O` name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// Applies one `NAME=on|off` (also `yes|no`, `true|false`, `y|n`, `1|0`) setting.
            pub fn set(&mut self, setting: &str) -> Result<(), String> {
                let (name, value) = setting
                    .split_once('=')
                    .ok_or_else(|| format!("`{setting}`: expected NAME=on or NAME=off"))?;
                let on = match value {
                    "on" | "yes" | "y" | "true" | "1" => true,
                    "off" | "no" | "n" | "false" | "0" => false,
                    _ => return Err(format!("`{setting}`: the value must be `on` or `off`")),
                };
                match name {
                    $( $name => self.$field = on, )*
                    _ => return Err(format!(
                        "`{name}` is not an optimization (known: {})",
                        Self::NAMES.join(", ")
                    )),
                }
                Ok(())
            }
        }
    };
}

optimizations! {
    /// Inline small functions into their callers with Cranelift's inliner (bottom-up over the
    /// call graph, never inside a recursive cycle).
    inline = "inline", default true;
    /// `call_indirect` through a table nothing can change after instantiation checks the
    /// signature against read-only per-slot data, and a constant index becomes a direct call.
    static_tables = "static-tables", default true;
    /// `memory.copy` / `memory.fill` as an inline bounds check and a call of the C library's
    /// `memmove` / `memset`; small constant sizes as plain loads and stores.
    libc_memops = "libc-memops", default true;
    /// `global.get` of a defined immutable global with a constant initializer is that constant
    /// (wasm-ld turns the GOT entries of position-independent objects into such globals).
    const_globals = "const-globals", default true;
    /// Stack exhaustion detected by a guard page at the stack limit (a fault there is the
    /// "call stack exhausted" trap) instead of a limit check in every function's prologue.
    stack_guard = "stack-guard", default true;
    /// wasi-libc's MVP `memcpy` / `memmove` / `memset` (byte and word loops in wasm), recognised
    /// by their exact code, call the C library's routines when the result is the same
    /// (`idioms.rs`).
    libc_idioms = "libc-idioms", default true;
}

/// The WebAssembly features wasic accepts: WebAssembly 2.0 (mutable globals, sign extension,
/// saturating conversions, multi-value, bulk memory, reference types, fixed-width SIMD) plus
/// these WebAssembly 3.0 proposals: extended constant expressions, multi-memory,
/// tail calls, memory64 (64-bit memories and tables), relaxed SIMD (with one
/// deterministic result, see `translate/simd.rs`), exception handling (the standard `try_table`
/// form and the legacy `try`/`catch`/`delegate` form, see `translate/exceptions.rs`), threads
/// (shared memories and atomics, also on non-shared memories as wasmtime accepts them by
/// default: see `translate/atomics.rs`; the strict [`Features::Wasm2`] set refuses them), and
/// typed function references (`(ref $t)`, `call_ref`, `br_on_null`, non-nullable locals,
/// recursion groups of function types, ...) and garbage collection (struct and array types,
/// subtypes, the `any` hierarchy, casts: see `translate/gc.rs`). Proposals beyond 3.0 (shared-everything
/// threads, stack switching, ...) stay disabled, so wasmparser rejects them with an error
/// naming the proposal ("... support is not enabled").
pub fn validate_features() -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    F::WASM2
        | F::EXTENDED_CONST
        | F::MULTI_MEMORY
        | F::TAIL_CALL
        | F::MEMORY64
        | F::RELAXED_SIMD
        | F::EXCEPTIONS
        | F::LEGACY_EXCEPTIONS
        | F::THREADS
        | F::FUNCTION_REFERENCES
        | F::GC
        | F::GC_TYPES
}

/// Compiles a WebAssembly binary to an ELF relocatable object.
pub fn compile(wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, CompileError> {
    compile_with_meta(wasm, opts).map(|(object, _)| object)
}

/// One compiled function, ready to be placed in the object.
pub(crate) struct CompiledFunc {
    pub bytes: Vec<u8>,
    /// With DWARF to translate: (native start, native end, code-section offset) of each
    /// range of the code, by start.
    pub srclocs: Vec<(u32, u32, u32)>,
    pub relocs: Vec<ModuleReloc>,
    pub traps: Vec<TrapSite>,
    pub handlers: Vec<HandlerSite>,
    pub alignment: u64,
}

/// What a worker compiles.
enum Job<'a> {
    /// Defined function with this function index; `keep`: an inline candidate, whose IR is kept
    /// for its callers, with whether its body may throw out of itself ([`inline::Body::throws`]).
    Func {
        index: u32,
        input: module::FuncInput<'a>,
        keep: Option<bool>,
    },
    ArrayTrampoline(u32),
    HostAdapter(u32),
}

/// What a job produces.
struct Output {
    func: CompiledFunc,
    /// An inline candidate's IR (with its own callees inlined), unless it grew too large.
    body: Option<inline::Body>,
}

/// Per-thread reusable state.
struct Worker {
    ctx: Context,
    tcx: translate::TranslatorContext,
    fctx: FunctionBuilderContext,
}

impl Worker {
    fn new() -> Self {
        Worker {
            ctx: Context::new(),
            tcx: Default::default(),
            fctx: Default::default(),
        }
    }

    /// Compiles `job`; with `bodies` (the `inline` optimization), a defined function first
    /// inlines the calls to the candidates kept so far.
    fn run(
        &mut self,
        isa: &dyn TargetIsa,
        env: &module::ModuleEnv,
        layout: object::FuncLayout,
        job: Job<'_>,
        bodies: Option<&inline::Bodies>,
    ) -> Result<Output, CompileError> {
        self.ctx.clear();
        let frontend = isa.frontend_config();
        let mut body = None;
        let (func_id, what) = match job {
            Job::Func { index, input, keep } => {
                let what = format!("function {index}");
                let id = layout.defined(index - env.num_imported_funcs);
                let r = translate::translate_function(
                    env,
                    frontend,
                    index,
                    input,
                    &mut self.ctx.func,
                    &mut self.tcx,
                );
                if let Err(e) = r {
                    // The builder context may be mid-function: start afresh.
                    self.tcx = translate::TranslatorContext::default();
                    return Err(e);
                }
                if let Some(bodies) = bodies {
                    let mut inliner = inline::Inliner::new(bodies, id, &self.ctx.func);
                    self.ctx
                        .inline(&mut inliner)
                        .map_err(|e| CompileError::Codegen {
                            what: what.clone(),
                            message: format!("inlining failed: {e}"),
                        })?;
                    if let Some(throws) = keep {
                        body = inline::Body::keep(&self.ctx.func, throws || inliner.inlined_throws);
                    }
                }
                (id, what)
            }
            Job::ArrayTrampoline(t) => {
                let id = layout.array_trampoline(t);
                trampolines::build_array_trampoline(
                    &env.types[t as usize],
                    id,
                    &mut self.ctx.func,
                    &mut self.fctx,
                    frontend,
                );
                (id, format!("array trampoline of type {t}"))
            }
            Job::HostAdapter(t) => {
                let id = layout.host_adapter(t);
                trampolines::build_host_adapter(
                    &env.types[t as usize],
                    id,
                    &mut self.ctx.func,
                    &mut self.fctx,
                    frontend,
                );
                (id, format!("host adapter of type {t}"))
            }
        };
        let func = self.finish(isa, func_id, what, env.srcloc_base.is_some())?;
        Ok(Output { func, body })
    }

    /// Generates the machine code of the function in `self.ctx`.
    fn finish(
        &mut self,
        isa: &dyn TargetIsa,
        func_id: u32,
        what: String,
        srclocs: bool,
    ) -> Result<CompiledFunc, CompileError> {
        self.ctx
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| CompileError::Codegen {
                what: what.clone(),
                message: cranelift_codegen::print_errors::pretty_error(e.func, e.inner),
            })?;
        let code = self
            .ctx
            .compiled_code()
            .ok_or_else(|| CompileError::Codegen {
                what: what.clone(),
                message: "no code produced".into(),
            })?;
        let buffer = &code.buffer;
        let relocs = buffer
            .relocs()
            .iter()
            .map(|r| ModuleReloc::from_mach_reloc(r, &self.ctx.func, FuncId::from_u32(func_id)))
            .collect();
        let mut traps: Vec<TrapSite> = buffer
            .traps()
            .iter()
            .filter_map(|t| {
                traps::from_trap_code(t.code).map(|trap| TrapSite {
                    offset: t.offset,
                    trap,
                })
            })
            .collect();
        traps.sort_by_key(|t| t.offset);
        // `try_call` sites: wasic's exception tables have one catch-all entry per call, or, in
        // inlined code, the inlined function's entry first: the innermost handler wins.
        let mut handlers = Vec::new();
        for site in buffer.call_sites() {
            let handler = site.exception_handlers.iter().find_map(|h| match h {
                cranelift_codegen::MachExceptionHandler::Default(off) => Some(off.as_offset()),
                _ => None,
            });
            if let Some(handler_offset) = handler {
                let sp_to_fp = site.frame_offset.ok_or_else(|| CompileError::Codegen {
                    what: what.clone(),
                    message: "exception handler without a frame offset".into(),
                })?;
                handlers.push(HandlerSite {
                    ret_offset: site.ret_addr,
                    handler_offset,
                    sp_to_fp,
                });
            }
        }
        handlers.sort_by_key(|h| h.ret_offset);
        let srclocs = if srclocs {
            buffer
                .get_srclocs_sorted()
                .iter()
                .filter(|l| l.loc.is_abs() && !l.loc.as_abs().is_default())
                .map(|l| (l.start, l.end, l.loc.as_abs().bits()))
                .collect()
        } else {
            Vec::new()
        };
        Ok(CompiledFunc {
            srclocs,
            bytes: buffer.data().to_vec(),
            relocs,
            traps,
            handlers,
            alignment: u64::from(buffer.min_alignment.max(isa.function_alignment().preferred)),
        })
    }
}

/// Runs `work` on every job on a pool of threads, each thread with its own `state()`, and
/// returns the results with their job numbers. Job numbers order the errors: once a job has
/// failed, jobs numbered after it are skipped (they cannot be the error reported), but every
/// job numbered before it still runs, so the error reported is the same whatever the timing.
/// `first_error` is the lowest failed job number so far, shared by all runs of one compilation.
fn run_parallel<T: Send, S, R: Send>(
    jobs: Vec<(usize, T)>,
    first_error: &AtomicUsize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, T) -> Result<R, CompileError> + Sync,
) -> Vec<(usize, Result<R, CompileError>)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let queue = Mutex::new(jobs.into_iter());
    let worker = || {
        let mut s = state();
        let mut out = Vec::new();
        loop {
            let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
            let Some((i, job)) = next else { break };
            if i > first_error.load(Ordering::Relaxed) {
                continue;
            }
            let r = work(&mut s, job);
            if r.is_err() {
                first_error.fetch_min(i, Ordering::Relaxed);
            }
            out.push((i, r));
        }
        out
    };
    if threads <= 1 {
        return worker();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(worker)).collect();
        let mut out = worker();
        for h in handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    })
}

/// The inline plan of a module: its call graph, scanned in parallel, and which functions are
/// candidates in which order.
fn plan_inlining(env: &module::ModuleEnv, bodies: &[module::FuncInput<'_>]) -> inline::Plan {
    const CHUNK: usize = 256;
    let num_funcs = env.funcs.len() as u32;
    let chunks: Vec<(usize, usize)> = (0..bodies.len().div_ceil(CHUNK))
        .map(|c| (c, c * CHUNK))
        .collect();
    let mut scanned = run_parallel(
        chunks,
        &AtomicUsize::new(usize::MAX),
        || (),
        |_, start| {
            let end = (start + CHUNK).min(bodies.len());
            Ok(bodies[start..end]
                .iter()
                .map(|b| inline::scan(&b.body, env.num_imported_funcs, num_funcs))
                .collect::<Vec<_>>())
        },
    );
    scanned.sort_by_key(|(c, _)| *c);
    let scans: Vec<inline::Scan> = scanned
        .into_iter()
        .flat_map(|(_, r)| r.unwrap_or_default())
        .collect();
    let body_len: Vec<usize> = bodies.iter().map(|b| b.body.as_bytes().len()).collect();
    inline::Plan::new(scans, &body_len)
}

/// Names the functions the name section leaves unnamed (a module stripped of it, or built
/// without one) from the DWARF's subprograms, matched by where their bodies start.
fn name_from_dwarf(
    meta: &mut ModuleMeta,
    dwarf: &dwarf::WasmDwarf<'_>,
    bodies: &[module::FuncInput<'_>],
) {
    let by_start: std::collections::HashMap<u64, u32> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let start = b.body.range().start.wrapping_sub(dwarf.code_start);
            (start, meta.num_imported_funcs + i as u32)
        })
        .collect();
    let mut names: std::collections::BTreeMap<u32, String> = meta
        .func_names
        .iter()
        .map(|(i, n)| (i, n.to_string()))
        .collect();
    let before = names.len();
    for (low_pc, name) in dwarf::function_names(dwarf) {
        if let Some(&index) = by_start.get(&low_pc) {
            names.entry(index).or_insert(name);
        }
    }
    if names.len() != before {
        let mut map = wasic_abi::meta::NameMap::default();
        for (i, n) in &names {
            map.push(*i, n);
        }
        meta.func_names = map;
    }
}

/// How far a compilation has come, for a progress display on another thread: how many of its
/// jobs (functions, then one trampoline and one adapter per type) are compiled; and what it
/// had to warn about without failing (e.g. unreadable DWARF).
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicUsize,
    total: AtomicUsize,
    warnings: Mutex<Vec<String>>,
}

impl Progress {
    fn warn(&self, warning: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(warning);
    }

    /// The warnings so far, each one line.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Jobs compiled so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// All jobs: 0 until the module is parsed.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// Compiles `wasm` and also returns the metadata stored in the object (for tests and tools).
pub fn compile_with_meta(
    wasm: &[u8],
    opts: &CompileOptions,
) -> Result<(Vec<u8>, ModuleMeta), CompileError> {
    compile_with_progress(wasm, opts, &Progress::default())
}

/// [`compile_with_meta`], counting the compiled jobs in `progress`.
pub fn compile_with_progress(
    wasm: &[u8],
    opts: &CompileOptions,
    progress: &Progress,
) -> Result<(Vec<u8>, ModuleMeta), CompileError> {
    let isa = isa::build_isa(opts)?;
    let module::ParsedModule {
        mut meta,
        mut env,
        bodies,
        data,
        dwarf,
    } = module::parse(wasm, opts.features.wasmparser())?;
    env.optimizations = opts.optimizations;
    // Reading the line table first: a module whose DWARF is unusable compiles without it.
    let lines = match dwarf.has_lines().then(|| dwarf::LineTable::read(&dwarf)) {
        Some(Ok(lines)) => lines,
        Some(Err(e)) => {
            progress.warn(format!(
                "its DWARF cannot be read ({e}): built without debug information"
            ));
            None
        }
        None => None,
    };
    if lines.is_some() {
        env.srcloc_base = Some(dwarf.code_start);
    }
    if dwarf.has_lines() {
        name_from_dwarf(&mut meta, &dwarf, &bodies);
    }
    env.find_static_tables(&meta, &bodies);
    env.find_libc_functions(&bodies);

    if bodies.len() != env.num_defined_funcs() {
        return Err(CompileError::Invalid {
            message: "function and code section have inconsistent lengths".into(),
            offset: wasm.len(),
        });
    }
    let layout = object::FuncLayout {
        num_defined: bodies.len() as u32,
        num_types: env.types.len() as u32,
    };
    let plan = (env.optimizations.inline && opts.opt_level == OptLevel::Speed)
        .then(|| plan_inlining(&env, &bodies));

    // Job numbers are FuncIds: defined functions, then array trampolines, then host adapters.
    let num_jobs = (layout.num_defined + 2 * layout.num_types) as usize;
    progress.total.store(num_jobs, Ordering::Relaxed);
    let mut results: Vec<Option<Result<CompiledFunc, CompileError>>> =
        (0..num_jobs).map(|_| None).collect();
    let mut inputs: Vec<Option<module::FuncInput<'_>>> = bodies.into_iter().map(Some).collect();
    let num_imported = env.num_imported_funcs;
    fn func_job<'a>(
        inputs: &mut [Option<module::FuncInput<'a>>],
        num_imported: u32,
        i: usize,
        keep: Option<bool>,
    ) -> Option<(usize, Job<'a>)> {
        let index = num_imported + i as u32;
        inputs[i]
            .take()
            .map(|input| (i, Job::Func { index, input, keep }))
    }
    let isa_ref: &dyn TargetIsa = &*isa;
    let env_ref = &env;
    let first_error = AtomicUsize::new(usize::MAX);
    let run = |jobs, bodies: Option<&inline::Bodies>| {
        run_parallel(jobs, &first_error, Worker::new, |w, job| {
            let out = w.run(isa_ref, env_ref, layout, job, bodies);
            progress.done.fetch_add(1, Ordering::Relaxed);
            out
        })
    };

    // Inline candidates first, level by level, keeping their bodies.
    let mut kept: Vec<Option<inline::Body>> = Vec::new();
    if let Some(plan) = &plan {
        kept.resize_with(layout.num_defined as usize, || None);
        for level in &plan.levels {
            let jobs: Vec<_> = level
                .iter()
                .filter_map(|&i| {
                    func_job(
                        &mut inputs,
                        num_imported,
                        i as usize,
                        Some(plan.throws[i as usize]),
                    )
                })
                .collect();
            for (i, r) in run(jobs, Some(&kept)) {
                results[i] = Some(r.map(|out| {
                    kept[i] = out.body;
                    out.func
                }));
            }
        }
    }
    // Then everything else.
    let mut jobs: Vec<(usize, Job<'_>)> = (0..inputs.len())
        .filter_map(|i| func_job(&mut inputs, num_imported, i, None))
        .collect();
    for t in 0..layout.num_types {
        jobs.push((layout.array_trampoline(t) as usize, Job::ArrayTrampoline(t)));
    }
    for t in 0..layout.num_types {
        jobs.push((layout.host_adapter(t) as usize, Job::HostAdapter(t)));
    }
    let bodies = plan.as_ref().map(|_| &kept[..]);
    for (i, r) in run(jobs, bodies) {
        results[i] = Some(r.map(|out| out.func));
    }
    drop(kept);

    // The first error in function order wins, so the reported error is deterministic.
    let mut funcs = Vec::with_capacity(num_jobs);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(f)) => funcs.push(f),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(CompileError::Codegen {
                    what: format!("job {i}"),
                    message: "not compiled because an earlier job failed".into(),
                })
            }
        }
    }
    meta.func_sizes = funcs[..layout.num_defined as usize]
        .iter()
        .map(|f| f.bytes.len() as u32)
        .collect();
    let (defined, types) = (layout.num_defined as usize, layout.num_types as usize);
    let sizes = |r: std::ops::Range<usize>| funcs[r].iter().map(|f| f.bytes.len() as u32).collect();
    meta.trampoline_sizes = sizes(defined..defined + types);
    meta.adapter_sizes = sizes(defined + types..defined + 2 * types);
    meta.traps = funcs[..layout.num_defined as usize]
        .iter()
        .map(|f| f.traps.iter().copied())
        .collect();
    meta.handlers = funcs[..layout.num_defined as usize]
        .iter()
        .map(|f| f.handlers.iter().copied())
        .collect();

    if let Some(lines) = &lines {
        meta.lines = wasic_abi::meta::LazyLines::new(&dwarf::source_lines(
            lines,
            funcs[..layout.num_defined as usize]
                .iter()
                .map(|f| &f.srclocs[..]),
        ));
    }
    let symbols = names::function_symbols(&meta);
    meta.func_names = names::demangled(&meta.func_names);
    let object = object::emit(
        isa,
        object::ObjectInput {
            symbols: &symbols,
            lines: lines.as_ref(),
            meta: &meta,
            data: &data,
            layout,
            funcs,
            static_tables: &env.static_tables,
        },
    )?;
    Ok((object, meta))
}
