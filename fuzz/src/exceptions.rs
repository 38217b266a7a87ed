//! The exception-handling oracle: a wasm-smith module with the standard exception-handling
//! proposal on (tags, `try_table` with `catch`/`catch_ref`/`catch_all`/`catch_all_ref`, `throw`,
//! `throw_ref`, `exnref` values, globals and tables) plus tail calls, run on wasic (compiled
//! to native code, loaded in this process) and on wasmtime with the same calls. wasmi, the
//! oracle of `differential`, has no exception handling; wasmtime 48 does not execute the legacy
//! `try`/`catch`/`delegate` (and wasm-smith 0.263 cannot generate it), so only the standard form
//! is tested here.
//!
//! Checked, for the instantiation (the start function may throw) and each call:
//! * the outcome: results, or trap kind (wasmtime's `Trap` mapped to `wasic_abi::Trap`), or an
//!   uncaught exception (wasic: `Trap::UncaughtException`; wasmtime: a `ThrownException` error,
//!   whose pending exception is then taken from the store);
//! * results: numbers exactly, NaNs as in `differential` (two quiet NaNs agree), funcref and
//!   externref by null-ness (externref also by payload); an `exnref` by null-ness, its tag
//!   (which exported tag it is: the module is rewritten to export every tag) and its payload,
//!   recursively;
//! * after each call: every exported memory (bytes) and non-`exnref` global, every exported
//!   table's size and the null-ness of its non-`exnref` elements. `exnref` globals and table
//!   elements are compared deeply (tag and payload) only after the last call, because reading
//!   an exnref pins it in wasic's store (the host might keep it), which would hide objects from
//!   wasic's exception collector for the rest of the run.
//!
//! Calls take arguments from the input; an `exnref` parameter gets null, an exception an
//! earlier call returned (the same object on both sides), or one the host made with an
//! exported tag and payload (`ExnRef::new` on both sides). In half the cases the module may also
//! import tags `host.tag*`, which the host defines once per store on each side.
//!
//! Hammering: in half the runs where a function threw, that function is then called again
//! and again with the fuel global reset (at most 2000) until wasic's conservative exception
//! collector has run, every outcome compared; the state is compared afterwards.
//!
//! Not judged (the run stops there): only one engine exhausting its stack (different limits),
//! and wasmtime failing with something that is neither a trap nor an exception (its GC heap
//! out of memory, say). Module-defined fuel (`ensure_termination`) is sized so that loops can
//! create well over wasic's `MIN_COLLECT` (1024) exception objects, so that its collector runs.

use crate::differential::{arb_val, clone_error, memories_agree, v_ty, vals_agree, zero, V};
use arbitrary::{Result as AResult, Unstructured};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use wasic_abi::{FuncType as WFuncType, HeapType, RefType, Trap, ValType as Ty};
use wasic_compiler::{CompileOptions, Features, OptLevel, TargetCpu};
use wasic_runtime as wr;
use wasmtime as wt;

/// Tags a module may import (half the cases). Each is defined once per store on each side, so
/// two imports of the same name are the same tag.
pub const TAG_IMPORTS_WAT: &str = r#"(module
  (import "host" "tag" (tag))
  (import "host" "tag_i32" (tag (param i32)))
  (import "host" "tag_i64_f64" (tag (param i64 f64)))
  (import "host" "tag_v128_f32" (tag (param v128 f32)))
  (import "host" "tag_exn" (tag (param exnref)))
)"#;

fn host_tag_params(module: &str, name: &str) -> Option<Vec<Ty>> {
    use Ty::*;
    Some(match (module, name) {
        ("host", "tag") => vec![],
        ("host", "tag_i32") => vec![I32],
        ("host", "tag_i64_f64") => vec![I64, F64],
        ("host", "tag_v128_f32") => vec![V128, F32],
        ("host", "tag_exn") => vec![Ty::EXNREF],
        _ => return None,
    })
}

/// An engine-neutral value: a non-exnref value as in `differential`, or an exception.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Plain(V),
    Exn(Option<Exn>),
}

/// What an exnref shows: its tag (index among the module's exported tags, in export order;
/// `None` for a tag the module does not export) and its payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Exn {
    pub tag: Option<usize>,
    pub payload: Vec<Val>,
}

fn val_agree(a: &Val, b: &Val, nan_leaks: bool) -> bool {
    match (a, b) {
        (Val::Plain(x), Val::Plain(y)) => vals_agree(x, y, nan_leaks),
        (Val::Exn(None), Val::Exn(None)) => true,
        (Val::Exn(Some(x)), Val::Exn(Some(y))) => {
            x.tag == y.tag && all_agree(&x.payload, &y.payload, nan_leaks)
        }
        _ => false,
    }
}

fn all_agree(a: &[Val], b: &[Val], nan_leaks: bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| val_agree(x, y, nan_leaks))
}

/// Payloads nest (an exnref payload of an exnref); exceptions cannot form cycles (a payload is
/// made of values that existed before the exception), but the depth read is bounded anyway.
const MAX_DEPTH: usize = 8;

fn from_wasic(v: &wr::Val, store: &wr::Store, tags: &[wr::Tag], depth: usize) -> Val {
    match v {
        wr::Val::ExnRef(None) => Val::Exn(None),
        wr::Val::ExnRef(Some(e)) => Val::Exn(Some(Exn {
            tag: tags.iter().position(|t| *t == e.tag(store)),
            payload: if depth >= MAX_DEPTH {
                vec![]
            } else {
                e.payload(store)
                    .iter()
                    .map(|p| from_wasic(p, store, tags, depth + 1))
                    .collect()
            },
        })),
        other => Val::Plain(V::from_wasic(other)),
    }
}

