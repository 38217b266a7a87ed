//! Fixed-width SIMD (WebAssembly 2.0 `v128`): loads and stores, lanes, splats, shuffles and
//! every lane-wise integer and float operator, lowered to Cranelift's vector IR.
//!
//! Wasm has one `v128` type while Cranelift types vectors by lane (`I8X16` ... `F64X2`). On the
//! operand stack, in locals, globals, block parameters, signatures and trampolines a v128 is
//! always an `I8X16` (see [`super::ir_type`]); each operator here reinterprets its operands to
//! the lane type it works on (`bitcast`, free on x86-64) and turns its result back into an
//! `I8X16`, so nothing outside this file has to know about lane types.
//!
//! Semantics that need care, as in wasmtime's translator: shift amounts are taken modulo the
//! lane width by Cranelift's `ishl`/`ushr`/`sshr`; `fmin`/`fmax` propagate NaN and order zeros
//! like wasm; `pmin`/`pmax` are compare + `bitselect` in the spec's operand order; saturating
//! float-to-int conversions of `f64x2` go through `i64x2` and a narrow with a zero vector (a
//! pattern the x86-64 backend recognizes). `floor`/`ceil`/`trunc`/`nearest` need SSE4.1 (part
//! of every [`crate::TargetCpu`]), otherwise Cranelift would call libm. Memory accesses use the
//! same addressing, bounds checks (64-bit memories only) and trap code as scalar ones (see
//! `memory.rs`).
//!
//! # Relaxed SIMD: wasic's deterministic choice
//!
//! The relaxed SIMD operators (WebAssembly 3.0) let each implementation pick among several
//! results. wasic picks one fixed result, the same for every [`crate::TargetCpu`] (so a program
//! behaves identically whether compiled for x86-64-v2 or v3), following the "deterministic"
//! fallback semantics of the relaxed-simd proposal: each operator behaves as its strict 2.0
//! counterpart where there is one.
//!
//! | relaxed operator | wasic computes |
//! |---|---|
//! | `i8x16.relaxed_swizzle` | `i8x16.swizzle` (indices >= 16 give 0) |
//! | `i32x4.relaxed_trunc_*` | `i32x4.trunc_sat_*` (NaN gives 0, out of range saturates) |
//! | `f32x4/f64x2.relaxed_madd` | `a * b + c` **unfused** (two roundings: `fmul` then `fadd`) |
//! | `f32x4/f64x2.relaxed_nmadd` | `-(a * b) + c` unfused |
//! | `*.relaxed_laneselect` | `v128.bitselect` (bit by bit, whatever the mask lanes hold) |
//! | `f32x4/f64x2.relaxed_min/max` | `fmin` / `fmax` (NaN-propagating, -0 < +0) |
//! | `i16x8.relaxed_q15mulr_s` | `i16x8.q15mulr_sat_s` (saturating) |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s` | both operands signed, pairwise sums wrapping in i16 |
//! | `i32x4.relaxed_dot_i8x16_i7x16_add_s` | the i16 dot product above, then pairs summed in i32, plus the addend |
//!
//! Unfused multiply-add is the one choice available on every target (x86-64-v2 has no FMA, and
//! the code may call no libm). The dot products treat the second operand as signed even when
//! its top bit is set (x86's `pmaddubsw` would treat it as unsigned and saturate).

use super::memory::heap_flags;
use super::FuncTranslator;
use crate::error::CompileError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I16, I16X8, I32, I32X4, I64X2, I8, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, Operator};

