//! The differential oracle: one WebAssembly module, instantiated and called on wasic (compiled
//! to native code, loaded in this process) and on the wasmi interpreter with the same imports
//! and the same calls. Everything observable must agree: instantiation success or trap, each
//! call's results or trap kind, the log of host-function calls, and after each call the exported
//! memories, globals and tables.
//!
//! Allowed differences, from the specification:
//! * NaN results: two NaNs agree when both are arithmetic (quiet) NaNs, whatever their payload
//!   and sign. When the module was not generated with `canonicalize_nans`, NaN bits may also leak
//!   into memory, globals and integers (`reinterpret`, `store`), so there the same rule is
//!   applied to any 4- or 8-byte window / integer whose both versions are quiet NaNs.
//! * Stack exhaustion: both exhausted = agree; only one = different limits, the run stops there
//!   uncompared (the engines' states may differ from then on).
//!
//! Traps are compared by kind after mapping wasmi's `TrapCode` to `wasic_abi::Trap` (wasmi has
//! one code for "table index out of bounds" where wasic tells `call_indirect`'s
//! `UndefinedElement` apart).

use arbitrary::{Result as AResult, Unstructured};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use wasic_abi::{FuncType as WFuncType, GlobalType as WGlobalType, Trap, ValRaw, ValType as WTy};
use wasic_compiler::{CompileOptions, Features, OptLevel, TargetCpu};
use wasic_runtime as wr;
use wasmi::{Nullable, TrapCode};

/// The imports wasm-smith may use; both engines provide them with the same behaviour.
pub const IMPORTS_WAT: &str = r#"(module
  (import "spectest" "print_i32" (func (param i32)))
  (import "spectest" "print_i64" (func (param i64)))
  (import "spectest" "print_f32" (func (param f32)))
  (import "spectest" "print_f64" (func (param f64)))
  (import "spectest" "print_i32_f32" (func (param i32 f32)))
  (import "spectest" "print_f64_f64" (func (param f64 f64)))
  (import "host" "mix" (func (param i32 i64 f32 f64) (result i64)))
  (import "host" "multi" (func (param i32) (result i32 f64 i64 f32)))
  (import "host" "trap_if_7" (func (param i32)))
  (import "spectest" "global_i32" (global i32))
  (import "spectest" "global_f64" (global f64))
)"#;

/// Value types: wasic's own (`wasic_abi::ValType`), converted to and from wasmi's.
type Ty = WTy;

fn ty_from_wasmi(t: wasmi::ValType) -> Ty {
    match t {
        wasmi::ValType::I32 => Ty::I32,
        wasmi::ValType::I64 => Ty::I64,
        wasmi::ValType::F32 => Ty::F32,
        wasmi::ValType::F64 => Ty::F64,
        wasmi::ValType::V128 => Ty::V128,
        wasmi::ValType::FuncRef => Ty::FUNCREF,
        wasmi::ValType::ExternRef => Ty::EXTERNREF,
    }
}

fn ty_to_wasmi(t: Ty) -> wasmi::ValType {
    match t {
        Ty::I32 => wasmi::ValType::I32,
        Ty::I64 => wasmi::ValType::I64,
        Ty::F32 => wasmi::ValType::F32,
        Ty::F64 => wasmi::ValType::F64,
        Ty::V128 => wasmi::ValType::V128,
        Ty::FUNCREF => wasmi::ValType::FuncRef,
        Ty::EXTERNREF => wasmi::ValType::ExternRef,
        // wasm-smith is configured without exception handling and typed references, which
        // wasmi lacks.
        Ty::Ref(r) => unreachable!("{r} is never generated"),
    }
}

/// An engine-neutral value. References are compared by null-ness (and externref payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef(Option<u64>),
}