fn from_wasmtime(
    v: &wt::Val,
    store: &mut wt::Store<()>,
    tags: &[wt::Tag],
    depth: usize,
) -> Result<Val, String> {
    Ok(match v {
        wt::Val::I32(x) => Val::Plain(V::I32(*x)),
        wt::Val::I64(x) => Val::Plain(V::I64(*x)),
        wt::Val::F32(x) => Val::Plain(V::F32(*x)),
        wt::Val::F64(x) => Val::Plain(V::F64(*x)),
        wt::Val::V128(x) => Val::Plain(V::V128(x.as_u128())),
        wt::Val::FuncRef(f) => Val::Plain(V::FuncRef { null: f.is_none() }),
        wt::Val::ExternRef(None) => Val::Plain(V::ExternRef(None)),
        wt::Val::ExternRef(Some(r)) => {
            let k = r
                .data(&*store)
                .ok()
                .flatten()
                .and_then(|d| d.downcast_ref::<u64>().copied())
                .unwrap_or(u64::MAX);
            Val::Plain(V::ExternRef(Some(k)))
        }
        wt::Val::ExnRef(None) => Val::Exn(None),
        wt::Val::ExnRef(Some(e)) => {
            let tag = e
                .tag(&mut *store)
                .map_err(|e| format!("wasmtime exn tag: {e}"))?;
            let n = tag.ty(&*store).ty().params().len();
            let index = tags.iter().position(|t| wt::Tag::eq(t, &tag, &*store));
            let mut payload = Vec::new();
            if depth < MAX_DEPTH {
                for i in 0..n {
                    let f = e
                        .field(&mut *store, i)
                        .map_err(|e| format!("wasmtime exn field: {e}"))?;
                    payload.push(from_wasmtime(&f, store, tags, depth + 1)?);
                }
            }
            Val::Exn(Some(Exn {
                tag: index,
                payload,
            }))
        }
        other => return Err(format!("unexpected wasmtime value {other:?}")),
    })
}

/// A non-exnref value for wasmtime.
fn plain_to_wasmtime(v: V, store: &mut wt::Store<()>) -> Result<wt::Val, String> {
    Ok(match v {
        V::I32(x) => wt::Val::I32(x),
        V::I64(x) => wt::Val::I64(x),
        V::F32(x) => wt::Val::F32(x),
        V::F64(x) => wt::Val::F64(x),
        V::V128(x) => wt::Val::V128(x.into()),
        V::FuncRef { .. } => wt::Val::FuncRef(None),
        V::ExternRef(None) => wt::Val::ExternRef(None),
        V::ExternRef(Some(k)) => wt::Val::ExternRef(Some(
            wt::ExternRef::new(&mut *store, k).map_err(|e| format!("wasmtime externref: {e}"))?,
        )),
    })
}

/// A reference type by its hierarchy and nullability: values are compared by null-ness (and
/// exnrefs deeply), whatever their exact type.
fn ty_of_wasmtime(t: &wt::ValType) -> Option<Ty> {
    Some(match t {
        wt::ValType::I32 => Ty::I32,
        wt::ValType::I64 => Ty::I64,
        wt::ValType::F32 => Ty::F32,
        wt::ValType::F64 => Ty::F64,
        wt::ValType::V128 => Ty::V128,
        wt::ValType::Ref(r) => {
            let top = r.heap_type().top();
            let heap = if top.is_func() {
                HeapType::Func
            } else if top.is_extern() {
                HeapType::Extern
            } else if top.is_exn() {
                HeapType::Exn
            } else {
                return None;
            };
            Ty::Ref(RefType {
                nullable: r.is_nullable(),
                heap,
            })
        }
    })
}

fn ty_to_wasmtime(t: Ty) -> wt::ValType {
    match t {
        Ty::I32 => wt::ValType::I32,
        Ty::I64 => wt::ValType::I64,
        Ty::F32 => wt::ValType::F32,
        Ty::F64 => wt::ValType::F64,
        Ty::V128 => wt::ValType::V128,
        Ty::FUNCREF => wt::ValType::FUNCREF,
        Ty::EXTERNREF => wt::ValType::EXTERNREF,
        Ty::EXNREF => wt::ValType::EXNREF,
        Ty::Ref(r) => unreachable!("{r} is never generated"),
    }
}

/// wasmtime's trap kinds as wasic's. wasmtime has one code for "table index out of bounds"
/// where wasic tells `call_indirect`'s `UndefinedElement` apart (see [`compare`]).
fn wasmtime_trap(t: wt::Trap) -> Option<Trap> {
    Some(match t {
        wt::Trap::StackOverflow => Trap::StackOverflow,
        wt::Trap::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        wt::Trap::HeapMisaligned => Trap::HeapMisaligned,
        wt::Trap::TableOutOfBounds => Trap::TableOutOfBounds,
        wt::Trap::IndirectCallToNull => Trap::UninitializedElement,
        wt::Trap::BadSignature => Trap::BadSignature,
        wt::Trap::IntegerOverflow => Trap::IntegerOverflow,
        wt::Trap::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        wt::Trap::BadConversionToInteger => Trap::BadConversionToInteger,
        wt::Trap::UnreachableCodeReached => Trap::Unreachable,
        wt::Trap::Interrupt => Trap::Interrupted,
        wt::Trap::NullReference => Trap::NullReference,
        _ => return None,
    })
}

/// What a call (or the instantiation) did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Values(Vec<Val>),
    /// A trap; an uncaught exception is `Trap::UncaughtException` on both sides.
    Trap(Trap),
    StackOverflow,
    /// Neither: a resource or usage error.
    Error(String),
}

fn wasic_outcome(
    r: Result<Vec<wr::Val>, wr::Error>,
    store: &wr::Store,
    tags: &[wr::Tag],
) -> Outcome {
    match r {
        Ok(vals) => Outcome::Values(vals.iter().map(|v| from_wasic(v, store, tags, 0)).collect()),
        Err(wr::Error::Trap(t)) if t.trap == Trap::StackOverflow => Outcome::StackOverflow,
        Err(wr::Error::Trap(t)) => Outcome::Trap(t.trap),
        Err(e) => Outcome::Error(format!("wasic: {e}")),
    }
}

