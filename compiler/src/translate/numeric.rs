//! Numeric operators: constants, integer and float arithmetic, comparisons, conversions.
//!
//! Cranelift's instructions already have WebAssembly semantics for the tricky cases: `sdiv`
//! traps on overflow, `srem` of `INT_MIN % -1` is 0, shift amounts are taken modulo the width,
//! `fmin`/`fmax` propagate NaN and order zeros, `fcvt_to_*int` trap on NaN (bad conversion) and
//! out-of-range (integer overflow), and `_sat` variants saturate.

use super::FuncTranslator;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData};
use wasmparser::Operator;

macro_rules! unop {
    ($t:ident, $m:ident) => {{
        let a = $t.pop();
        let v = $t.b.ins().$m(a);
        $t.push(v);
    }};
}
macro_rules! binop {
    ($t:ident, $m:ident) => {{
        let (a, b) = $t.pop2();
        let v = $t.b.ins().$m(a, b);
        $t.push(v);
    }};
}
/// Type-changing unary operation (`$m(ty, x)`).
macro_rules! conv {
    ($t:ident, $m:ident, $ty:expr) => {{
        let a = $t.pop();
        let v = $t.b.ins().$m($ty, a);
        $t.push(v);
    }};
}
macro_rules! icmp {
    ($t:ident, $cc:expr) => {{
        let (a, b) = $t.pop2();
        let c = $t.b.ins().icmp($cc, a, b);
        let v = $t.b.ins().uextend(types::I32, c);
        $t.push(v);
    }};
}
macro_rules! fcmp {
    ($t:ident, $cc:expr) => {{
        let (a, b) = $t.pop2();
        let c = $t.b.ins().fcmp($cc, a, b);
        let v = $t.b.ins().uextend(types::I32, c);
        $t.push(v);
    }};
}
/// Sign extension from a narrower width within the same type (`i32.extend8_s` ...).
macro_rules! sext_in {
    ($t:ident, $narrow:expr, $ty:expr) => {{
        let a = $t.pop();
        let n = $t.b.ins().ireduce($narrow, a);
        let v = $t.b.ins().sextend($ty, n);
        $t.push(v);
    }};
}