impl V {
    pub(crate) fn to_wasic(self) -> wr::Val {
        match self {
            V::I32(v) => wr::Val::I32(v),
            V::I64(v) => wr::Val::I64(v),
            V::F32(v) => wr::Val::F32(v),
            V::F64(v) => wr::Val::F64(v),
            V::V128(v) => wr::Val::V128(v),
            V::FuncRef { .. } => wr::Val::FuncRef(None),
            V::ExternRef(e) => wr::Val::ExternRef(e),
        }
    }
    pub(crate) fn from_wasic(v: &wr::Val) -> V {
        match *v {
            wr::Val::I32(v) => V::I32(v),
            wr::Val::I64(v) => V::I64(v),
            wr::Val::F32(v) => V::F32(v),
            wr::Val::F64(v) => V::F64(v),
            wr::Val::V128(v) => V::V128(v),
            wr::Val::FuncRef(f) => V::FuncRef { null: f.is_none() },
            wr::Val::ExternRef(e) => V::ExternRef(e),
            wr::Val::ExnRef(_) => unreachable!("exnref is never generated"),
        }
    }
    /// A host function's raw parameter, read through its caller.
    fn from_raw(caller: &mut wr::Caller<'_>, raw: ValRaw, ty: Ty) -> V {
        let v = caller
            .val_from_raw(raw, ty)
            .expect("wasm passes references of its own store");
        V::from_wasic(&v)
    }
    fn to_raw(self) -> ValRaw {
        match self {
            V::I32(v) => ValRaw::from_i32(v),
            V::I64(v) => ValRaw::from_i64(v),
            V::F32(v) => ValRaw::from_u32(v),
            V::F64(v) => ValRaw::from_u64(v),
            V::V128(v) => ValRaw::from_u128(v),
            V::FuncRef { .. } => ValRaw::from_usize(0),
            V::ExternRef(e) => wr::Val::ExternRef(e).to_raw(),
        }
    }
    fn to_wasmi(self, store: &mut wasmi::Store<()>) -> wasmi::Val {
        match self {
            V::ExternRef(Some(k)) => {
                wasmi::Val::ExternRef(Nullable::Val(wasmi::ExternRef::new(&mut *store, k)))
            }
            v => v.to_wasmi_plain(),
        }
    }
    /// For values that need no store (everything but non-null externrefs).
    fn to_wasmi_plain(self) -> wasmi::Val {
        match self {
            V::I32(v) => wasmi::Val::I32(v),
            V::I64(v) => wasmi::Val::I64(v),
            V::F32(v) => wasmi::Val::F32(wasmi::F32::from_bits(v)),
            V::F64(v) => wasmi::Val::F64(wasmi::F64::from_bits(v)),
            V::V128(v) => wasmi::Val::V128(wasmi::V128::from(v)),
            V::FuncRef { .. } => wasmi::Val::FuncRef(Nullable::Null),
            V::ExternRef(_) => wasmi::Val::ExternRef(Nullable::Null),
        }
    }
    /// For numbers (host-function arguments).
    fn from_wasmi_num(v: &wasmi::Val) -> V {
        match v {
            wasmi::Val::I32(v) => V::I32(*v),
            wasmi::Val::I64(v) => V::I64(*v),
            wasmi::Val::F32(v) => V::F32(v.to_bits()),
            wasmi::Val::F64(v) => V::F64(v.to_bits()),
            wasmi::Val::V128(v) => V::V128(v.as_u128()),
            wasmi::Val::FuncRef(f) => V::FuncRef { null: f.is_null() },
            wasmi::Val::ExternRef(e) => {
                V::ExternRef(if e.is_null() { None } else { Some(u64::MAX) })
            }
        }
    }
    fn from_wasmi(v: &wasmi::Val, store: &wasmi::Store<()>) -> V {
        match v {
            wasmi::Val::I32(v) => V::I32(*v),
            wasmi::Val::I64(v) => V::I64(*v),
            wasmi::Val::F32(v) => V::F32(v.to_bits()),
            wasmi::Val::F64(v) => V::F64(v.to_bits()),
            wasmi::Val::V128(v) => V::V128(v.as_u128()),
            wasmi::Val::FuncRef(f) => V::FuncRef { null: f.is_null() },
            wasmi::Val::ExternRef(e) => V::ExternRef(extern_payload(e, store)),
        }
    }
    fn from_wasmi_ref(r: &wasmi::Ref, store: &wasmi::Store<()>) -> V {
        match r {
            wasmi::Ref::Func(f) => V::FuncRef { null: f.is_null() },
            wasmi::Ref::Extern(e) => V::ExternRef(extern_payload(e, store)),
        }
    }
    /// Bits for hashing host-call arguments.
    fn bits(self) -> u128 {
        match self {
            V::I32(v) => v as u32 as u128,
            V::I64(v) => v as u64 as u128,
            V::F32(v) => v as u128,
            V::F64(v) => v as u128,
            V::V128(v) => v,
            V::FuncRef { null } => null as u128,
            V::ExternRef(e) => e.map_or(0, |e| e as u128 + 1),
        }
    }
}

fn extern_payload(e: &Nullable<wasmi::ExternRef>, store: &wasmi::Store<()>) -> Option<u64> {
    match e {
        Nullable::Null => None,
        Nullable::Val(r) => Some(
            r.data(store)
                .downcast_ref::<u64>()
                .copied()
                .unwrap_or(u64::MAX),
        ),
    }
}

fn is_qnan32(b: u32) -> bool {
    b & 0x7fc0_0000 == 0x7fc0_0000
}
fn is_qnan64(b: u64) -> bool {
    b & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000
}