/// Flags of a bitcast between vector types (lane order is little-endian, as in wasm).
fn vector_cast_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// The vector type a SIMD operator works on, from its name's lane shape (`I16x8Add` -> `I16X8`).
/// Operators on plain `v128` bits use `I8X16`.
fn lane_shape(op: &Operator<'_>) -> Type {
    use Operator as O;
    match op {
        O::V128Load8Splat { .. }
        | O::V128Load8Lane { .. }
        | O::V128Store8Lane { .. }
        | O::I8x16Splat
        | O::I8x16ExtractLaneS { .. }
        | O::I8x16ExtractLaneU { .. }
        | O::I8x16ReplaceLane { .. }
        | O::I8x16Eq
        | O::I8x16Ne
        | O::I8x16LtS
        | O::I8x16LtU
        | O::I8x16GtS
        | O::I8x16GtU
        | O::I8x16LeS
        | O::I8x16LeU
        | O::I8x16GeS
        | O::I8x16GeU
        | O::I8x16Abs
        | O::I8x16Neg
        | O::I8x16Popcnt
        | O::I8x16AllTrue
        | O::I8x16Bitmask
        | O::I8x16Shl
        | O::I8x16ShrS
        | O::I8x16ShrU
        | O::I8x16Add
        | O::I8x16AddSatS
        | O::I8x16AddSatU
        | O::I8x16Sub
        | O::I8x16SubSatS
        | O::I8x16SubSatU
        | O::I8x16MinS
        | O::I8x16MinU
        | O::I8x16MaxS
        | O::I8x16MaxU
        | O::I8x16AvgrU => I8X16,
        O::V128Load16Splat { .. }
        | O::V128Load16Lane { .. }
        | O::V128Store16Lane { .. }
        | O::I16x8Splat
        | O::I16x8ExtractLaneS { .. }
        | O::I16x8ExtractLaneU { .. }
        | O::I16x8ReplaceLane { .. }
        | O::I16x8Eq
        | O::I16x8Ne
        | O::I16x8LtS
        | O::I16x8LtU
        | O::I16x8GtS
        | O::I16x8GtU
        | O::I16x8LeS
        | O::I16x8LeU
        | O::I16x8GeS
        | O::I16x8GeU
        | O::I16x8Abs
        | O::I16x8Neg
        | O::I16x8AllTrue
        | O::I16x8Bitmask
        | O::I16x8Shl
        | O::I16x8ShrS
        | O::I16x8ShrU
        | O::I16x8Add
        | O::I16x8AddSatS
        | O::I16x8AddSatU
        | O::I16x8Sub
        | O::I16x8SubSatS
        | O::I16x8SubSatU
        | O::I16x8Mul
        | O::I16x8MinS
        | O::I16x8MinU
        | O::I16x8MaxS
        | O::I16x8MaxU
        | O::I16x8AvgrU => I16X8,
        O::V128Load32Splat { .. }
        | O::V128Load32Zero { .. }
        | O::V128Load32Lane { .. }
        | O::V128Store32Lane { .. }
        | O::I32x4Splat
        | O::I32x4ExtractLane { .. }
        | O::I32x4ReplaceLane { .. }
        | O::I32x4Eq
        | O::I32x4Ne
        | O::I32x4LtS
        | O::I32x4LtU
        | O::I32x4GtS
        | O::I32x4GtU
        | O::I32x4LeS
        | O::I32x4LeU
        | O::I32x4GeS
        | O::I32x4GeU
        | O::I32x4Abs
        | O::I32x4Neg
        | O::I32x4AllTrue
        | O::I32x4Bitmask
        | O::I32x4Shl
        | O::I32x4ShrS
        | O::I32x4ShrU
        | O::I32x4Add
        | O::I32x4Sub
        | O::I32x4Mul
        | O::I32x4MinS
        | O::I32x4MinU
        | O::I32x4MaxS
        | O::I32x4MaxU => I32X4,
        O::V128Load64Splat { .. }
        | O::V128Load64Zero { .. }
        | O::V128Load64Lane { .. }
        | O::V128Store64Lane { .. }
        | O::I64x2Splat
        | O::I64x2ExtractLane { .. }
        | O::I64x2ReplaceLane { .. }
        | O::I64x2Eq
        | O::I64x2Ne
        | O::I64x2LtS
        | O::I64x2GtS
        | O::I64x2LeS
        | O::I64x2GeS
        | O::I64x2Abs
        | O::I64x2Neg
        | O::I64x2AllTrue
        | O::I64x2Bitmask
        | O::I64x2Shl
        | O::I64x2ShrS
        | O::I64x2ShrU
        | O::I64x2Add
        | O::I64x2Sub
        | O::I64x2Mul => I64X2,
        O::F32x4Splat
        | O::F32x4ExtractLane { .. }
        | O::F32x4ReplaceLane { .. }
        | O::F32x4Eq
        | O::F32x4Ne
        | O::F32x4Lt
        | O::F32x4Gt
        | O::F32x4Le
        | O::F32x4Ge
        | O::F32x4Ceil
        | O::F32x4Floor
        | O::F32x4Trunc
        | O::F32x4Nearest
        | O::F32x4Abs
        | O::F32x4Neg
        | O::F32x4Sqrt
        | O::F32x4Add
        | O::F32x4Sub
        | O::F32x4Mul
        | O::F32x4Div
        | O::F32x4Min
        | O::F32x4Max
        | O::F32x4PMin
        | O::F32x4PMax => F32X4,
        O::F64x2Splat
        | O::F64x2ExtractLane { .. }
        | O::F64x2ReplaceLane { .. }
        | O::F64x2Eq
        | O::F64x2Ne
        | O::F64x2Lt
        | O::F64x2Gt
        | O::F64x2Le
        | O::F64x2Ge
        | O::F64x2Ceil
        | O::F64x2Floor
        | O::F64x2Trunc
        | O::F64x2Nearest
        | O::F64x2Abs
        | O::F64x2Neg
        | O::F64x2Sqrt
        | O::F64x2Add
        | O::F64x2Sub
        | O::F64x2Mul
        | O::F64x2Div
        | O::F64x2Min
        | O::F64x2Max
        | O::F64x2PMin
        | O::F64x2PMax => F64X2,
        _ => I8X16,
    }
}