impl FuncTranslator<'_, '_> {
    /// Numeric operators; returns false for any other operator.
    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> bool {
        use types::{F32, F64, I16, I32, I64, I8};
        use Operator as O;
        match op {
            O::I32Const { value } => {
                let v = self.b.ins().iconst(I32, i64::from(*value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(I64, *value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.b.ins().f32const(f32::from_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.b.ins().f64const(f64::from_bits(value.bits()));
                self.push(v);
            }

            O::I32Eqz | O::I64Eqz => {
                let a = self.pop();
                let c = self.b.ins().icmp_imm_u(IntCC::Equal, a, 0);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::I32Eq | O::I64Eq => icmp!(self, IntCC::Equal),
            O::I32Ne | O::I64Ne => icmp!(self, IntCC::NotEqual),
            O::I32LtS | O::I64LtS => icmp!(self, IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => icmp!(self, IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => icmp!(self, IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => icmp!(self, IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => icmp!(self, IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => icmp!(self, IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => icmp!(self, IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => icmp!(self, IntCC::UnsignedGreaterThanOrEqual),

            O::F32Eq | O::F64Eq => fcmp!(self, FloatCC::Equal),
            O::F32Ne | O::F64Ne => fcmp!(self, FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => fcmp!(self, FloatCC::LessThan),
            O::F32Gt | O::F64Gt => fcmp!(self, FloatCC::GreaterThan),
            O::F32Le | O::F64Le => fcmp!(self, FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => fcmp!(self, FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => unop!(self, clz),
            O::I32Ctz | O::I64Ctz => unop!(self, ctz),
            O::I32Popcnt | O::I64Popcnt => unop!(self, popcnt),
            O::I32Add | O::I64Add => binop!(self, iadd),
            O::I32Sub | O::I64Sub => binop!(self, isub),
            O::I32Mul | O::I64Mul => binop!(self, imul),
            O::I32DivS | O::I64DivS => binop!(self, sdiv),
            O::I32DivU | O::I64DivU => binop!(self, udiv),
            O::I32RemS | O::I64RemS => binop!(self, srem),
            O::I32RemU | O::I64RemU => binop!(self, urem),
            O::I32And | O::I64And => binop!(self, band),
            O::I32Or | O::I64Or => binop!(self, bor),
            O::I32Xor | O::I64Xor => binop!(self, bxor),
            O::I32Shl | O::I64Shl => binop!(self, ishl),
            O::I32ShrS | O::I64ShrS => binop!(self, sshr),
            O::I32ShrU | O::I64ShrU => binop!(self, ushr),
            O::I32Rotl | O::I64Rotl => binop!(self, rotl),
            O::I32Rotr | O::I64Rotr => binop!(self, rotr),

            O::F32Abs | O::F64Abs => unop!(self, fabs),
            O::F32Neg | O::F64Neg => unop!(self, fneg),
            O::F32Ceil | O::F64Ceil => unop!(self, ceil),
            O::F32Floor | O::F64Floor => unop!(self, floor),
            O::F32Trunc | O::F64Trunc => unop!(self, trunc),
            O::F32Nearest | O::F64Nearest => unop!(self, nearest),
            O::F32Sqrt | O::F64Sqrt => unop!(self, sqrt),
            O::F32Add | O::F64Add => binop!(self, fadd),
            O::F32Sub | O::F64Sub => binop!(self, fsub),
            O::F32Mul | O::F64Mul => binop!(self, fmul),
            O::F32Div | O::F64Div => binop!(self, fdiv),
            O::F32Min | O::F64Min => binop!(self, fmin),
            O::F32Max | O::F64Max => binop!(self, fmax),
            O::F32Copysign | O::F64Copysign => binop!(self, fcopysign),

            O::I32WrapI64 => conv!(self, ireduce, I32),
            O::I64ExtendI32S => conv!(self, sextend, I64),
            O::I64ExtendI32U => conv!(self, uextend, I64),
            O::I32Extend8S => sext_in!(self, I8, I32),
            O::I32Extend16S => sext_in!(self, I16, I32),
            O::I64Extend8S => sext_in!(self, I8, I64),
            O::I64Extend16S => sext_in!(self, I16, I64),
            O::I64Extend32S => sext_in!(self, I32, I64),

            O::I32TruncF32S | O::I32TruncF64S => conv!(self, fcvt_to_sint, I32),
            O::I32TruncF32U | O::I32TruncF64U => conv!(self, fcvt_to_uint, I32),
            O::I64TruncF32S | O::I64TruncF64S => conv!(self, fcvt_to_sint, I64),
            O::I64TruncF32U | O::I64TruncF64U => conv!(self, fcvt_to_uint, I64),
            O::I32TruncSatF32S | O::I32TruncSatF64S => conv!(self, fcvt_to_sint_sat, I32),
            O::I32TruncSatF32U | O::I32TruncSatF64U => conv!(self, fcvt_to_uint_sat, I32),
            O::I64TruncSatF32S | O::I64TruncSatF64S => conv!(self, fcvt_to_sint_sat, I64),
            O::I64TruncSatF32U | O::I64TruncSatF64U => conv!(self, fcvt_to_uint_sat, I64),
            O::F32ConvertI32S | O::F32ConvertI64S => conv!(self, fcvt_from_sint, F32),
            O::F32ConvertI32U | O::F32ConvertI64U => conv!(self, fcvt_from_uint, F32),
            O::F64ConvertI32S | O::F64ConvertI64S => conv!(self, fcvt_from_sint, F64),
            O::F64ConvertI32U | O::F64ConvertI64U => conv!(self, fcvt_from_uint, F64),
            O::F32DemoteF64 => conv!(self, fdemote, F32),
            O::F64PromoteF32 => conv!(self, fpromote, F64),

            O::I32ReinterpretF32 => self.bitcast(I32),
            O::I64ReinterpretF64 => self.bitcast(I64),
            O::F32ReinterpretI32 => self.bitcast(F32),
            O::F64ReinterpretI64 => self.bitcast(F64),
            _ => return false,
        }
        true
    }

    fn bitcast(&mut self, ty: types::Type) {
        let a = self.pop();
        let v = self.b.ins().bitcast(ty, MemFlagsData::new(), a);
        self.push(v);
    }
}
