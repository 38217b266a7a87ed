//! The threads proposal's atomic operators: atomic loads, stores, read-modify-writes and
//! compare-exchanges (Cranelift's sequentially consistent `atomic_*` instructions, as wasm
//! atomics are), `atomic.fence`, and `memory.atomic.wait32/64` / `memory.atomic.notify`, which
//! call the runtime's parking lot (`runtime/src/parking.rs`) through builtins.
//!
//! They are valid on non-shared memories too (a single-threaded C++ program built by wasi-sdk
//! has them), where they behave like plain accesses with the alignment trap; a wait on a
//! non-shared memory traps (nothing could ever wake it) and a notify returns 0 (nothing waits).
//! The address computation, with its alignment and bounds rules, is in `memory.rs`.

use super::memory::heap_flags;
use super::FuncTranslator;
use crate::error::CompileError;
use cranelift_codegen::ir::{types, AtomicRmwOp, InstBuilder, Type, Value};
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::Trap;
use wasmparser::{MemArg, Operator};

impl FuncTranslator<'_, '_> {
    /// `ty.atomic.load{bits}_u`: an atomic load of `bits` zero-extended to `ty`.
    fn atomic_load(&mut self, memarg: &MemArg, ty: Type, bits: u32) -> Result<(), CompileError> {
        let access = Type::int(bits as u16).expect("8, 16, 32 or 64 bits");
        let addr = self.atomic_address(memarg, bits / 8)?;
        let v = self.b.ins().atomic_load(access, heap_flags(), addr);
        let v = if access == ty {
            v
        } else {
            self.b.ins().uextend(ty, v)
        };
        self.push(v);
        Ok(())
    }

    /// `ty.atomic.store{bits}`: an atomic store of the low `bits` of the operand.
    fn atomic_store(&mut self, memarg: &MemArg, bits: u32) -> Result<(), CompileError> {
        let value = self.pop();
        let access = Type::int(bits as u16).expect("8, 16, 32 or 64 bits");
        let addr = self.atomic_address(memarg, bits / 8)?;
        let value = self.narrow(value, access);
        self.b.ins().atomic_store(heap_flags(), value, addr);
        Ok(())
    }

    /// `ty.atomic.rmw{bits}.op_u`: returns the old value, zero-extended to `ty`.
    fn atomic_rmw(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        bits: u32,
        op: AtomicRmwOp,
    ) -> Result<(), CompileError> {
        let value = self.pop();
        let access = Type::int(bits as u16).expect("8, 16, 32 or 64 bits");
        let addr = self.atomic_address(memarg, bits / 8)?;
        let value = self.narrow(value, access);
        let old = self
            .b
            .ins()
            .atomic_rmw(access, heap_flags(), op, addr, value);
        let old = self.widen(old, ty);
        self.push(old);
        Ok(())
    }

    /// `ty.atomic.rmw{bits}.cmpxchg_u`: both operands are wrapped to `bits` (so an expected
    /// value with high bits set compares its low bits, as the specification says); returns the
    /// old value, zero-extended.
    fn atomic_cmpxchg(&mut self, memarg: &MemArg, ty: Type, bits: u32) -> Result<(), CompileError> {
        let (expected, replacement) = self.pop2();
        let access = Type::int(bits as u16).expect("8, 16, 32 or 64 bits");
        let addr = self.atomic_address(memarg, bits / 8)?;
        let expected = self.narrow(expected, access);
        let replacement = self.narrow(replacement, access);
        let old = self
            .b
            .ins()
            .atomic_cas(heap_flags(), addr, expected, replacement);
        let old = self.widen(old, ty);
        self.push(old);
        Ok(())
    }

    /// `memory.atomic.wait32/64`: `(index, expected, timeout: i64 ns) -> i32`.
    fn atomic_wait(&mut self, memarg: &MemArg, bits: u32) -> Result<(), CompileError> {
        let (expected, timeout) = self.pop2();
        let (memory, ea) = self.atomic_effective_address(memarg, bits / 8, true)?;
        if !self.is_shared_memory(memory) {
            // After the alignment and bounds traps, as wasmtime orders them.
            self.b
                .ins()
                .trap(crate::traps::trap_code(Trap::AtomicWaitNonShared));
            self.reachable = false;
            return Ok(());
        }
        let mem = self.b.ins().iconst(types::I32, i64::from(memory));
        let builtin = if bits == 32 {
            BuiltinIndex::memory_atomic_wait32
        } else {
            BuiltinIndex::memory_atomic_wait64
        };
        let r = self.call_builtin(builtin, &[mem, ea, expected, timeout]);
        self.push(r[0]);
        Ok(())
    }

    /// `memory.atomic.notify`: `(index, count) -> woken`.
    fn atomic_notify(&mut self, memarg: &MemArg) -> Result<(), CompileError> {
        let count = self.pop();
        let (memory, ea) = self.atomic_effective_address(memarg, 4, true)?;
        let woken = if self.is_shared_memory(memory) {
            let mem = self.b.ins().iconst(types::I32, i64::from(memory));
            self.call_builtin(BuiltinIndex::memory_atomic_notify, &[mem, ea, count])[0]
        } else {
            self.b.ins().iconst(types::I32, 0)
        };
        self.push(woken);
        Ok(())
    }

    /// `v` wrapped to the integer type `to` (no-op when it already has it).
    fn narrow(&mut self, v: Value, to: Type) -> Value {
        if self.b.func.dfg.value_type(v) == to {
            v
        } else {
            self.b.ins().ireduce(to, v)
        }
    }

