//! wasic's compiler: validates a WebAssembly module and compiles it into one relocatable object.
//!
//! Pipeline: [`module`] parses and validates the module sections and fills the metadata;
//! every defined function is validated and translated to Cranelift IR ([`translate`]) and
//! compiled on a pool of worker threads, together with the per-type trampolines
//! ([`trampolines`]); [`object`] writes code, metadata and the `wasic_module` descriptor into an
//! ELF object with no undefined symbols. The contract with the runtime is the `wasic-abi` crate.

mod entry;
mod error;
mod isa;
pub use entry::entry_object;
pub use isa::required_cpu_features;
mod module;
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
}

impl Features {
    /// The wasmparser feature set.
    pub fn wasmparser(self) -> wasmparser::WasmFeatures {
        match self {
            Features::Latest => validate_features(),
            Features::Wasm2 => wasmparser::WasmFeatures::WASM2,
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
}

/// The WebAssembly features wasic accepts: WebAssembly 2.0 (mutable globals, sign extension,
/// saturating conversions, multi-value, bulk memory, reference types, fixed-width SIMD) plus
/// these WebAssembly 3.0 proposals: extended constant expressions, multi-memory,
/// tail calls, memory64 (64-bit memories; 64-bit tables are rejected), relaxed SIMD (with one
/// deterministic result, see `translate/simd.rs`), exception handling (the standard `try_table`
/// form and the legacy `try`/`catch`/`delegate` form, see `translate/exceptions.rs`).
///
/// Everything else of 3.0 (GC, function references, threads, ...) stays disabled,
/// so wasmparser rejects it with an error naming the proposal ("... support is not enabled").
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
}

/// Compiles a WebAssembly binary to an ELF relocatable object.
pub fn compile(wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, CompileError> {
    compile_with_meta(wasm, opts).map(|(object, _)| object)
}

/// One compiled function, ready to be placed in the object.
pub(crate) struct CompiledFunc {
    pub bytes: Vec<u8>,
    pub relocs: Vec<ModuleReloc>,
    pub traps: Vec<TrapSite>,
    pub handlers: Vec<HandlerSite>,
    pub alignment: u64,
}

/// What a worker compiles.
enum Job<'a> {
    /// Defined function with this function index.
    Func(u32, module::FuncInput<'a>),
    ArrayTrampoline(u32),
    HostAdapter(u32),
}

/// Per-thread reusable state.
struct Worker {
    ctx: Context,
    tcx: translate::TranslatorContext,
    fctx: FunctionBuilderContext,
}

impl Worker {
    fn run(
        &mut self,
        isa: &dyn TargetIsa,
        env: &module::ModuleEnv,
        layout: object::FuncLayout,
        job: Job<'_>,
    ) -> Result<CompiledFunc, CompileError> {
        self.ctx.clear();
        let frontend = isa.frontend_config();
        let (func_id, what) = match job {
            Job::Func(index, input) => {
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
        // `try_call` sites: wasic's exception tables have exactly one catch-all entry per call.
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
        Ok(CompiledFunc {
            bytes: buffer.data().to_vec(),
            relocs,
            traps,
            handlers,
            alignment: u64::from(buffer.min_alignment.max(isa.function_alignment().preferred)),
        })
    }
}

/// Compiles `wasm` and also returns the metadata stored in the object (for tests and tools).
pub fn compile_with_meta(
    wasm: &[u8],
    opts: &CompileOptions,
) -> Result<(Vec<u8>, ModuleMeta), CompileError> {
    let isa = isa::build_isa(opts)?;
    let module::ParsedModule {
        mut meta,
        mut env,
        bodies,
        data,
    } = module::parse(wasm, opts.features.wasmparser())?;
    env.optimizations = opts.optimizations;
    env.find_static_tables(&meta, &bodies);

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
    let mut jobs: Vec<(usize, Job<'_>)> = Vec::new();
    for (i, input) in bodies.into_iter().enumerate() {
        jobs.push((
            jobs.len(),
            Job::Func(env.num_imported_funcs + i as u32, input),
        ));
    }
    for t in 0..layout.num_types {
        jobs.push((jobs.len(), Job::ArrayTrampoline(t)));
    }
    for t in 0..layout.num_types {
        jobs.push((jobs.len(), Job::HostAdapter(t)));
    }
    let num_jobs = jobs.len();

    // Workers pull jobs from a shared queue; results are put back in job (= FuncId) order.
    let queue = Mutex::new(jobs.into_iter());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(num_jobs.max(1));
    let mut results: Vec<Option<Result<CompiledFunc, CompileError>>> =
        (0..num_jobs).map(|_| None).collect();
    let isa_ref: &dyn TargetIsa = &*isa;
    let env_ref = &env;
    let outputs: Vec<Vec<(usize, Result<CompiledFunc, CompileError>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let queue = &queue;
                s.spawn(move || {
                    let mut worker = Worker {
                        ctx: Context::new(),
                        tcx: Default::default(),
                        fctx: Default::default(),
                    };
                    let mut out = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                        let Some((i, job)) = next else { break };
                        let r = worker.run(isa_ref, env_ref, layout, job);
                        let failed = r.is_err();
                        out.push((i, r));
                        if failed {
                            break;
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for (i, r) in outputs.into_iter().flatten() {
        results[i] = Some(r);
    }
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

    let object = object::emit(
        isa,
        object::ObjectInput {
            meta: &meta,
            data: &data,
            layout,
            funcs,
            static_tables: &env.static_tables,
        },
    )?;
    Ok((object, meta))
}