/// Whether two values agree. `nan_leaks`: NaN bits may have leaked into integers.
pub fn vals_agree(a: &V, b: &V, nan_leaks: bool) -> bool {
    if a == b {
        return true;
    }
    match (*a, *b) {
        (V::F32(x), V::F32(y)) => is_qnan32(x) && is_qnan32(y),
        (V::F64(x), V::F64(y)) => is_qnan64(x) && is_qnan64(y),
        (V::I32(x), V::I32(y)) => nan_leaks && is_qnan32(x as u32) && is_qnan32(y as u32),
        (V::I64(x), V::I64(y)) => nan_leaks && is_qnan64(x as u64) && is_qnan64(y as u64),
        (V::V128(x), V::V128(y)) => {
            let f32s = (0..4).all(|i| {
                let (p, q) = ((x >> (32 * i)) as u32, (y >> (32 * i)) as u32);
                p == q || (is_qnan32(p) && is_qnan32(q))
            });
            let f64s = (0..2).all(|i| {
                let (p, q) = ((x >> (64 * i)) as u64, (y >> (64 * i)) as u64);
                p == q || (is_qnan64(p) && is_qnan64(q))
            });
            f32s || f64s
        }
        _ => false,
    }
}

/// Whether two memory images agree; with `nan_leaks`, a differing byte is fine when a 4- or
/// 8-byte window around it holds a quiet NaN in both.
pub fn memories_agree(a: &[u8], b: &[u8], nan_leaks: bool) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!(
            "memory sizes differ: wasic {} wasmi {}",
            a.len(),
            b.len()
        ));
    }
    if a == b {
        return Ok(());
    }
    let window_ok = |d: usize| {
        let f32_ok = (d.saturating_sub(3)..=d).any(|s| {
            s + 4 <= a.len()
                && is_qnan32(u32::from_le_bytes(a[s..s + 4].try_into().unwrap()))
                && is_qnan32(u32::from_le_bytes(b[s..s + 4].try_into().unwrap()))
        });
        let f64_ok = (d.saturating_sub(7)..=d).any(|s| {
            s + 8 <= a.len()
                && is_qnan64(u64::from_le_bytes(a[s..s + 8].try_into().unwrap()))
                && is_qnan64(u64::from_le_bytes(b[s..s + 8].try_into().unwrap()))
        });
        f32_ok || f64_ok
    };
    for d in 0..a.len() {
        if a[d] != b[d] && !(nan_leaks && window_ok(d)) {
            let lo = d & !15;
            let hi = (lo + 32).min(a.len());
            return Err(format!(
                "memory differs at byte {d:#x}: wasic {:02x?} wasmi {:02x?} (from {lo:#x})",
                &a[lo..hi],
                &b[lo..hi]
            ));
        }
    }
    Ok(())
}

/// What a call (or the instantiation) did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Values(Vec<V>),
    Trap(Trap),
    StackOverflow,
    /// Not a trap: a resource or usage error.
    Error(String),
}

fn wasmi_trap(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        TrapCode::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::UninitializedElement,
        TrapCode::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::StackOverflow => Trap::StackOverflow,
        TrapCode::BadSignature => Trap::BadSignature,
        _ => return None,
    })
}

/// The trap of a wasmi error: its trap code or, for errors of instantiation (segments out of
/// bounds) and of `table.copy`, which wasmi reports without a trap code, from the message.
fn wasmi_error_trap(e: &wasmi::Error) -> Option<Trap> {
    if let Some(code) = e.as_trap_code() {
        return wasmi_trap(code);
    }
    let msg = e.to_string();
    if msg.contains("out of bounds table access") {
        Some(Trap::TableOutOfBounds)
    } else if msg.contains("out of bounds memory access") {
        Some(Trap::MemoryOutOfBounds)
    } else {
        None
    }
}

fn wasmi_outcome(
    r: Result<(), &wasmi::Error>,
    out: &[wasmi::Val],
    store: &wasmi::Store<()>,
) -> Outcome {
    match r {
        Ok(()) => Outcome::Values(out.iter().map(|v| V::from_wasmi(v, store)).collect()),
        Err(e) => match wasmi_error_trap(e) {
            Some(Trap::StackOverflow) => Outcome::StackOverflow,
            Some(t) => Outcome::Trap(t),
            None => Outcome::Error(format!("wasmi: {e}")),
        },
    }
}

fn wasic_outcome(r: Result<Vec<wr::Val>, wr::Error>) -> Outcome {
    match r {
        Ok(vals) => Outcome::Values(vals.iter().map(V::from_wasic).collect()),
        Err(wr::Error::Trap(t)) if t.trap == Trap::StackOverflow => Outcome::StackOverflow,
        Err(wr::Error::Trap(t)) => Outcome::Trap(t.trap),
        Err(e) => Outcome::Error(format!("wasic: {e}")),
    }
}

/// How two outcomes relate.
enum Verdict {
    Agree,
    /// Only one engine exhausted its stack: stop comparing.
    StackLimitsDiffer,
    Diverge,
}