/// The outcome of a wasmtime error; an uncaught exception is taken from the store (and
/// described in `note`).
fn wasmtime_error(
    e: &wt::Error,
    store: &mut wt::Store<()>,
    tags: &[wt::Tag],
    note: &mut String,
) -> Outcome {
    if e.is::<wt::ThrownException>() {
        if let Some(exn) = store.take_pending_exception() {
            let v = from_wasmtime(&wt::Val::ExnRef(Some(exn)), store, tags, 0);
            *note = format!(" (wasmtime's uncaught exception: {v:?})");
        }
        return Outcome::Trap(Trap::UncaughtException);
    }
    match e
        .downcast_ref::<wt::Trap>()
        .copied()
        .and_then(wasmtime_trap)
    {
        Some(Trap::StackOverflow) => Outcome::StackOverflow,
        Some(t) => Outcome::Trap(t),
        None => Outcome::Error(format!("wasmtime: {e:?}")),
    }
}

/// How two outcomes relate.
enum Verdict {
    Agree,
    /// Stop comparing: only one engine exhausted its stack, or wasmtime failed with neither a
    /// trap nor an exception.
    Unjudged,
    Diverge,
}

fn compare(wasic: &Outcome, wasmtime: &Outcome, nan_leaks: bool) -> Verdict {
    match (wasic, wasmtime) {
        (Outcome::StackOverflow, Outcome::StackOverflow) => Verdict::Agree,
        (Outcome::StackOverflow, _) | (_, Outcome::StackOverflow) => Verdict::Unjudged,
        (_, Outcome::Error(_)) => Verdict::Unjudged,
        (Outcome::Values(a), Outcome::Values(b)) if all_agree(a, b, nan_leaks) => Verdict::Agree,
        // wasmtime has one trap code where wasic tells two apart: "table index out of
        // bounds" for `call_indirect`'s `UndefinedElement` too, and "null reference" for a
        // `call_ref` of null (the specification's "null function reference").
        (Outcome::Trap(a), Outcome::Trap(b))
            if a == b
                || (*a == Trap::UndefinedElement && *b == Trap::TableOutOfBounds)
                || (*a == Trap::NullFunctionReference && *b == Trap::NullReference) =>
        {
            Verdict::Agree
        }
        _ => Verdict::Diverge,
    }
}

/// The wasmtime engine, shared by all runs: signal-based traps off (explicit bounds checks),
/// so that wasmtime installs no signal handlers beside wasic's; the same 1 MiB wasm stack as
/// wasic's default `StoreConfig`.
fn engine() -> &'static wt::Engine {
    static ENGINE: OnceLock<wt::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut c = wt::Config::new();
        c.wasm_exceptions(true)
            .wasm_function_references(true)
            .wasm_gc(true)
            .wasm_tail_call(true)
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(true)
            .signals_based_traps(false)
            .max_wasm_stack(1 << 20)
            .collector(wt::Collector::DeferredReferenceCounting)
            .cranelift_opt_level(wt::OptLevel::Speed);
        wt::Engine::new(&c).expect("wasmtime engine")
    })
}

/// The wasm-smith configuration: the standard exception-handling proposal and tail calls on top
/// of WebAssembly 2.0 (SIMD in a third of the cases), small bounded memories and tables,
/// everything exported, no imports but (in half the cases) the tags of [`TAG_IMPORTS_WAT`].
/// With `typed` (target `typed_refs`), also GC, which brings typed function references
/// (`(ref $t)`, `call_ref`, `br_on_null`, ...) and recursion groups; few types per module, so
/// that most modules have only function types and wasic compiles them.
pub fn smith_config(u: &mut Unstructured<'_>, typed: bool) -> AResult<wasm_smith::Config> {
    let mut c = wasm_smith::Config {
        exceptions_enabled: true,
        tail_call_enabled: true,
        simd_enabled: u.ratio(1, 3)?,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        gc_enabled: typed,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: true,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        multibyte_array_access_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: u.ratio(3, 4)?,
        export_everything: true,
        max_memories: 1,
        max_tables: 3,
        max_memory32_bytes: 4 << 16,
        memory_max_size_required: true,
        max_table_elements: 200,
        table_max_size_required: true,
        min_tags: 1,
        max_tags: 8,
        max_funcs: 30,
        max_instructions: 200,
        min_funcs: 1,
        max_imports: 0,
        ..wasm_smith::Config::default()
    };
    if typed {
        c.max_types = u.int_in_range(1..=6)?;
    }
    if u.ratio(1, 2)? {
        c.available_imports = Some(wat::parse_str(TAG_IMPORTS_WAT).expect("tag imports wat"));
        c.max_imports = 6;
    }
    // wasm-smith picks an instruction uniformly among the valid ones, so with everything
    // allowed `throw` is rare (a few modules in a hundred throw at all). Two times in three, only
    // control, variable, integer, reference and parametric instructions (and memory or floats
    // now and then): exceptions then happen in most modules.
    if u.ratio(2, 3)? {
        use wasm_smith::InstructionKind as K;
        let mut kinds = vec![
            K::Control,
            K::Variable,
            K::NumericInt,
            K::Reference,
            K::Parametric,
        ];
        if u.ratio(1, 3)? {
            kinds.push(K::Memory);
        }
        if u.ratio(1, 3)? {
            kinds.push(K::Numeric);
        }
        if u.ratio(1, 4)? {
            kinds.push(K::Table);
        }
        c.allowed_instructions = wasm_smith::InstructionKinds::new(&kinds);
    }
    Ok(c)
}

/// A generated test case.
pub struct Generated {
    pub wasm: Vec<u8>,
    /// Generated with `canonicalize_nans`: no NaN bits can leak into memory or integers.
    pub canonical_nans: bool,
    /// How wasic compiles it.
    pub opts: CompileOptions,
    /// The name the fuel global of `ensure_termination` is exported as, and its initial value.
    pub fuel: Option<(String, u32)>,
    /// Generated with GC on (see [`smith_config`]).
    pub typed: bool,
}