    /// `v` zero-extended to the integer type `to` (no-op when it already has it).
    fn widen(&mut self, v: Value, to: Type) -> Value {
        if self.b.func.dfg.value_type(v) == to {
            v
        } else {
            self.b.ins().uextend(to, v)
        }
    }

    /// Atomic operators; returns false for any other operator.
    pub(super) fn translate_atomic(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{I32, I64};
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        use Operator as O;
        match op {
            O::AtomicFence { .. } => {
                self.b.ins().fence();
            }
            O::MemoryAtomicNotify { memarg } => self.atomic_notify(memarg)?,
            O::MemoryAtomicWait32 { memarg } => self.atomic_wait(memarg, 32)?,
            O::MemoryAtomicWait64 { memarg } => self.atomic_wait(memarg, 64)?,

            O::I32AtomicLoad { memarg } => self.atomic_load(memarg, I32, 32)?,
            O::I64AtomicLoad { memarg } => self.atomic_load(memarg, I64, 64)?,
            O::I32AtomicLoad8U { memarg } => self.atomic_load(memarg, I32, 8)?,
            O::I32AtomicLoad16U { memarg } => self.atomic_load(memarg, I32, 16)?,
            O::I64AtomicLoad8U { memarg } => self.atomic_load(memarg, I64, 8)?,
            O::I64AtomicLoad16U { memarg } => self.atomic_load(memarg, I64, 16)?,
            O::I64AtomicLoad32U { memarg } => self.atomic_load(memarg, I64, 32)?,

            O::I32AtomicStore { memarg } => self.atomic_store(memarg, 32)?,
            O::I64AtomicStore { memarg } => self.atomic_store(memarg, 64)?,
            O::I32AtomicStore8 { memarg } | O::I64AtomicStore8 { memarg } => {
                self.atomic_store(memarg, 8)?
            }
            O::I32AtomicStore16 { memarg } | O::I64AtomicStore16 { memarg } => {
                self.atomic_store(memarg, 16)?
            }
            O::I64AtomicStore32 { memarg } => self.atomic_store(memarg, 32)?,

            O::I32AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, I32, 32, Add)?,
            O::I64AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, I64, 64, Add)?,
            O::I32AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, I32, 8, Add)?,
            O::I32AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, I32, 16, Add)?,
            O::I64AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, I64, 8, Add)?,
            O::I64AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, I64, 16, Add)?,
            O::I64AtomicRmw32AddU { memarg } => self.atomic_rmw(memarg, I64, 32, Add)?,

            O::I32AtomicRmwSub { memarg } => self.atomic_rmw(memarg, I32, 32, Sub)?,
            O::I64AtomicRmwSub { memarg } => self.atomic_rmw(memarg, I64, 64, Sub)?,
            O::I32AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, I32, 8, Sub)?,
            O::I32AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, I32, 16, Sub)?,
            O::I64AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, I64, 8, Sub)?,
            O::I64AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, I64, 16, Sub)?,
            O::I64AtomicRmw32SubU { memarg } => self.atomic_rmw(memarg, I64, 32, Sub)?,

            O::I32AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, I32, 32, And)?,
            O::I64AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, I64, 64, And)?,
            O::I32AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, I32, 8, And)?,
            O::I32AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, I32, 16, And)?,
            O::I64AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, I64, 8, And)?,
            O::I64AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, I64, 16, And)?,
            O::I64AtomicRmw32AndU { memarg } => self.atomic_rmw(memarg, I64, 32, And)?,

            O::I32AtomicRmwOr { memarg } => self.atomic_rmw(memarg, I32, 32, Or)?,
            O::I64AtomicRmwOr { memarg } => self.atomic_rmw(memarg, I64, 64, Or)?,
            O::I32AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, I32, 8, Or)?,
            O::I32AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, I32, 16, Or)?,
            O::I64AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, I64, 8, Or)?,
            O::I64AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, I64, 16, Or)?,
            O::I64AtomicRmw32OrU { memarg } => self.atomic_rmw(memarg, I64, 32, Or)?,

            O::I32AtomicRmwXor { memarg } => self.atomic_rmw(memarg, I32, 32, Xor)?,
            O::I64AtomicRmwXor { memarg } => self.atomic_rmw(memarg, I64, 64, Xor)?,
            O::I32AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, I32, 8, Xor)?,
            O::I32AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, I32, 16, Xor)?,
            O::I64AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, I64, 8, Xor)?,
            O::I64AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, I64, 16, Xor)?,
            O::I64AtomicRmw32XorU { memarg } => self.atomic_rmw(memarg, I64, 32, Xor)?,

            O::I32AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, I32, 32, Xchg)?,
            O::I64AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, I64, 64, Xchg)?,
            O::I32AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, I32, 8, Xchg)?,
            O::I32AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, I32, 16, Xchg)?,
            O::I64AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, I64, 8, Xchg)?,
            O::I64AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, I64, 16, Xchg)?,
            O::I64AtomicRmw32XchgU { memarg } => self.atomic_rmw(memarg, I64, 32, Xchg)?,

            O::I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I32, 32)?,
            O::I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I64, 64)?,
            O::I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, 8)?,
            O::I32AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, 16)?,
            O::I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, 8)?,
            O::I64AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, 16)?,
            O::I64AtomicRmw32CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, 32)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}