fn compare(wasic: &Outcome, wasmi: &Outcome, nan_leaks: bool) -> Verdict {
    match (wasic, wasmi) {
        (Outcome::StackOverflow, Outcome::StackOverflow) => Verdict::Agree,
        (Outcome::StackOverflow, _) | (_, Outcome::StackOverflow) => Verdict::StackLimitsDiffer,
        (Outcome::Values(a), Outcome::Values(b)) => {
            if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| vals_agree(x, y, nan_leaks)) {
                Verdict::Agree
            } else {
                Verdict::Diverge
            }
        }
        (Outcome::Trap(a), Outcome::Trap(b)) => {
            let same = a == b || (*a == Trap::UndefinedElement && *b == Trap::TableOutOfBounds);
            if same {
                Verdict::Agree
            } else {
                Verdict::Diverge
            }
        }
        _ => Verdict::Diverge,
    }
}

/// One host-function call as seen by the host.
type HostLog = Arc<Mutex<Vec<(&'static str, Vec<V>)>>>;

/// The deterministic behaviour of the host functions: results from a hash of the arguments;
/// `trap_if_7` traps when its argument is 7.
fn host_results(name: &str, args: &[V], results: &[Ty]) -> Result<Vec<V>, ()> {
    if name == "trap_if_7" && args.first() == Some(&V::I32(7)) {
        return Err(());
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for a in args {
        let bits = a.bits();
        h = (h ^ bits as u64 ^ (bits >> 64) as u64).wrapping_mul(0x100_0000_01b3);
    }
    Ok(results
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let x = h.rotate_left(13 * i as u32).wrapping_add(i as u64);
            match *t {
                Ty::I32 => V::I32(x as i32),
                Ty::I64 => V::I64(x as i64),
                Ty::F32 => V::F32(x as u32),
                Ty::F64 => V::F64(x),
                Ty::V128 => V::V128(x as u128 | (x as u128) << 64),
                Ty::FUNCREF => V::FuncRef { null: true },
                Ty::EXTERNREF => V::ExternRef(None),
                Ty::Ref(r) => unreachable!("{r} is never generated"),
            }
        })
        .collect())
}

/// Signatures of the host functions of [`IMPORTS_WAT`].
fn host_sig(module: &str, name: &str) -> Option<(&'static str, Vec<Ty>, Vec<Ty>)> {
    use WTy::*;
    Some(match (module, name) {
        ("spectest", "print_i32") => ("print_i32", vec![I32], vec![]),
        ("spectest", "print_i64") => ("print_i64", vec![I64], vec![]),
        ("spectest", "print_f32") => ("print_f32", vec![F32], vec![]),
        ("spectest", "print_f64") => ("print_f64", vec![F64], vec![]),
        ("spectest", "print_i32_f32") => ("print_i32_f32", vec![I32, F32], vec![]),
        ("spectest", "print_f64_f64") => ("print_f64_f64", vec![F64, F64], vec![]),
        ("host", "mix") => ("mix", vec![I32, I64, F32, F64], vec![I64]),
        ("host", "multi") => ("multi", vec![I32], vec![I32, F64, I64, F32]),
        ("host", "trap_if_7") => ("trap_if_7", vec![I32], vec![]),
        _ => return None,
    })
}

fn host_global(module: &str, name: &str) -> Option<V> {
    match (module, name) {
        ("spectest", "global_i32") => Some(V::I32(666)),
        ("spectest", "global_f64") => Some(V::F64(666.6f64.to_bits())),
        _ => None,
    }
}