/// Builds a module from the front of the input; the rest drives the calls. The module is
/// rewritten to export its tags (wasm-smith's `export_everything` leaves them out) and its fuel
/// global.
pub fn generate(u: &mut Unstructured<'_>, typed: bool) -> AResult<Generated> {
    let config = smith_config(u, typed)?;
    let canonical_nans = config.canonicalize_nans;
    let mut module = wasm_smith::Module::new(config, u)?;
    // Fuel is shared by all calls; up to 20000 lets a throwing loop make several thousand
    // exception objects, past wasic's collection threshold.
    let fuel = if u.ratio(1, 2)? {
        u.int_in_range(50..=2000)?
    } else {
        u.int_in_range(2000..=20000)?
    };
    let opts = CompileOptions {
        target_cpu: match u.int_in_range(0..=7u8)? {
            0..=3 => TargetCpu::X86_64V2,
            4..=6 => TargetCpu::X86_64V3,
            _ => TargetCpu::Native,
        },
        opt_level: if u.ratio(1, 4)? {
            OptLevel::None
        } else {
            OptLevel::Speed
        },
        features: Features::Latest,
        // Each whole-module optimization is off in a quarter of the cases, so both of its
        // paths are compared against the oracle.
        optimizations: crate::arb_optimizations(u)?,
    };
    let fuel_global = module
        .ensure_termination(fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let (wasm, fuel_name) = export_tags(&module.to_bytes(), Some(fuel_global))
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(Generated {
        wasm,
        canonical_nans,
        opts,
        fuel: fuel_name.map(|n| (n, fuel)),
        typed,
    })
}

/// Adds an export `tag<i>` for every tag of the module, imported or defined, and `fuel` for
/// global `fuel_global` (names made unique with `_`s; the fuel global's is returned).
pub fn export_tags(
    wasm: &[u8],
    fuel_global: Option<u32>,
) -> Result<(Vec<u8>, Option<String>), String> {
    use wasmparser::{Parser, Payload};
    let err = |e: wasmparser::BinaryReaderError| e.to_string();
    let mut tags = 0u32;
    let mut names = std::collections::HashSet::new();
    for p in Parser::new(0).parse_all(wasm) {
        match p.map_err(err)? {
            Payload::ImportSection(s) => {
                for i in s.into_imports() {
                    if let wasmparser::TypeRef::Tag(_) = i.map_err(err)?.ty {
                        tags += 1;
                    }
                }
            }
            Payload::TagSection(s) => tags += s.count(),
            Payload::ExportSection(s) => {
                for e in s {
                    names.insert(e.map_err(err)?.name.to_string());
                }
            }
            _ => {}
        }
    }
    let mut out = wasm_encoder::Module::new();
    let mut exported = false;
    let mut fuel_name = None;
    for p in Parser::new(0).parse_all(wasm) {
        let p = p.map_err(err)?;
        if let Payload::ExportSection(s) = &p {
            let mut sec = wasm_encoder::ExportSection::new();
            for e in s.clone() {
                let e = e.map_err(err)?;
                use wasm_encoder::ExportKind as K;
                use wasmparser::ExternalKind as X;
                let kind = match e.kind {
                    X::Func | X::FuncExact => K::Func,
                    X::Table => K::Table,
                    X::Memory => K::Memory,
                    X::Global => K::Global,
                    X::Tag => K::Tag,
                };
                sec.export(e.name, kind, e.index);
            }
            let unique = |mut name: String| {
                while names.contains(&name) {
                    name.push('_');
                }
                name
            };
            for i in 0..tags {
                sec.export(&unique(format!("tag{i}")), wasm_encoder::ExportKind::Tag, i);
            }
            if let Some(g) = fuel_global {
                let name = unique(FUEL.into());
                sec.export(&name, wasm_encoder::ExportKind::Global, g);
                fuel_name = Some(name);
            }
            out.section(&sec);
            exported = true;
        } else if let Some((id, range)) = p.as_section() {
            out.section(&wasm_encoder::RawSection {
                id,
                data: &wasm[range.start as usize..range.end as usize],
            });
        }
    }
    if !exported && (tags > 0 || fuel_global.is_some()) {
        return Err("no export section".into());
    }
    Ok((out.finish(), fuel_name))
}

/// An export of the module, by kind, with wasic's types.
enum Export {
    Func { name: String, params: Vec<Ty> },
    Memory(String),
    Global(String, Ty),
    Table(String, Ty),
    Tag,
}

/// An argument: a non-exnref value, or an exnref (null or an index into the exception pool).
#[derive(Clone, Copy, Debug)]
enum Arg {
    Plain(V),
    Exn(Option<usize>),
}

/// Everything that happened, for the repro tool and divergence reports.
#[derive(Default)]
pub struct Report {
    pub log: String,
    /// Calls made (both engines).
    pub calls: usize,
    /// The run stopped early, unjudged (see [`Verdict::Unjudged`]).
    pub unjudged: bool,
    /// Most exception objects wasic's store held at once, and whether their number ever went
    /// down (its collector reclaimed some).
    pub max_exceptions: usize,
    pub collected: bool,
    /// wasic refused the module as unsupported (GC), which only `typed` runs allow.
    pub unsupported: bool,
}

/// Most calls made on one module.
const MAX_CALLS: usize = 30;

/// The export name of the fuel global (with `_`s appended if the module has the name already).
const FUEL: &str = "fuel";

/// Both sides of one run.
struct Sides {
    cstore: wr::Store,
    cinst: wr::Instance,
    ctags: Vec<wr::Tag>,
    wstore: wt::Store<()>,
    winst: wt::Instance,
    wtags: Vec<wt::Tag>,
    /// Exceptions both sides know: returned by calls or made by the host.
    pool: Vec<(wr::ExnRef, wt::Rooted<wt::ExnRef>)>,
}

/// Runs the module on both engines with calls drawn from `u` (each exported function once with
/// zero-ish arguments when `u` is empty), then perhaps hammers one (needs `fuel`: the name of
/// the exported fuel global and its initial value). `Err` is a divergence, described.
pub fn check(
    wasm: &[u8],
    canonical_nans: bool,
    opts: &CompileOptions,
    fuel: Option<(&str, u32)>,
    typed: bool,
    u: &mut Unstructured<'_>,
) -> Result<Report, String> {
    let nan_leaks = !canonical_nans;
    let mut report = Report::default();
    macro_rules! log {
        ($($t:tt)*) => { let _ = writeln!(report.log, $($t)*); };
    }

    // wasmtime is the reference: a module it rejects is no test case.
    let engine = engine();
    let wmodule = match wt::Module::new(engine, wasm) {
        Ok(m) => m,
        Err(e) => {
            log!("wasmtime rejects the module: {e:?}");
            return Ok(report);
        }
    };
    let object = match wasic_compiler::compile(wasm, opts) {
        Ok(o) => o,
        // With GC in wasm-smith's configuration (`typed`), a module with struct or array
        // types or the `any` hierarchy is one wasic refuses as unsupported: no test case.
        Err(e @ wasic_compiler::CompileError::Unsupported { .. }) if typed => {
            log!("wasic does not support the module: {e}");
            report.unsupported = true;
            return Ok(report);
        }
        Err(e) => return Err(format!("wasic does not compile a module wasmtime accepts: {e}")),
    };
    // SAFETY: `object` was just produced by `wasic_compiler::compile`.
    let cmodule = unsafe { wr::Module::from_object(&object) }
        .map_err(|e| format!("wasic does not load its own object: {e}"))?;

    // Imports: only the host tags.
    let mut cstore = wr::Store::default();
    let mut wstore = wt::Store::new(engine, ());
    let mut host_tags: Vec<(String, wr::Tag, wt::Tag)> = Vec::new();
    let mut cimports = Vec::new();
    let mut wimports = Vec::new();
    for imp in wmodule.imports() {
        let (m, n) = (imp.module(), imp.name());
        let Some(params) = host_tag_params(m, n) else {
            log!("unknown import {m}.{n}: skipped");
            return Ok(report);
        };
        if !host_tags.iter().any(|(k, _, _)| k == n) {
            let ct = wr::Tag::new(
                &mut cstore,
                WFuncType {
                    params: params.clone(),
                    results: vec![],
                },
            )
            .map_err(|e| format!("wasic tag: {e}"))?;
            let fty = wt::FuncType::new(engine, params.iter().map(|t| ty_to_wasmtime(*t)), []);
            let wtag = wt::Tag::new(&mut wstore, &wt::TagType::new(fty))
                .map_err(|e| format!("wasmtime tag: {e:?}"))?;
            host_tags.push((n.to_string(), ct, wtag));
        }
        let (_, ct, wtag) = host_tags.iter().find(|(k, _, _)| k == n).unwrap();
        cimports.push(wr::Extern::Tag(*ct));
        wimports.push(wt::Extern::Tag(*wtag));
    }

    let mut exports = Vec::new();
    for e in wmodule.exports() {
        let name = e.name().to_string();
        let types = |ts: &mut dyn Iterator<Item = wt::ValType>| -> Option<Vec<Ty>> {
            ts.map(|t| ty_of_wasmtime(&t)).collect()
        };
        exports.push(match e.ty() {
            wt::ExternType::Func(ft) => {
                let (Some(params), Some(_)) = (types(&mut ft.params()), types(&mut ft.results()))
                else {
                    log!("export {name}: unsupported type");
                    return Ok(report);
                };
                // No argument of a non-nullable reference type can be made up here: such a
                // function is only called from the module's own code.
                if params.iter().any(|t| matches!(t, Ty::Ref(r) if !r.nullable)) {
                    log!("export {name}: takes a non-nullable reference, not called");
                    continue;
                }
                Export::Func { name, params }
            }
            wt::ExternType::Memory(_) => Export::Memory(name),
            wt::ExternType::Global(g) => match ty_of_wasmtime(g.content()) {
                Some(t) => Export::Global(name, t),
                None => return Ok(report),
            },
            wt::ExternType::Table(t) => {
                match ty_of_wasmtime(&wt::ValType::Ref(t.element().clone())) {
                    Some(t) => Export::Table(name, t),
                    None => return Ok(report),
                }
            }
            wt::ExternType::Tag(_) => Export::Tag,
        });
    }

    // Instantiation (segments and the start function, which may throw).
    let cinst = wr::Instance::new(&mut cstore, &cmodule, &cimports);
    let winst = wt::Instance::new(&mut wstore, &wmodule, &wimports);
    let mut note = String::new();
    let co = match &cinst {
        Ok(_) => Outcome::Values(vec![]),
        Err(e) => wasic_outcome(Err(clone_error(e)), &cstore, &[]),
    };
    let wo = match &winst {
        Ok(_) => Outcome::Values(vec![]),
        Err(e) => wasmtime_error(e, &mut wstore, &[], &mut note),
    };
    log!("instantiate: wasic {co:?}, wasmtime {wo:?}{note}");
    match compare(&co, &wo, nan_leaks) {
        Verdict::Agree => {}
        Verdict::Unjudged => {
            report.unjudged = true;
            return Ok(report);
        }
        Verdict::Diverge => {
            return Err(format!(
                "instantiation differs: wasic {co:?}, wasmtime {wo:?}\n{}",
                report.log
            ))
        }
    }
    let (Ok(cinst), Ok(winst)) = (cinst, winst) else {
        return Ok(report);
    };

    // Exported tags, in export order, on both sides.
    let mut ctags = Vec::new();
    let mut wtags = Vec::new();
    for e in wmodule.exports() {
        if let wt::ExternType::Tag(_) = e.ty() {
            let Some(wr::Extern::Tag(ct)) = cinst.get_export(e.name()) else {
                return Err(format!("wasic lacks tag export {}", e.name()));
            };
            let wtag = winst
                .get_tag(&mut wstore, e.name())
                .ok_or("wasmtime lacks a tag export")?;
            ctags.push(ct);
            wtags.push(wtag);
        }
    }
    let mut s = Sides {
        cstore,
        cinst,
        ctags,
        wstore,
        winst,
        wtags,
        pool: Vec::new(),
    };
    compare_state(&mut s, &exports, nan_leaks, false)
        .map_err(|e| format!("after instantiation: {e}\n{}", report.log))?;

    // A few exceptions made by the host with exported tags, for exnref parameters.
    if !s.ctags.is_empty() {
        let n = u.int_in_range(0..=3u8).unwrap_or(0);
        for _ in 0..n {
            let i = u.choose_index(s.ctags.len()).unwrap_or(0);
            host_exception(&mut s, i, u)?;
        }
    }

    let funcs: Vec<(&str, &[Ty])> = exports
        .iter()
        .filter_map(|e| match e {
            Export::Func { name, params, .. } => Some((name.as_str(), params.as_slice())),
            _ => None,
        })
        .collect();
    // Functions whose calls made wasic exception objects, returned exnrefs or threw.
    let mut throwing = Vec::new();
    for n in 0..MAX_CALLS {
        if funcs.is_empty() || (u.is_empty() && n >= funcs.len()) {
            break;
        }
        let i = if u.is_empty() {
            n
        } else {
            u.choose_index(funcs.len()).unwrap_or(0)
        };
        let (name, params) = funcs[i];
        let args: Vec<Arg> = params
            .iter()
            .map(|t| arb_arg(u, *t, s.pool.len()))
            .collect();
        report.calls += 1;
        let both = convert_args(&mut s, &args)?;
        let c = call_both(&mut s, name, &both, &mut report, true)?;
        log!(
            "call {name}{args:?}: wasic {:?}, wasmtime {:?}{}",
            c.wasic,
            c.wasmtime,
            c.note
        );
        match compare(&c.wasic, &c.wasmtime, nan_leaks) {
            Verdict::Agree => {}
            Verdict::Unjudged => {
                report.unjudged = true;
                return Ok(report);
            }
            Verdict::Diverge => {
                return Err(format!(
                    "call {n} of `{name}` differs: wasic {:?}, wasmtime {:?}{}\n{}",
                    c.wasic, c.wasmtime, c.note, report.log
                ))
            }
        }
        match c.wasic {
            // Both exhausted their stacks, at different depths: states may differ.
            Outcome::StackOverflow | Outcome::Error(_) => return Ok(report),
            Outcome::Trap(Trap::UncaughtException) => throwing.push(i),
            _ if c.made_exceptions => throwing.push(i),
            _ => {}
        }
        compare_state(&mut s, &exports, nan_leaks, false)
            .map_err(|e| format!("after call {n} of `{name}`: {e}\n{}", report.log))?;
    }

    // Hammering, in half the runs where a function threw: one of those functions called again
    // and again (the fuel global reset before each call) until wasic's store has made more than
    // its collection threshold of exception objects and its collector has run, while exnrefs
    // live in globals, tables, the host's pool and payloads; every outcome is compared, and the
    // state (deeply, at the end) afterwards.
    if let (Some((fuel_name, fuel)), false) = (fuel, throwing.is_empty()) {
        if u.ratio(1, 2).unwrap_or(false) {
            let i = throwing[u.choose_index(throwing.len()).unwrap_or(0)];
            let (name, params) = funcs[i];
            let args: Vec<Arg> = params
                .iter()
                .map(|t| arb_arg(u, *t, s.pool.len()))
                .collect();
            let times = u.int_in_range(1100..=2600u32).unwrap_or(1100);
            let cg = s
                .cinst
                .get_global(fuel_name)
                .ok_or("wasic lacks the fuel global")?;
            let wg = s
                .winst
                .get_global(&mut s.wstore, fuel_name)
                .ok_or("wasmtime lacks the fuel global")?;
            // Each call gets at most 2000 fuel, and hammering stops soon after wasic's collector
            // has run: a call can throw in a loop thousands of times, and wasmtime's throws and
            // GC are slow enough for thousands of such calls to take minutes.
            let fuel = fuel.min(2000) as i32;
            let both = convert_args(&mut s, &args)?;
            log!("hammer {name}{args:?} up to {times} times");
            let mut after_collection = 0;
            for k in 0..times {
                if report.collected {
                    after_collection += 1;
                    if after_collection > 16 {
                        log!("  stopped after {k} calls");
                        break;
                    }
                }
                cg.set(&mut s.cstore, wr::Val::I32(fuel))
                    .map_err(|e| format!("wasic fuel: {e}"))?;
                wg.set(&mut s.wstore, wt::Val::I32(fuel))
                    .map_err(|e| format!("wasmtime fuel: {e:?}"))?;
                report.calls += 1;
                let c = call_both(&mut s, name, &both, &mut report, false)?;
                match compare(&c.wasic, &c.wasmtime, nan_leaks) {
                    Verdict::Agree => {}
                    Verdict::Unjudged => {
                        report.unjudged = true;
                        log!("  call {k}: wasic {:?}, wasmtime {:?}", c.wasic, c.wasmtime);
                        return Ok(report);
                    }
                    Verdict::Diverge => {
                        let (cw, ww) = (&c.wasic, &c.wasmtime);
                        return Err(format!(
                            "hammered call {k} of `{name}` differs: wasic {cw:?}, wasmtime {ww:?}{}\n{}",
                            c.note, report.log
                        ));
                    }
                }
                if let Outcome::StackOverflow | Outcome::Error(_) = c.wasic {
                    return Ok(report);
                }
            }
            log!(
                "  all agree; wasic held up to {} exception objects{}",
                report.max_exceptions,
                if report.collected { ", collected" } else { "" }
            );
            compare_state(&mut s, &exports, nan_leaks, false)
                .map_err(|e| format!("after hammering `{name}`: {e}\n{}", report.log))?;
        }
    }
    compare_state(&mut s, &exports, nan_leaks, true)
        .map_err(|e| format!("at the end: {e}\n{}", report.log))?;
    Ok(report)
}

/// The outcomes of one call on both engines.
struct Called {
    wasic: Outcome,
    wasmtime: Outcome,
    /// wasmtime's uncaught exception, described.
    note: String,
    /// wasic's store holds more exception objects after the call than before, or the call
    /// returned an exnref.
    made_exceptions: bool,
}

/// The arguments for both sides.
fn convert_args(s: &mut Sides, args: &[Arg]) -> Result<(Vec<wr::Val>, Vec<wt::Val>), String> {
    let cargs = args
        .iter()
        .map(|a| match *a {
            Arg::Plain(v) => v.to_wasic(),
            Arg::Exn(p) => wr::Val::ExnRef(p.map(|k| s.pool[k].0)),
        })
        .collect();
    let mut wargs = Vec::new();
    for a in args {
        wargs.push(match *a {
            Arg::Plain(v) => plain_to_wasmtime(v, &mut s.wstore)?,
            Arg::Exn(p) => wt::Val::ExnRef(p.map(|k| s.pool[k].1)),
        });
    }
    Ok((cargs, wargs))
}

/// Calls export `name` with `args` (converted) on both sides; with `keep`, exnrefs both return join the pool.
fn call_both(
    s: &mut Sides,
    name: &str,
    (cargs, wargs): &(Vec<wr::Val>, Vec<wt::Val>),
    report: &mut Report,
    keep: bool,
) -> Result<Called, String> {
    let cf = s.cinst.get_func(name).ok_or("wasic lacks an export")?;
    let before = s.cstore.num_exceptions();
    let cr = cf.call(&mut s.cstore, cargs);
    let after = s.cstore.num_exceptions();
    report.max_exceptions = report.max_exceptions.max(before).max(after);
    if after < before {
        report.collected = true;
    }
    let creturned: Vec<wr::ExnRef> = match &cr {
        Ok(vals) => vals
            .iter()
            .filter_map(|v| match v {
                wr::Val::ExnRef(Some(e)) => Some(*e),
                _ => None,
            })
            .collect(),
        Err(_) => vec![],
    };
    let made_exceptions = after > before || !creturned.is_empty();
    let co = wasic_outcome(cr, &s.cstore, &s.ctags);

    let wf = s
        .winst
        .get_func(&mut s.wstore, name)
        .ok_or("wasmtime lacks an export")?;
    let mut outs = vec![wt::Val::I32(0); wf.ty(&s.wstore).results().len()];
    let mut note = String::new();
    let wo = match wf.call(&mut s.wstore, wargs, &mut outs) {
        Ok(()) => {
            let mut vals = Vec::new();
            for v in &outs {
                vals.push(from_wasmtime(v, &mut s.wstore, &s.wtags, 0)?);
            }
            Outcome::Values(vals)
        }
        Err(e) => wasmtime_error(&e, &mut s.wstore, &s.wtags, &mut note),
    };
    if keep && matches!((&co, &wo), (Outcome::Values(_), Outcome::Values(_))) {
        // Exceptions both sides returned become arguments of later calls.
        let wreturned = outs.iter().filter_map(|v| match v {
            wt::Val::ExnRef(Some(e)) => Some(*e),
            _ => None,
        });
        for (c, w) in creturned.into_iter().zip(wreturned) {
            s.pool.push((c, w));
        }
    }
    Ok(Called {
        wasic: co,
        wasmtime: wo,
        note,
        made_exceptions,
    })
}

/// Makes an exception with exported tag `i` and a payload from `u` on both sides and adds it to
/// the pool. Exnref payload values are null or pool members.
fn host_exception(s: &mut Sides, i: usize, u: &mut Unstructured<'_>) -> Result<(), String> {
    let ty = s.ctags[i].ty();
    let mut args = Vec::with_capacity(ty.params.len());
    for t in &ty.params {
        args.push(match *t {
            // No value of a non-nullable reference type can be made up here.
            Ty::Ref(r) if !r.nullable => return Ok(()),
            // Of a nullable reference type below its hierarchy's top, only null.
            Ty::Ref(r) if r != r.top() => match r.heap.top() {
                HeapType::Exn => Arg::Exn(None),
                HeapType::Extern => Arg::Plain(V::ExternRef(None)),
                _ => Arg::Plain(V::FuncRef { null: true }),
            },
            t => arb_arg(u, t, s.pool.len()),
        });
    }
    let cargs: Vec<wr::Val> = args
        .iter()
        .map(|a| match *a {
            Arg::Plain(v) => v.to_wasic(),
            Arg::Exn(p) => wr::Val::ExnRef(p.map(|k| s.pool[k].0)),
        })
        .collect();
    let mut wargs = Vec::new();
    for a in &args {
        wargs.push(match *a {
            Arg::Plain(v) => plain_to_wasmtime(v, &mut s.wstore)?,
            Arg::Exn(p) => wt::Val::ExnRef(p.map(|k| s.pool[k].1)),
        });
    }
    let c = wr::ExnRef::new(&mut s.cstore, s.ctags[i], &cargs)
        .map_err(|e| format!("wasic ExnRef::new: {e}"))?;
    let wtag = s.wtags[i];
    let tty = wtag.ty(&s.wstore);
    let ety = wt::ExnType::from_tag_type(&tty).map_err(|e| format!("wasmtime exn type: {e:?}"))?;
    let pre = wt::ExnRefPre::new(&mut s.wstore, ety);
    let w = wt::ExnRef::new(&mut s.wstore, &pre, &wtag, &wargs)
        .map_err(|e| format!("wasmtime ExnRef::new: {e:?}"))?;
    s.pool.push((c, w));
    Ok(())
}

fn arb_arg(u: &mut Unstructured<'_>, t: Ty, pool: usize) -> Arg {
    match t {
        Ty::EXNREF => Arg::Exn(match u.choose_index(pool + 1) {
            Ok(k) if k < pool => Some(k),
            _ => None,
        }),
        t => {
            let v = arb_val(u, t).unwrap_or(V::I32(0));
            Arg::Plain(if v_ty(&v) == t { v } else { zero(t) })
        }
    }
}

/// Compares exported memories, globals and tables; `exnref` ones only when `deep` (see the
/// module documentation).
fn compare_state(
    s: &mut Sides,
    exports: &[Export],
    nan_leaks: bool,
    deep: bool,
) -> Result<(), String> {
    for e in exports {
        match e {
            Export::Func { .. } | Export::Tag => {}
            Export::Memory(name) => {
                let cm = s.cinst.get_memory(name).ok_or("wasic lacks a memory")?;
                let wm = s
                    .winst
                    .get_memory(&mut s.wstore, name)
                    .ok_or("wasmtime lacks a memory")?;
                memories_agree(cm.data(&s.cstore), wm.data(&s.wstore), nan_leaks)
                    .map_err(|e| format!("memory `{name}`: {e}"))?;
            }
            Export::Global(name, ty) => {
                if *ty == Ty::EXNREF && !deep {
                    continue;
                }
                let cg = s.cinst.get_global(name).ok_or("wasic lacks a global")?;
                let wg = s
                    .winst
                    .get_global(&mut s.wstore, name)
                    .ok_or("wasmtime lacks a global")?;
                let a = from_wasic(&cg.get(&s.cstore), &s.cstore, &s.ctags, 0);
                let wv = wg.get(&mut s.wstore);
                let b = from_wasmtime(&wv, &mut s.wstore, &s.wtags, 0)?;
                if !val_agree(&a, &b, nan_leaks) {
                    return Err(format!("global `{name}`: wasic {a:?}, wasmtime {b:?}"));
                }
            }
            Export::Table(name, ty) => {
                let Some(wr::Extern::Table(ct)) = s.cinst.get_export(name) else {
                    return Err("wasic lacks a table".into());
                };
                let wt_ = s
                    .winst
                    .get_table(&mut s.wstore, name)
                    .ok_or("wasmtime lacks a table")?;
                let (cs, ws) = (ct.size(&s.cstore), wt_.size(&s.wstore));
                if cs != ws {
                    return Err(format!("table `{name}` size: wasic {cs}, wasmtime {ws}"));
                }
                if *ty == Ty::EXNREF && !deep {
                    continue;
                }
                for i in 0..cs {
                    let a = ct.get(&s.cstore, i).ok_or("wasic table get")?;
                    let b = wt_.get(&mut s.wstore, i).ok_or("wasmtime table get")?;
                    let (a, b) = if *ty == Ty::EXNREF {
                        let wv = wt::Val::ExnRef(b.as_exn().flatten().copied());
                        (
                            from_wasic(&a, &s.cstore, &s.ctags, 0),
                            from_wasmtime(&wv, &mut s.wstore, &s.wtags, 0)?,
                        )
                    } else {
                        (
                            Val::Plain(V::FuncRef {
                                null: matches!(
                                    a,
                                    wr::Val::FuncRef(None)
                                        | wr::Val::ExternRef(None)
                                        | wr::Val::ExnRef(None)
                                ),
                            }),
                            Val::Plain(V::FuncRef { null: b.is_null() }),
                        )
                    };
                    if !val_agree(&a, &b, nan_leaks) {
                        return Err(format!("table `{name}`[{i}]: wasic {a:?}, wasmtime {b:?}"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Counters over all runs of the fuzz target, printed now and then: how many modules threw
/// at all, and in how many wasic's exception collector reclaimed objects.
static RUNS: AtomicUsize = AtomicUsize::new(0);
static WITH_EXCEPTIONS: AtomicUsize = AtomicUsize::new(0);
static WITH_COLLECTION: AtomicUsize = AtomicUsize::new(0);
static UNJUDGED: AtomicUsize = AtomicUsize::new(0);

static UNSUPPORTED: AtomicUsize = AtomicUsize::new(0);
static WITH_TYPED_OPS: AtomicUsize = AtomicUsize::new(0);

/// Whether `wasm` has any of the typed function reference instructions (for the statistics).
fn uses_typed_ops(wasm: &[u8]) -> bool {
    use wasmparser::{Operator as O, Parser, Payload};
    Parser::new(0).parse_all(wasm).any(|p| match p {
        Ok(Payload::CodeSectionEntry(body)) => body.get_operators_reader().is_ok_and(|r| {
            r.into_iter().any(|op| {
                matches!(
                    op,
                    Ok(O::CallRef { .. }
                        | O::ReturnCallRef { .. }
                        | O::BrOnNull { .. }
                        | O::BrOnNonNull { .. }
                        | O::RefAsNonNull)
                )
            })
        }),
        _ => false,
    })
}

/// The `exceptions` fuzz target.
pub fn fuzz_one(data: &[u8]) {
    run(data, false)
}

/// The `typed_refs` fuzz target: the same with GC on in wasm-smith (typed function references).
pub fn fuzz_one_typed(data: &[u8]) {
    run(data, true)
}

fn run(data: &[u8], typed: bool) {
    let target = if typed { "typed_refs" } else { "exceptions" };
    let mut u = Unstructured::new(data);
    let Ok(g) = generate(&mut u, typed) else { return };
    let fuel = g.fuel.as_ref().map(|(n, f)| (n.as_str(), *f));
    match check(&g.wasm, g.canonical_nans, &g.opts, fuel, typed, &mut u) {
        Ok(r) => {
            let runs = RUNS.fetch_add(1, Relaxed) + 1;
            if r.max_exceptions > 0 {
                WITH_EXCEPTIONS.fetch_add(1, Relaxed);
            }
            if r.collected {
                WITH_COLLECTION.fetch_add(1, Relaxed);
            }
            if r.unsupported {
                UNSUPPORTED.fetch_add(1, Relaxed);
            } else if typed && uses_typed_ops(&g.wasm) {
                WITH_TYPED_OPS.fetch_add(1, Relaxed);
            }
            if r.unjudged && UNJUDGED.fetch_add(1, Relaxed) < 5 {
                // Why, for the first few (the last line of the log is the call that stopped it).
                let last = r.log.lines().last().unwrap_or("");
                let last: String = last.chars().take(400).collect();
                eprintln!("{target}: unjudged: {last}");
            }
            if runs.is_power_of_two() || runs.is_multiple_of(10_000) {
                eprintln!(
                    "{target} stats: {runs} modules run, {} made exception objects, {} saw \
                     wasic's collector reclaim some, {} stopped unjudged, {} unsupported by \
                     wasic (GC), {} run with typed-reference instructions",
                    WITH_EXCEPTIONS.load(Relaxed),
                    WITH_COLLECTION.load(Relaxed),
                    UNJUDGED.load(Relaxed),
                    UNSUPPORTED.load(Relaxed),
                    WITH_TYPED_OPS.load(Relaxed)
                );
            }
        }
        Err(msg) => panic!(
            "DIVERGENCE (canonical_nans={}, {:?}): {msg}\nmodule:\n{}",
            g.canonical_nans,
            g.opts,
            crate::differential::wat(&g.wasm)
        ),
    }
}