/// Lane-wise operation on one vector of the operator's lane shape.
macro_rules! vunop {
    ($t:ident, $ty:expr, $m:ident) => {{
        let a = $t.pop_vec($ty);
        let v = $t.b.ins().$m(a);
        $t.push_vec(v);
    }};
}
/// Lane-wise operation on two vectors of the operator's lane shape.
macro_rules! vbinop {
    ($t:ident, $ty:expr, $m:ident) => {{
        let (a, b) = $t.pop2_vec($ty);
        let v = $t.b.ins().$m(a, b);
        $t.push_vec(v);
    }};
}
/// Shift of every lane by a scalar i32 amount (modulo the lane width, as Cranelift defines it).
macro_rules! vshift {
    ($t:ident, $ty:expr, $m:ident) => {{
        let amount = $t.pop();
        let a = $t.pop_vec($ty);
        let v = $t.b.ins().$m(a, amount);
        $t.push_vec(v);
    }};
}
macro_rules! vicmp {
    ($t:ident, $ty:expr, $cc:expr) => {{
        let (a, b) = $t.pop2_vec($ty);
        let v = $t.b.ins().icmp($cc, a, b);
        $t.push_vec(v);
    }};
}
macro_rules! vfcmp {
    ($t:ident, $ty:expr, $cc:expr) => {{
        let (a, b) = $t.pop2_vec($ty);
        let v = $t.b.ins().fcmp($cc, a, b);
        $t.push_vec(v);
    }};
}
/// Widening of the low or high half (`swiden_low` ...) of a `$from` vector.
macro_rules! widen {
    ($t:ident, $from:expr, $m:ident) => {{
        let a = $t.pop_vec($from);
        let v = $t.b.ins().$m(a);
        $t.push_vec(v);
    }};
}
/// Extended multiplication: widen both operands' halves with `$w`, multiply.
macro_rules! extmul {
    ($t:ident, $from:expr, $w:ident) => {{
        let (a, b) = $t.pop2_vec($from);
        let a = $t.b.ins().$w(a);
        let b = $t.b.ins().$w(b);
        let v = $t.b.ins().imul(a, b);
        $t.push_vec(v);
    }};
}
/// Pairwise extended addition: widen both halves with `$lo`/`$hi`, add adjacent lanes.
macro_rules! extadd_pairwise {
    ($t:ident, $from:expr, $lo:ident, $hi:ident) => {{
        let a = $t.pop_vec($from);
        let lo = $t.b.ins().$lo(a);
        let hi = $t.b.ins().$hi(a);
        let v = $t.b.ins().iadd_pairwise(lo, hi);
        $t.push_vec(v);
    }};
}