/// The wasm-smith configuration: WebAssembly 2.0 (SIMD on or off from the input), small
/// bounded memories and tables, everything exported, the imports of [`IMPORTS_WAT`].
pub fn smith_config(u: &mut Unstructured<'_>) -> AResult<wasm_smith::Config> {
    let mut c = wasm_smith::Config {
        simd_enabled: u.ratio(1, 3)?,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
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
        max_tags: 0,
        max_funcs: 30,
        max_instructions: 200,
        min_funcs: 1,
        ..wasm_smith::Config::default()
    };
    // Half the time, the WebAssembly 3.0 proposals wasic implements too (relaxed SIMD stays
    // off: its results may differ between engines by design).
    if u.ratio(1, 2)? {
        c.tail_call_enabled = true;
        c.extended_const_enabled = true;
        c.max_memories = 2;
        c.memory64_enabled = u.ratio(1, 2)?;
        c.max_memory64_bytes = 4 << 16;
    }
    if u.ratio(3, 4)? {
        c.available_imports = Some(wat::parse_str(IMPORTS_WAT).expect("imports wat"));
        c.max_imports = 12;
    } else {
        c.max_imports = 0;
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
}

/// Builds a module from the front of the input; the rest drives the calls.
pub fn generate(u: &mut Unstructured<'_>) -> AResult<Generated> {
    generate_with(u, false)
}

/// [`generate`]; with `canonical`, always with `canonicalize_nans` (see [`fuzz_one`]).
fn generate_with(u: &mut Unstructured<'_>, canonical: bool) -> AResult<Generated> {
    let mut config = smith_config(u)?;
    config.canonicalize_nans |= canonical;
    let canonical_nans = config.canonicalize_nans;
    let mut module = wasm_smith::Module::new(config, u)?;
    let fuel = u.int_in_range(50..=2000)?;
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
    module
        .ensure_termination(fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(Generated {
        wasm: module.to_bytes(),
        canonical_nans,
        opts,
    })
}

pub(crate) fn arb_val(u: &mut Unstructured<'_>, t: Ty) -> AResult<V> {
    let pick = u.int_in_range(0..=3u8)?;
    Ok(match t {
        Ty::I32 => V::I32(match pick {
            0 => *u.choose(&[0, 1, -1, i32::MIN, i32::MAX, 7, 0x1_0000, 0xffff])?,
            _ => u.arbitrary()?,
        }),
        Ty::I64 => V::I64(match pick {
            0 => *u.choose(&[0, 1, -1, i64::MIN, i64::MAX, 7, 1 << 32, u32::MAX as i64])?,
            _ => u.arbitrary()?,
        }),
        Ty::F32 => V::F32(match pick {
            0 => *u.choose(&[
                0u32,
                0x8000_0000,
                0x3f80_0000,
                0x7f80_0000,
                0xff80_0000,
                0x7fc0_0000,
                0xffc0_0000,
                0x7fa0_0000,
                0x4f00_0000,
                0xcf00_0000,
                0x0000_0001,
            ])?,
            1 => (u.arbitrary::<i16>()? as f32).to_bits(),
            _ => u.arbitrary()?,
        }),
        Ty::F64 => V::F64(match pick {
            0 => *u.choose(&[
                0u64,
                0x8000_0000_0000_0000,
                0x3ff0_0000_0000_0000,
                0x7ff0_0000_0000_0000,
                0xfff0_0000_0000_0000,
                0x7ff8_0000_0000_0000,
                0xfff8_0000_0000_0000,
                0x7ff4_0000_0000_0000,
                0x41e0_0000_0000_0000,
                0xc3e0_0000_0000_0000,
                1,
            ])?,
            1 => (u.arbitrary::<i32>()? as f64).to_bits(),
            _ => u.arbitrary()?,
        }),
        Ty::V128 => V::V128(u.arbitrary()?),
        Ty::FUNCREF => V::FuncRef { null: true },
        Ty::EXTERNREF => V::ExternRef(if pick == 0 { None } else { Some(pick as u64) }),
        Ty::Ref(r) => unreachable!("{r} is never generated"),
    })
}

/// The wasic side: store and instance.
struct Wasic {
    store: wr::Store,
    instance: wr::Instance,
}

/// The wasmi side.
struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

/// An export of the module, by kind.
enum Export {
    Func {
        name: String,
        params: Vec<Ty>,
        results: Vec<Ty>,
    },
    Memory(String),
    Global(String),
    Table(String),
}

/// Everything that happened, for the repro tool and divergence reports.
#[derive(Default)]
pub struct Report {
    pub log: String,
    /// Calls made (both engines).
    pub calls: usize,
    /// The run stopped early because only one engine exhausted its stack.
    pub stack_limits_differ: bool,
}

fn wasmi_engine() -> wasmi::Engine {
    let mut config = wasmi::Config::default();
    config
        .wasm_simd(true)
        .wasm_relaxed_simd(false)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_memory64(true)
        .wasm_multi_memory(true)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        // Translate every function up front, inside `wasmi_module`'s guard against wasmi's own
        // translator panics, instead of lazily in the middle of a call.
        .compilation_mode(wasmi::CompilationMode::Eager);
    wasmi::Engine::new(&config)
}

/// `wasmi::Module::new`, with a panic of wasmi itself (a bug of the oracle, such as wasmi
/// 2.0.0's "a register operand already exists on the stack" on some `if`/`else` shapes) turned
/// into an error: such a module is no test case. libFuzzer's panic hook aborts, so it is
/// silenced meanwhile (the fuzzer runs one input at a time on this thread). After an error the
/// engine must not be used again.
pub(crate) fn wasmi_module(engine: &wasmi::Engine, wasm: &[u8]) -> Result<wasmi::Module, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // AssertUnwindSafe: after a panic the caller drops `engine` (one per test case) unused.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wasmi::Module::new(engine, wasm)
    }));
    std::panic::set_hook(hook);
    match r {
        Ok(m) => m.map_err(|e| e.to_string()),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("wasmi panics translating it (oracle bug): {msg}"))
        }
    }
}

/// Most calls made on one module.
const MAX_CALLS: usize = 40;

/// Runs the module on both engines with calls drawn from `u` (each exported function once with
/// zero-ish arguments when `u` is empty). `Err` is a divergence, described.
pub fn check(
    wasm: &[u8],
    canonical_nans: bool,
    opts: &CompileOptions,
    u: &mut Unstructured<'_>,
) -> Result<Report, String> {
    let nan_leaks = !canonical_nans;
    let mut report = Report::default();
    macro_rules! log {
        ($($t:tt)*) => { let _ = writeln!(report.log, $($t)*); };
    }

    // wasmi is the reference: a module it rejects is no test case.
    let engine = wasmi_engine();
    let wmodule = match wasmi_module(&engine, wasm) {
        Ok(m) => m,
        Err(e) => {
            log!("wasmi rejects the module: {e}");
            return Ok(report);
        }
    };
    let object = wasic_compiler::compile(wasm, opts)
        .map_err(|e| format!("wasic does not compile a module wasmi accepts: {e}"))?;
    // SAFETY: `object` was just produced by `wasic_compiler::compile`.
    let cmodule = unsafe { wr::Module::from_object(&object) }
        .map_err(|e| format!("wasic does not load its own object: {e}"))?;

    // Imports, in import-section order, for both engines.
    let wasic_log: HostLog = Default::default();
    let wasmi_log: HostLog = Default::default();
    let mut wstore = wasmi::Store::new(&engine, ());
    let mut linker = wasmi::Linker::<()>::new(&engine);
    let mut cstore = wr::Store::default();
    let mut cimports = Vec::new();
    for imp in wmodule.imports() {
        let (m, n) = (imp.module(), imp.name());
        if let Some((name, params, results)) = host_sig(m, n) {
            let ty = wasmi::FuncType::new(
                params.iter().map(|t| ty_to_wasmi(*t)),
                results.iter().map(|t| ty_to_wasmi(*t)),
            );
            let (r, l) = (results.clone(), wasmi_log.clone());
            let f = wasmi::Func::new(&mut wstore, ty, move |_caller, args, outs| {
                let args: Vec<V> = args.iter().map(V::from_wasmi_num).collect();
                l.lock().unwrap().push((name, args.clone()));
                match host_results(name, &args, &r) {
                    Ok(vals) => {
                        for (o, v) in outs.iter_mut().zip(vals) {
                            *o = v.to_wasmi_plain();
                        }
                        Ok(())
                    }
                    Err(()) => Err(wasmi::Error::from(TrapCode::UnreachableCodeReached)),
                }
            });
            linker
                .define(m, n, f)
                .map_err(|e| format!("wasmi linker: {e}"))?;
            let (r, l) = (results.clone(), wasic_log.clone());
            let cty = WFuncType {
                params: params.clone(),
                results: results.clone(),
            };
            let f = wr::Func::new_host(&mut cstore, cty, move |caller, values: &mut [ValRaw]| {
                let args: Vec<V> = params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| V::from_raw(caller, values[i], *t))
                    .collect();
                l.lock().unwrap().push((name, args.clone()));
                match host_results(name, &args, &r) {
                    Ok(vals) => {
                        for (i, v) in vals.into_iter().enumerate() {
                            values[i] = v.to_raw();
                        }
                        Ok(())
                    }
                    Err(()) => Err(wr::HostError::Trap(Trap::Unreachable)),
                }
            });
            cimports.push(wr::Extern::Func(f));
        } else if let Some(v) = host_global(m, n) {
            let g = wasmi::Global::new(&mut wstore, v.to_wasmi_plain(), wasmi::Mutability::Const);
            linker
                .define(m, n, g)
                .map_err(|e| format!("wasmi linker: {e}"))?;
            let ty = match v {
                V::I32(_) => WTy::I32,
                _ => WTy::F64,
            };
            let g = wr::Global::new(
                &mut cstore,
                WGlobalType { ty, mutable: false },
                v.to_wasic(),
            )
            .map_err(|e| format!("wasic global: {e}"))?;
            cimports.push(wr::Extern::Global(g));
        } else {
            log!("unknown import {m}.{n}: skipped");
            return Ok(report);
        }
    }

    // Instantiation (segments and the start function).
    let winst = linker.instantiate_and_start(&mut wstore, &wmodule);
    let cinst = wr::Instance::new(&mut cstore, &cmodule, &cimports);
    let wo = match &winst {
        Ok(_) => Outcome::Values(vec![]),
        Err(e) => wasmi_outcome(Err(e), &[], &wstore),
    };
    let co = match &cinst {
        Ok(_) => Outcome::Values(vec![]),
        Err(e) => wasic_outcome(Err(clone_error(e))),
    };
    log!("instantiate: wasic {co:?}, wasmi {wo:?}");
    match compare(&co, &wo, nan_leaks) {
        Verdict::Agree => {}
        Verdict::StackLimitsDiffer => {
            report.stack_limits_differ = true;
            return Ok(report);
        }
        Verdict::Diverge => {
            return Err(format!(
                "instantiation differs: wasic {co:?}, wasmi {wo:?}\n{}",
                report.log
            ))
        }
    }
    compare_logs(&wasic_log, &wasmi_log, nan_leaks)
        .map_err(|e| format!("during instantiation: {e}\n{}", report.log))?;
    let (Ok(cinst), Ok(winst)) = (cinst, winst) else {
        return Ok(report);
    };
    let mut c = Wasic {
        store: cstore,
        instance: cinst,
    };
    let mut w = Wasmi {
        store: wstore,
        instance: winst,
    };

    let mut exports = Vec::new();
    for e in wmodule.exports() {
        let name = e.name().to_string();
        exports.push(match e.ty() {
            wasmi::ExternType::Func(ft) => Export::Func {
                name,
                params: ft.params().iter().map(|t| ty_from_wasmi(*t)).collect(),
                results: ft.results().iter().map(|t| ty_from_wasmi(*t)).collect(),
            },
            wasmi::ExternType::Memory(_) => Export::Memory(name),
            wasmi::ExternType::Global(_) => Export::Global(name),
            wasmi::ExternType::Table(_) => Export::Table(name),
        });
    }
    compare_state(&c, &w, &exports, nan_leaks)
        .map_err(|e| format!("after instantiation: {e}\n{}", report.log))?;
    let funcs: Vec<(&str, &[Ty], &[Ty])> = exports
        .iter()
        .filter_map(|e| match e {
            Export::Func {
                name,
                params,
                results,
            } => Some((name.as_str(), params.as_slice(), results.as_slice())),
            _ => None,
        })
        .collect();
    if funcs.is_empty() {
        return Ok(report);
    }
    for n in 0..MAX_CALLS {
        if u.is_empty() && n >= funcs.len() {
            break;
        }
        let i = if u.is_empty() {
            n
        } else {
            u.choose_index(funcs.len()).unwrap_or(0)
        };
        let (name, params, results) = funcs[i];
        let args: Vec<V> = params
            .iter()
            .map(|t| arb_val(u, *t).unwrap_or(V::I32(0)))
            .collect();
        let args: Vec<V> = args
            .into_iter()
            .zip(params)
            .map(|(v, t)| if v_ty(&v) == *t { v } else { zero(*t) })
            .collect();
        report.calls += 1;

        let cf = c.instance.get_func(name).ok_or("wasic lacks an export")?;
        let cargs: Vec<wr::Val> = args.iter().map(|v| v.to_wasic()).collect();
        let co = wasic_outcome(cf.call(&mut c.store, &cargs));

        let wf = w
            .instance
            .get_func(&w.store, name)
            .ok_or("wasmi lacks an export")?;
        let wargs: Vec<wasmi::Val> = args.iter().map(|v| v.to_wasmi(&mut w.store)).collect();
        let mut outs: Vec<wasmi::Val> = results
            .iter()
            .map(|t| wasmi::Val::default_for_ty(ty_to_wasmi(*t)))
            .collect();
        let r = wf.call(&mut w.store, &wargs, &mut outs);
        let wo = wasmi_outcome(r.as_ref().map(|_| ()), &outs, &w.store);
        log!("call {name}{args:?}: wasic {co:?}, wasmi {wo:?}");
        match compare(&co, &wo, nan_leaks) {
            Verdict::Agree => {}
            Verdict::StackLimitsDiffer => {
                report.stack_limits_differ = true;
                return Ok(report);
            }
            Verdict::Diverge => {
                return Err(format!(
                    "call {n} of `{name}` differs: wasic {co:?}, wasmi {wo:?}\n{}",
                    report.log
                ))
            }
        }
        compare_logs(&wasic_log, &wasmi_log, nan_leaks)
            .map_err(|e| format!("after call {n} of `{name}`: {e}\n{}", report.log))?;
        if co == Outcome::StackOverflow {
            // Both exhausted their stacks, at different depths: states may differ.
            return Ok(report);
        }
        if let Outcome::Error(_) = co {
            return Ok(report);
        }
        compare_state(&c, &w, &exports, nan_leaks)
            .map_err(|e| format!("after call {n} of `{name}`: {e}\n{}", report.log))?;
    }
    Ok(report)
}