impl FuncTranslator<'_, '_> {
    /// `v` reinterpreted as a `ty` vector.
    fn as_vec(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, vector_cast_flags(), v)
        }
    }

    /// Pops a v128 as a `ty` vector.
    fn pop_vec(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.as_vec(v, ty)
    }

    fn pop2_vec(&mut self, ty: Type) -> (Value, Value) {
        let (a, b) = self.pop2();
        (self.as_vec(a, ty), self.as_vec(b, ty))
    }

    /// Pushes a vector result in the canonical `I8X16` form.
    fn push_vec(&mut self, v: Value) {
        let v = self.as_vec(v, I8X16);
        self.push(v);
    }

    /// A `ty` vector constant of the 16 little-endian bytes `bytes`.
    pub(super) fn vconst(&mut self, ty: Type, bytes: &[u8; 16]) -> Value {
        let handle = self
            .b
            .func
            .dfg
            .constants
            .insert(ConstantData::from(&bytes[..]));
        self.b.ins().vconst(ty, handle)
    }

    /// `v128.load{8,16,32,64}_splat`: one lane loaded and copied to every lane.
    fn load_splat(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        let (addr, off) = self.effective_address(memarg, ty.lane_type().bytes())?;
        let x = self.b.ins().load(ty.lane_type(), heap_flags(), addr, off);
        let v = self.b.ins().splat(ty, x);
        self.push_vec(v);
        Ok(())
    }

    /// `v128.load{32,64}_zero`: the low lane loaded, the others zero.
    fn load_zero(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        let (addr, off) = self.effective_address(memarg, ty.lane_type().bytes())?;
        let x = self.b.ins().load(ty.lane_type(), heap_flags(), addr, off);
        let v = self.b.ins().scalar_to_vector(ty, x);
        self.push_vec(v);
        Ok(())
    }

    /// `v128.load{8x8,16x4,32x2}_{s,u}`: 64 bits loaded, each lane extended to twice its width.
    fn load_extend(&mut self, memarg: &MemArg, op: &Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        let (addr, off) = self.effective_address(memarg, 8)?;
        let f = heap_flags();
        let ins = self.b.ins();
        let v = match op {
            O::V128Load8x8S { .. } => ins.sload8x8(f, addr, off),
            O::V128Load8x8U { .. } => ins.uload8x8(f, addr, off),
            O::V128Load16x4S { .. } => ins.sload16x4(f, addr, off),
            O::V128Load16x4U { .. } => ins.uload16x4(f, addr, off),
            O::V128Load32x2S { .. } => ins.sload32x2(f, addr, off),
            _ => ins.uload32x2(f, addr, off),
        };
        self.push_vec(v);
        Ok(())
    }

    /// `v128.load*_lane`: one lane of the vector operand replaced by a loaded value.
    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let vector = self.pop_vec(ty);
        let (addr, off) = self.effective_address(memarg, ty.lane_type().bytes())?;
        let x = self.b.ins().load(ty.lane_type(), heap_flags(), addr, off);
        let v = self.b.ins().insertlane(vector, x, lane);
        self.push_vec(v);
        Ok(())
    }

    /// `v128.store*_lane`: one lane of the vector operand stored.
    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let vector = self.pop_vec(ty);
        let (addr, off) = self.effective_address(memarg, ty.lane_type().bytes())?;
        let x = self.b.ins().extractlane(vector, lane);
        self.b.ins().store(heap_flags(), x, addr, off);
        Ok(())
    }

    /// Saturating conversion of two f64 lanes to i32 lanes 0 and 1, lanes 2 and 3 zero.
    fn trunc_sat_f64x2_zero(&mut self, signed: bool) {
        let a = self.pop_vec(F64X2);
        let zero = self.vconst(I64X2, &[0; 16]);
        let v = if signed {
            let wide = self.b.ins().fcvt_to_sint_sat(I64X2, a);
            self.b.ins().snarrow(wide, zero)
        } else {
            let wide = self.b.ins().fcvt_to_uint_sat(I64X2, a);
            self.b.ins().uunarrow(wide, zero)
        };
        self.push_vec(v);
    }

    /// Relaxed SIMD operators that wasic computes with another operator's lowering, or that need
    /// their own (see "Relaxed SIMD" in the module comment). Returns false for other operators.
    fn translate_relaxed(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        let strict = match op {
            O::I8x16RelaxedSwizzle => O::I8x16Swizzle,
            O::I32x4RelaxedTruncF32x4S => O::I32x4TruncSatF32x4S,
            O::I32x4RelaxedTruncF32x4U => O::I32x4TruncSatF32x4U,
            O::I32x4RelaxedTruncF64x2SZero => O::I32x4TruncSatF64x2SZero,
            O::I32x4RelaxedTruncF64x2UZero => O::I32x4TruncSatF64x2UZero,
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => O::V128Bitselect,
            O::F32x4RelaxedMin => O::F32x4Min,
            O::F32x4RelaxedMax => O::F32x4Max,
            O::F64x2RelaxedMin => O::F64x2Min,
            O::F64x2RelaxedMax => O::F64x2Max,
            O::I16x8RelaxedQ15mulrS => O::I16x8Q15MulrSatS,
            O::F32x4RelaxedMadd
            | O::F32x4RelaxedNmadd
            | O::F64x2RelaxedMadd
            | O::F64x2RelaxedNmadd => {
                let ty = if matches!(op, O::F32x4RelaxedMadd | O::F32x4RelaxedNmadd) {
                    F32X4
                } else {
                    F64X2
                };
                let c = self.pop_vec(ty);
                let (a, b) = self.pop2_vec(ty);
                let mut product = self.b.ins().fmul(a, b);
                if matches!(op, O::F32x4RelaxedNmadd | O::F64x2RelaxedNmadd) {
                    product = self.b.ins().fneg(product);
                }
                let v = self.b.ins().fadd(product, c);
                self.push_vec(v);
                return Ok(true);
            }
            O::I16x8RelaxedDotI8x16I7x16S => {
                let (a, b) = self.pop2_vec(I8X16);
                let v = self.dot_i8x16_signed(a, b);
                self.push_vec(v);
                return Ok(true);
            }
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_vec(I32X4);
                let (a, b) = self.pop2_vec(I8X16);
                let dot = self.dot_i8x16_signed(a, b);
                let lo = self.b.ins().swiden_low(dot);
                let hi = self.b.ins().swiden_high(dot);
                let sums = self.b.ins().iadd_pairwise(lo, hi);
                let v = self.b.ins().iadd(sums, c);
                self.push_vec(v);
                return Ok(true);
            }
            _ => return Ok(false),
        };
        self.translate_simd(&strict)
    }

    /// Signed i8 x signed i8 products of adjacent lanes summed into i16 lanes (wrapping).
    fn dot_i8x16_signed(&mut self, a: Value, b: Value) -> Value {
        let (alo, blo) = (self.b.ins().swiden_low(a), self.b.ins().swiden_low(b));
        let lo = self.b.ins().imul(alo, blo);
        let (ahi, bhi) = (self.b.ins().swiden_high(a), self.b.ins().swiden_high(b));
        let hi = self.b.ins().imul(ahi, bhi);
        self.b.ins().iadd_pairwise(lo, hi)
    }

    /// SIMD operators; returns false for any other operator.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        if self.translate_relaxed(op)? {
            return Ok(true);
        }
        let ty = lane_shape(op);
        match op {
            // Memory.
            O::V128Load { memarg } => self.load(memarg, I8X16)?,
            O::V128Store { memarg } => self.store(memarg, None)?,
            O::V128Load8x8S { memarg }
            | O::V128Load8x8U { memarg }
            | O::V128Load16x4S { memarg }
            | O::V128Load16x4U { memarg }
            | O::V128Load32x2S { memarg }
            | O::V128Load32x2U { memarg } => self.load_extend(memarg, op)?,
            O::V128Load8Splat { memarg }
            | O::V128Load16Splat { memarg }
            | O::V128Load32Splat { memarg }
            | O::V128Load64Splat { memarg } => self.load_splat(memarg, ty)?,
            O::V128Load32Zero { memarg } | O::V128Load64Zero { memarg } => {
                self.load_zero(memarg, ty)?
            }
            O::V128Load8Lane { memarg, lane }
            | O::V128Load16Lane { memarg, lane }
            | O::V128Load32Lane { memarg, lane }
            | O::V128Load64Lane { memarg, lane } => self.load_lane(memarg, ty, *lane)?,
            O::V128Store8Lane { memarg, lane }
            | O::V128Store16Lane { memarg, lane }
            | O::V128Store32Lane { memarg, lane }
            | O::V128Store64Lane { memarg, lane } => self.store_lane(memarg, ty, *lane)?,

            // Constants, splats, lanes, shuffles.
            O::V128Const { value } => {
                let v = self.vconst(I8X16, value.bytes());
                self.push(v);
            }
            O::I8x16Splat | O::I16x8Splat => {
                let x = self.pop();
                let x = self.b.ins().ireduce(ty.lane_type(), x);
                let v = self.b.ins().splat(ty, x);
                self.push_vec(v);
            }
            O::I32x4Splat | O::I64x2Splat | O::F32x4Splat | O::F64x2Splat => {
                let x = self.pop();
                let v = self.b.ins().splat(ty, x);
                self.push_vec(v);
            }
            O::I8x16ExtractLaneS { lane } | O::I16x8ExtractLaneS { lane } => {
                let a = self.pop_vec(ty);
                let x = self.b.ins().extractlane(a, *lane);
                let v = self.b.ins().sextend(I32, x);
                self.push(v);
            }
            O::I8x16ExtractLaneU { lane } | O::I16x8ExtractLaneU { lane } => {
                let a = self.pop_vec(ty);
                let x = self.b.ins().extractlane(a, *lane);
                let v = self.b.ins().uextend(I32, x);
                self.push(v);
            }
            O::I32x4ExtractLane { lane }
            | O::I64x2ExtractLane { lane }
            | O::F32x4ExtractLane { lane }
            | O::F64x2ExtractLane { lane } => {
                let a = self.pop_vec(ty);
                let v = self.b.ins().extractlane(a, *lane);
                self.push(v);
            }
            O::I8x16ReplaceLane { lane }
            | O::I16x8ReplaceLane { lane }
            | O::I32x4ReplaceLane { lane }
            | O::I64x2ReplaceLane { lane }
            | O::F32x4ReplaceLane { lane }
            | O::F64x2ReplaceLane { lane } => {
                let x = self.pop();
                let a = self.pop_vec(ty);
                let x = if matches!(ty.lane_type(), I8 | I16) {
                    self.b.ins().ireduce(ty.lane_type(), x)
                } else {
                    x
                };
                let v = self.b.ins().insertlane(a, x, *lane);
                self.push_vec(v);
            }
            O::I8x16Shuffle { lanes } => {
                let (a, b) = self.pop2_vec(I8X16);
                let mask = self
                    .b
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(&lanes[..]));
                let v = self.b.ins().shuffle(a, b, mask);
                self.push(v);
            }
            // Indices >= 16 select 0, as Cranelift's `swizzle` defines (pshufb needs SSSE3,
            // which every target CPU has).
            O::I8x16Swizzle => vbinop!(self, I8X16, swizzle),

            // Bitwise operations on the whole vector.
            O::V128Not => vunop!(self, I8X16, bnot),
            O::V128And => vbinop!(self, I8X16, band),
            O::V128AndNot => vbinop!(self, I8X16, band_not),
            O::V128Or => vbinop!(self, I8X16, bor),
            O::V128Xor => vbinop!(self, I8X16, bxor),
            O::V128Bitselect => {
                let c = self.pop_vec(I8X16);
                let (a, b) = self.pop2_vec(I8X16);
                // Bits of `a` where `c` is set, of `b` elsewhere.
                let v = self.b.ins().bitselect(c, a, b);
                self.push(v);
            }
            O::V128AnyTrue => {
                let a = self.pop_vec(I8X16);
                let c = self.b.ins().vany_true(a);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
                let a = self.pop_vec(ty);
                let c = self.b.ins().vall_true(a);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
                let a = self.pop_vec(ty);
                let v = self.b.ins().vhigh_bits(I32, a);
                self.push(v);
            }

            // Integer comparisons.
            O::I8x16Eq | O::I16x8Eq | O::I32x4Eq | O::I64x2Eq => vicmp!(self, ty, IntCC::Equal),
            O::I8x16Ne | O::I16x8Ne | O::I32x4Ne | O::I64x2Ne => {
                vicmp!(self, ty, IntCC::NotEqual)
            }
            O::I8x16LtS | O::I16x8LtS | O::I32x4LtS | O::I64x2LtS => {
                vicmp!(self, ty, IntCC::SignedLessThan)
            }
            O::I8x16LtU | O::I16x8LtU | O::I32x4LtU => {
                vicmp!(self, ty, IntCC::UnsignedLessThan)
            }
            O::I8x16GtS | O::I16x8GtS | O::I32x4GtS | O::I64x2GtS => {
                vicmp!(self, ty, IntCC::SignedGreaterThan)
            }
            O::I8x16GtU | O::I16x8GtU | O::I32x4GtU => {
                vicmp!(self, ty, IntCC::UnsignedGreaterThan)
            }
            O::I8x16LeS | O::I16x8LeS | O::I32x4LeS | O::I64x2LeS => {
                vicmp!(self, ty, IntCC::SignedLessThanOrEqual)
            }
            O::I8x16LeU | O::I16x8LeU | O::I32x4LeU => {
                vicmp!(self, ty, IntCC::UnsignedLessThanOrEqual)
            }
            O::I8x16GeS | O::I16x8GeS | O::I32x4GeS | O::I64x2GeS => {
                vicmp!(self, ty, IntCC::SignedGreaterThanOrEqual)
            }
            O::I8x16GeU | O::I16x8GeU | O::I32x4GeU => {
                vicmp!(self, ty, IntCC::UnsignedGreaterThanOrEqual)
            }

            // Float comparisons (unordered lanes compare false, except `ne`).
            O::F32x4Eq | O::F64x2Eq => vfcmp!(self, ty, FloatCC::Equal),
            O::F32x4Ne | O::F64x2Ne => vfcmp!(self, ty, FloatCC::NotEqual),
            O::F32x4Lt | O::F64x2Lt => vfcmp!(self, ty, FloatCC::LessThan),
            O::F32x4Gt | O::F64x2Gt => vfcmp!(self, ty, FloatCC::GreaterThan),
            O::F32x4Le | O::F64x2Le => vfcmp!(self, ty, FloatCC::LessThanOrEqual),
            O::F32x4Ge | O::F64x2Ge => vfcmp!(self, ty, FloatCC::GreaterThanOrEqual),

            // Integer arithmetic.
            O::I8x16Abs | O::I16x8Abs | O::I32x4Abs | O::I64x2Abs => vunop!(self, ty, iabs),
            O::I8x16Neg | O::I16x8Neg | O::I32x4Neg | O::I64x2Neg => vunop!(self, ty, ineg),
            O::I8x16Popcnt => vunop!(self, I8X16, popcnt),
            O::I8x16Shl | O::I16x8Shl | O::I32x4Shl | O::I64x2Shl => vshift!(self, ty, ishl),
            O::I8x16ShrS | O::I16x8ShrS | O::I32x4ShrS | O::I64x2ShrS => {
                vshift!(self, ty, sshr)
            }
            O::I8x16ShrU | O::I16x8ShrU | O::I32x4ShrU | O::I64x2ShrU => {
                vshift!(self, ty, ushr)
            }
            O::I8x16Add | O::I16x8Add | O::I32x4Add | O::I64x2Add => vbinop!(self, ty, iadd),
            O::I8x16Sub | O::I16x8Sub | O::I32x4Sub | O::I64x2Sub => vbinop!(self, ty, isub),
            O::I16x8Mul | O::I32x4Mul | O::I64x2Mul => vbinop!(self, ty, imul),
            O::I8x16AddSatS | O::I16x8AddSatS => vbinop!(self, ty, sadd_sat),
            O::I8x16AddSatU | O::I16x8AddSatU => vbinop!(self, ty, uadd_sat),
            O::I8x16SubSatS | O::I16x8SubSatS => vbinop!(self, ty, ssub_sat),
            O::I8x16SubSatU | O::I16x8SubSatU => vbinop!(self, ty, usub_sat),
            O::I8x16MinS | O::I16x8MinS | O::I32x4MinS => vbinop!(self, ty, smin),
            O::I8x16MinU | O::I16x8MinU | O::I32x4MinU => vbinop!(self, ty, umin),
            O::I8x16MaxS | O::I16x8MaxS | O::I32x4MaxS => vbinop!(self, ty, smax),
            O::I8x16MaxU | O::I16x8MaxU | O::I32x4MaxU => vbinop!(self, ty, umax),
            O::I8x16AvgrU | O::I16x8AvgrU => vbinop!(self, ty, avg_round),
            O::I16x8Q15MulrSatS => vbinop!(self, I16X8, sqmul_round_sat),
            O::I32x4DotI16x8S => {
                let (a, b) = self.pop2_vec(I16X8);
                let (alo, blo) = (self.b.ins().swiden_low(a), self.b.ins().swiden_low(b));
                let lo = self.b.ins().imul(alo, blo);
                let (ahi, bhi) = (self.b.ins().swiden_high(a), self.b.ins().swiden_high(b));
                let hi = self.b.ins().imul(ahi, bhi);
                let v = self.b.ins().iadd_pairwise(lo, hi);
                self.push_vec(v);
            }

            // Narrowing, widening, extended multiplication and pairwise addition.
            O::I8x16NarrowI16x8S => vbinop!(self, I16X8, snarrow),
            O::I8x16NarrowI16x8U => vbinop!(self, I16X8, unarrow),
            O::I16x8NarrowI32x4S => vbinop!(self, I32X4, snarrow),
            O::I16x8NarrowI32x4U => vbinop!(self, I32X4, unarrow),
            O::I16x8ExtendLowI8x16S => widen!(self, I8X16, swiden_low),
            O::I16x8ExtendHighI8x16S => widen!(self, I8X16, swiden_high),
            O::I16x8ExtendLowI8x16U => widen!(self, I8X16, uwiden_low),
            O::I16x8ExtendHighI8x16U => widen!(self, I8X16, uwiden_high),
            O::I32x4ExtendLowI16x8S => widen!(self, I16X8, swiden_low),
            O::I32x4ExtendHighI16x8S => widen!(self, I16X8, swiden_high),
            O::I32x4ExtendLowI16x8U => widen!(self, I16X8, uwiden_low),
            O::I32x4ExtendHighI16x8U => widen!(self, I16X8, uwiden_high),
            O::I64x2ExtendLowI32x4S => widen!(self, I32X4, swiden_low),
            O::I64x2ExtendHighI32x4S => widen!(self, I32X4, swiden_high),
            O::I64x2ExtendLowI32x4U => widen!(self, I32X4, uwiden_low),
            O::I64x2ExtendHighI32x4U => widen!(self, I32X4, uwiden_high),
            O::I16x8ExtMulLowI8x16S => extmul!(self, I8X16, swiden_low),
            O::I16x8ExtMulHighI8x16S => extmul!(self, I8X16, swiden_high),
            O::I16x8ExtMulLowI8x16U => extmul!(self, I8X16, uwiden_low),
            O::I16x8ExtMulHighI8x16U => extmul!(self, I8X16, uwiden_high),
            O::I32x4ExtMulLowI16x8S => extmul!(self, I16X8, swiden_low),
            O::I32x4ExtMulHighI16x8S => extmul!(self, I16X8, swiden_high),
            O::I32x4ExtMulLowI16x8U => extmul!(self, I16X8, uwiden_low),
            O::I32x4ExtMulHighI16x8U => extmul!(self, I16X8, uwiden_high),
            O::I64x2ExtMulLowI32x4S => extmul!(self, I32X4, swiden_low),
            O::I64x2ExtMulHighI32x4S => extmul!(self, I32X4, swiden_high),
            O::I64x2ExtMulLowI32x4U => extmul!(self, I32X4, uwiden_low),
            O::I64x2ExtMulHighI32x4U => extmul!(self, I32X4, uwiden_high),
            O::I16x8ExtAddPairwiseI8x16S => {
                extadd_pairwise!(self, I8X16, swiden_low, swiden_high)
            }
            O::I16x8ExtAddPairwiseI8x16U => {
                extadd_pairwise!(self, I8X16, uwiden_low, uwiden_high)
            }
            O::I32x4ExtAddPairwiseI16x8S => {
                extadd_pairwise!(self, I16X8, swiden_low, swiden_high)
            }
            O::I32x4ExtAddPairwiseI16x8U => {
                extadd_pairwise!(self, I16X8, uwiden_low, uwiden_high)
            }

            // Float arithmetic.
            O::F32x4Abs | O::F64x2Abs => vunop!(self, ty, fabs),
            O::F32x4Neg | O::F64x2Neg => vunop!(self, ty, fneg),
            O::F32x4Sqrt | O::F64x2Sqrt => vunop!(self, ty, sqrt),
            O::F32x4Ceil | O::F64x2Ceil => vunop!(self, ty, ceil),
            O::F32x4Floor | O::F64x2Floor => vunop!(self, ty, floor),
            O::F32x4Trunc | O::F64x2Trunc => vunop!(self, ty, trunc),
            O::F32x4Nearest | O::F64x2Nearest => vunop!(self, ty, nearest),
            O::F32x4Add | O::F64x2Add => vbinop!(self, ty, fadd),
            O::F32x4Sub | O::F64x2Sub => vbinop!(self, ty, fsub),
            O::F32x4Mul | O::F64x2Mul => vbinop!(self, ty, fmul),
            O::F32x4Div | O::F64x2Div => vbinop!(self, ty, fdiv),
            O::F32x4Min | O::F64x2Min => vbinop!(self, ty, fmin),
            O::F32x4Max | O::F64x2Max => vbinop!(self, ty, fmax),
            // pmin(a, b) = b < a ? b : a;  pmax(a, b) = a < b ? b : a (NaNs pass `a` through).
            O::F32x4PMin | O::F64x2PMin | O::F32x4PMax | O::F64x2PMax => {
                let (a, b) = self.pop2_vec(ty);
                let cmp = if matches!(op, O::F32x4PMin | O::F64x2PMin) {
                    self.b.ins().fcmp(FloatCC::LessThan, b, a)
                } else {
                    self.b.ins().fcmp(FloatCC::LessThan, a, b)
                };
                let cmp = self.as_vec(cmp, ty);
                let v = self.b.ins().bitselect(cmp, b, a);
                self.push_vec(v);
            }

            // Conversions.
            O::I32x4TruncSatF32x4S => {
                let a = self.pop_vec(F32X4);
                let v = self.b.ins().fcvt_to_sint_sat(I32X4, a);
                self.push_vec(v);
            }
            O::I32x4TruncSatF32x4U => {
                let a = self.pop_vec(F32X4);
                let v = self.b.ins().fcvt_to_uint_sat(I32X4, a);
                self.push_vec(v);
            }
            O::I32x4TruncSatF64x2SZero => self.trunc_sat_f64x2_zero(true),
            O::I32x4TruncSatF64x2UZero => self.trunc_sat_f64x2_zero(false),
            O::F32x4ConvertI32x4S => {
                let a = self.pop_vec(I32X4);
                let v = self.b.ins().fcvt_from_sint(F32X4, a);
                self.push_vec(v);
            }
            O::F32x4ConvertI32x4U => {
                let a = self.pop_vec(I32X4);
                let v = self.b.ins().fcvt_from_uint(F32X4, a);
                self.push_vec(v);
            }
            O::F64x2ConvertLowI32x4S => {
                let a = self.pop_vec(I32X4);
                let wide = self.b.ins().swiden_low(a);
                let v = self.b.ins().fcvt_from_sint(F64X2, wide);
                self.push_vec(v);
            }
            O::F64x2ConvertLowI32x4U => {
                let a = self.pop_vec(I32X4);
                let wide = self.b.ins().uwiden_low(a);
                let v = self.b.ins().fcvt_from_uint(F64X2, wide);
                self.push_vec(v);
            }
            O::F32x4DemoteF64x2Zero => vunop!(self, F64X2, fvdemote),
            O::F64x2PromoteLowF32x4 => vunop!(self, F32X4, fvpromote_low),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