pub(crate) fn v_ty(v: &V) -> Ty {
    match v {
        V::I32(_) => Ty::I32,
        V::I64(_) => Ty::I64,
        V::F32(_) => Ty::F32,
        V::F64(_) => Ty::F64,
        V::V128(_) => Ty::V128,
        V::FuncRef { .. } => Ty::FUNCREF,
        V::ExternRef(_) => Ty::EXTERNREF,
    }
}

pub(crate) fn zero(t: Ty) -> V {
    match t {
        Ty::I32 => V::I32(0),
        Ty::I64 => V::I64(0),
        Ty::F32 => V::F32(0),
        Ty::F64 => V::F64(0),
        Ty::V128 => V::V128(0),
        Ty::FUNCREF => V::FuncRef { null: true },
        Ty::EXTERNREF => V::ExternRef(None),
        Ty::Ref(r) => unreachable!("{r} is never generated"),
    }
}

/// `wasic_runtime::Error` is not `Clone`; only what [`wasic_outcome`] looks at is kept.
pub(crate) fn clone_error(e: &wr::Error) -> wr::Error {
    match e {
        wr::Error::Trap(t) => wr::Error::Trap(t.clone()),
        other => wr::Error::Host(other.to_string()),
    }
}

fn compare_logs(c: &HostLog, w: &HostLog, nan_leaks: bool) -> Result<(), String> {
    let (c, w) = (c.lock().unwrap(), w.lock().unwrap());
    let same = c.len() == w.len()
        && c.iter().zip(w.iter()).all(|((cn, ca), (wn, wa))| {
            cn == wn
                && ca.len() == wa.len()
                && ca.iter().zip(wa).all(|(x, y)| vals_agree(x, y, nan_leaks))
        });
    if same {
        Ok(())
    } else {
        Err(format!("host calls differ:\n  wasic {c:?}\n  wasmi {w:?}"))
    }
}

fn compare_state(c: &Wasic, w: &Wasmi, exports: &[Export], nan_leaks: bool) -> Result<(), String> {
    for e in exports {
        match e {
            Export::Func { .. } => {}
            Export::Memory(name) => {
                let cm = c.instance.get_memory(name).ok_or("wasic lacks a memory")?;
                let wm = w
                    .instance
                    .get_memory(&w.store, name)
                    .ok_or("wasmi lacks a memory")?;
                memories_agree(cm.data(&c.store), wm.data(&w.store), nan_leaks)
                    .map_err(|e| format!("memory `{name}`: {e}"))?;
            }
            Export::Global(name) => {
                let cg = c.instance.get_global(name).ok_or("wasic lacks a global")?;
                let wg = w
                    .instance
                    .get_global(&w.store, name)
                    .ok_or("wasmi lacks a global")?;
                let (a, b) = (
                    V::from_wasic(&cg.get(&c.store)),
                    V::from_wasmi(&wg.get(&w.store), &w.store),
                );
                if !vals_agree(&a, &b, nan_leaks) {
                    return Err(format!("global `{name}`: wasic {a:?}, wasmi {b:?}"));
                }
            }
            Export::Table(name) => {
                let Some(wr::Extern::Table(ct)) = c.instance.get_export(name) else {
                    return Err("wasic lacks a table".into());
                };
                let wt = w
                    .instance
                    .get_table(&w.store, name)
                    .ok_or("wasmi lacks a table")?;
                let (cs, ws) = (ct.size(&c.store), wt.size(&w.store));
                if cs != ws {
                    return Err(format!("table `{name}` size: wasic {cs}, wasmi {ws}"));
                }
                for i in 0..cs {
                    let a = ct.get(&c.store, i).map(|v| V::from_wasic(&v));
                    let b = wt.get(&w.store, i).map(|r| V::from_wasmi_ref(&r, &w.store));
                    if a != b {
                        return Err(format!("table `{name}`[{i}]: wasic {a:?}, wasmi {b:?}"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The module as text, for reports.
pub fn wat(wasm: &[u8]) -> String {
    wasmprinter::print_bytes(wasm).unwrap_or_else(|e| format!("(unprintable: {e})"))
}

/// The `differential` fuzz target.
///
/// Without `canonicalize_nans`, NaN bits may leak into integers and then be transformed (an
/// `i32.xor` of two leaked NaNs), which no comparison can tell from a real difference, while
/// which NaN an operation returns is the specification's own nondeterminism (wasmi's `f32.min`
/// of two NaNs keeps one payload, x86's keeps the other). So a divergence of such a module is
/// checked again on the same input generated with `canonicalize_nans`: when that agrees, the
/// difference was in NaN bits and the input is no test case; when it diverges too, that is
/// reported.
pub fn fuzz_one(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(g) = generate(&mut u) else { return };
    if let Err(msg) = check(&g.wasm, g.canonical_nans, &g.opts, &mut u) {
        if !g.canonical_nans {
            let mut u = Unstructured::new(data);
            let Ok(g) = generate_with(&mut u, true) else {
                return;
            };
            if let Err(msg) = check(&g.wasm, g.canonical_nans, &g.opts, &mut u) {
                panic!(
                    "DIVERGENCE (canonical_nans=true after a divergence without, {:?}): {msg}\nmodule:\n{}",
                    g.opts,
                    wat(&g.wasm)
                );
            }
            return;
        }
        panic!(
            "DIVERGENCE (canonical_nans={}, {:?}): {msg}\nmodule:\n{}",
            g.canonical_nans,
            g.opts,
            wat(&g.wasm)
        );
    }
}
