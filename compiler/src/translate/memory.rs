//! Linear memory: loads, stores, memory.size/grow and the bulk memory operators.
//!
//! SANDBOX-CRITICAL. Accesses to 32-bit memories carry no bounds check: the runtime reserves
//! [`wasic_abi::MEMORY_RESERVATION`] (8 GiB) of address space per memory and the effective
//! address `base + zext(i32 index) + u32 offset` is always below `base + 2^33`, so any
//! out-of-bounds access hits an inaccessible page. Each access is flagged with the
//! `HEAP_OUT_OF_BOUNDS` trap code so Cranelift records it as a trap site and the runtime's
//! signal handler can turn the fault into `Trap::MemoryOutOfBounds`.
//!
//! 64-bit memories (memory64) cannot rely on guard pages: an i64 index can point anywhere. Each
//! of their accesses gets an explicit check `index + offset + access_size <= VMMemory.length`
//! (the additions trap on u64 overflow), trapping with `MemoryOutOfBounds` before the access;
//! the length is reloaded on every access since `memory.grow` (also in a callee) changes it.
//! Their base never moves either (the runtime reserves their whole maximum up front).
//!
//! `memory.copy` and `memory.fill` (with the `libc_memops` optimization; without it they call
//! the `memory_copy` / `memory_fill` builtins, which check and copy in the runtime):
//!
//! * In general, an explicit check `start + len <= length` of each range (u64 arithmetic that
//!   cannot wrap, against the current length), trapping before anything is written as the
//!   specification requires, then a direct call of the C library's `memmove` / `memset` with
//!   the native addresses ([`BuiltinIndex::memmove`]: no runtime code in between).
//! * A constant length of at most [`INLINE_MAX`] bytes becomes plain loads and stores of up to
//!   16 bytes ([`chunks`]). For a 64-bit memory the ranges are checked explicitly as above. A
//!   32-bit memory relies on its guard pages like any access, and the order of the accesses
//!   keeps the "nothing written on a trap" rule: all loads come before the first store (so an
//!   out-of-bounds source faults before any write, and overlapping ranges behave like
//!   `memmove`), and the first store is the chunk holding the last byte of the destination.
//!   The accessible part of a memory is exactly `[0, length)`, so if that store does not fault
//!   the whole destination `[dst, dst + len)` is in bounds and the remaining stores cannot
//!   fault either. (`dst + len` is below `2^32 + INLINE_MAX`, inside the reservation.)
//!
//! Atomic accesses (threads proposal, also valid on non-shared memories) first trap with
//! `HeapMisaligned` ("unaligned atomic") unless the effective address `index + offset` is a
//! multiple of the access size, as the specification orders it. An aligned access of at most
//! 8 bytes cannot straddle the end of the accessible part, whose length is a multiple of the
//! 64 KiB page, so 32-bit memories still need no bounds check: the access is entirely in bounds
//! or entirely past the end, where it faults like any access. 64-bit memories get the explicit
//! check. `memory.atomic.wait*` / `notify` touch memory in the runtime (or not at all), not in
//! compiled code, so they are always checked explicitly.

use super::{FuncTranslator, POINTER};
use crate::error::CompileError;
use crate::idioms::LibcFunction;
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, TrapCode, Type, Value};
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::{MemArg, MemArgTarget, Operator};

/// The largest constant length of a `memory.copy` / `memory.fill` expanded into loads and
/// stores (at most 8 of each); longer or variable lengths call the C library.
pub(super) const INLINE_MAX: u64 = 128;

/// The accesses an inline copy or fill of `n` bytes (`1..=INLINE_MAX`) is made of, as
/// `(offset, type)`, the one holding the last byte first (see the module comment). One size is
/// used, the largest power of two up to `min(n, 16)`: pieces at `0, c, 2c, ...` and a last one
/// ending exactly at `n`, overlapping its neighbour when `c` does not divide `n`.
pub(super) fn chunks(n: u64) -> Vec<(u64, Type)> {
    debug_assert!((1..=INLINE_MAX).contains(&n));
    let c = 1u64 << n.min(16).ilog2();
    let ty = match c {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        8 => types::I64,
        _ => types::I8X16,
    };
    let last = n - c;
    let mut out = vec![(last, ty)];
    out.extend((0..last.div_ceil(c)).rev().map(|k| (k * c, ty)));
    out
}

/// Flags of every wasm linear-memory access.
pub(super) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

impl FuncTranslator<'_, '_> {
    /// Pointer to memory `index`'s `VMMemory` record.
    fn memory_ptr(&mut self, index: u32) -> Value {
        let off = self.offsets().memory(index);
        self.load_readonly(POINTER, self.vmctx, off)
    }

    /// Base address of memory `index`. Memories never move, so the load may be hoisted freely:
    /// Cranelift loads it once per function and keeps it in a register. (Keeping memory 0's
    /// base in Cranelift's pinned register instead was measured and lost: every read of the
    /// pinned register is a copy into an allocatable one, so it saves no instruction, and the
    /// allocator has one register fewer.)
    fn memory_base(&mut self, index: u32) -> Value {
        if index == 0 {
            self.load_readonly(POINTER, self.vmctx, VMOffsets::MEMORY0_BASE)
        } else {
            let mem = self.memory_ptr(index);
            self.load_readonly(POINTER, mem, VMOffsets::MEMORY_BASE)
        }
    }

    /// Whether memory `index` is a 64-bit memory.
    pub(super) fn is_memory64(&self, index: u32) -> bool {
        self.env.memories[index as usize].memory64
    }

    /// The current length in bytes of memory `index`. Not readonly: `memory.grow` changes it.
    fn memory_length(&mut self, index: u32) -> Value {
        let mem = self.memory_ptr(index);
        self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            mem,
            VMOffsets::MEMORY_LENGTH as i32,
        )
    }

    /// Pops the index operand and computes the native address and immediate offset of an access
    /// of `access` bytes. Only 64-bit memories get a bounds check (see the module comment).
    pub(super) fn effective_address(
        &mut self,
        memarg: &MemArg,
        access: u32,
    ) -> Result<(Value, i32), CompileError> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            return Err(CompileError::unsupported(
                "GC array accesses are not supported",
                self.offset,
            ));
        };
        let index = self.pop();
        let index = if self.is_memory64(memory) {
            let code = trap_code(Trap::MemoryOutOfBounds);
            // end = index + offset + access, trapping when it overflows u64.
            let end = match memarg.offset.checked_add(u64::from(access)) {
                Some(k) => {
                    let k = self.b.ins().iconst(types::I64, k as i64);
                    self.b.ins().uadd_overflow_trap(index, k, code)
                }
                None => {
                    let o = self.b.ins().iconst(types::I64, memarg.offset as i64);
                    let e = self.b.ins().uadd_overflow_trap(index, o, code);
                    let a = self.b.ins().iconst(types::I64, i64::from(access));
                    self.b.ins().uadd_overflow_trap(e, a, code)
                }
            };
            let len = self.memory_length(memory);
            let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.trap_if(oob, Trap::MemoryOutOfBounds);
            index
        } else {
            self.b.ins().uextend(types::I64, index)
        };
        let base = self.memory_base(memory);
        let addr = self.b.ins().iadd(base, index);
        // The static offset is a u32 for 32-bit memories; use the instruction's immediate when it
        // fits, otherwise add it as an i64 immediate (still inside the 8 GiB reservation; for a
        // 64-bit memory the check above proved `addr + offset` in bounds).
        match i32::try_from(memarg.offset) {
            Ok(off) => Ok((addr, off)),
            Err(_) => Ok((self.b.ins().iadd_imm_u(addr, memarg.offset as i64), 0)),
        }
    }

    pub(super) fn load(&mut self, memarg: &MemArg, ty: Type) -> Result<(), CompileError> {
        let (addr, off) = self.effective_address(memarg, ty.bytes())?;
        let v = self.b.ins().load(ty, heap_flags(), addr, off);
        self.push(v);
        Ok(())
    }

    /// Narrow load extended to `ty`; `signed` chooses sign or zero extension.
    fn load_ext(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        bits: u8,
        signed: bool,
    ) -> Result<(), CompileError> {
        let (addr, off) = self.effective_address(memarg, u32::from(bits / 8))?;
        let f = heap_flags();
        let ins = self.b.ins();
        let v = match (bits, signed) {
            (8, true) => ins.sload8(ty, f, addr, off),
            (8, false) => ins.uload8(ty, f, addr, off),
            (16, true) => ins.sload16(ty, f, addr, off),
            (16, false) => ins.uload16(ty, f, addr, off),
            (32, true) => ins.sload32(f, addr, off),
            _ => ins.uload32(f, addr, off),
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn store(&mut self, memarg: &MemArg, bits: Option<u8>) -> Result<(), CompileError> {
        let value = self.pop();
        let size = match bits {
            Some(b) => u32::from(b / 8),
            None => self.b.func.dfg.value_type(value).bytes(),
        };
        let (addr, off) = self.effective_address(memarg, size)?;
        let f = heap_flags();
        // A narrow store of a constant as a `store` of a constant of that width: Cranelift
        // lowers that to one `mov $imm, mem` (it has no such rule for `istore8/16/32`, which
        // would first materialise the constant in a register: sieve's inner loop).
        if let (Some(b), Some(c)) = (bits, self.const_u64(value)) {
            let narrow = types::Type::int(u16::from(b)).expect("8, 16 or 32 bits");
            let c = self.b.ins().iconst(narrow, (c & ((1u64 << b) - 1)) as i64);
            self.b.ins().store(f, c, addr, off);
            return Ok(());
        }
        let ins = self.b.ins();
        match bits {
            None => ins.store(f, value, addr, off),
            Some(8) => ins.istore8(f, value, addr, off),
            Some(16) => ins.istore16(f, value, addr, off),
            Some(_) => ins.istore32(f, value, addr, off),
        };
        Ok(())
    }

    /// Pops the index operand of an atomic access of `access` bytes (1, 2, 4 or 8) to the memory
    /// `memarg` names and returns that memory and the effective address `index + offset` as a
    /// u64, after the alignment trap and the bounds check the module comment describes: explicit
    /// for 64-bit memories and whenever `checked` (an access made outside compiled code).
    pub(super) fn atomic_effective_address(
        &mut self,
        memarg: &MemArg,
        access: u32,
        checked: bool,
    ) -> Result<(u32, Value), CompileError> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            return Err(CompileError::unsupported(
                "GC array accesses are not supported",
                self.offset,
            ));
        };
        let memory64 = self.is_memory64(memory);
        let oob = trap_code(Trap::MemoryOutOfBounds);
        let index = self.pop();
        let index = self.zext_u64(index);
        // A 32-bit memory's `zext(index) + u32 offset` cannot wrap; a 64-bit one's sum traps
        // when it does (such an address is out of bounds anyway).
        let ea = match memarg.offset {
            0 => index,
            off => {
                let off = self.b.ins().iconst(types::I64, off as i64);
                if memory64 {
                    self.b.ins().uadd_overflow_trap(index, off, oob)
                } else {
                    self.b.ins().iadd(index, off)
                }
            }
        };
        if access > 1 {
            let low = self.b.ins().band_imm_u(ea, i64::from(access - 1));
            self.trap_if(low, Trap::HeapMisaligned);
        }
        if memory64 || checked {
            let size = self.b.ins().iconst(types::I64, i64::from(access));
            // An aligned `ea` can still be the last `access` bytes of the u64 range.
            let end = self.b.ins().uadd_overflow_trap(ea, size, oob);
            let len = self.memory_length(memory);
            let out = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.trap_if(out, Trap::MemoryOutOfBounds);
        }
        Ok((memory, ea))
    }

    /// The native address of an atomic access of `access` bytes made by compiled code (the
    /// instruction carries no offset: Cranelift's atomic instructions take none).
    pub(super) fn atomic_address(
        &mut self,
        memarg: &MemArg,
        access: u32,
    ) -> Result<Value, CompileError> {
        let (memory, ea) = self.atomic_effective_address(memarg, access, false)?;
        Ok(self.native_address(memory, ea))
    }

    /// Whether memory `index` is shared (threads proposal).
    pub(super) fn is_shared_memory(&self, index: u32) -> bool {
        self.env.memories[index as usize].shared
    }

    /// Zero-extends a 32-bit address or length to the builtins' u64.
    fn zext_u64(&mut self, v: Value) -> Value {
        if self.b.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            self.b.ins().uextend(types::I64, v)
        }
    }

    fn iconst32(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v))
    }

    /// Traps with `MemoryOutOfBounds` unless `[start, start + len)` lies in memory `mem`:
    /// `start + len <= length` in u64 arithmetic (both u64 here). For a 32-bit memory both are
    /// zero-extended u32s, so the sum cannot wrap; for a 64-bit one the addition traps on
    /// overflow. The length is read here, since `memory.grow` (also in a callee) changes it.
    fn check_range(&mut self, mem: u32, start: Value, len: Value) {
        let end = if self.is_memory64(mem) {
            let code = trap_code(Trap::MemoryOutOfBounds);
            self.b.ins().uadd_overflow_trap(start, len, code)
        } else {
            self.b.ins().iadd(start, len)
        };
        let length = self.memory_length(mem);
        let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
        self.trap_if(oob, Trap::MemoryOutOfBounds);
    }

    /// The native address of byte `index` (a u64) of memory `mem`, with no check.
    fn native_address(&mut self, mem: u32, index: Value) -> Value {
        let base = self.memory_base(mem);
        self.b.ins().iadd(base, index)
    }

    /// `memory.copy` with the `libc_memops` optimization (see the module comment).
    fn memory_copy(&mut self, dst_mem: u32, src_mem: u32, dst: Value, src: Value, len: Value) {
        let n = self.const_u64(len);
        let (dst, src, len) = (self.zext_u64(dst), self.zext_u64(src), self.zext_u64(len));
        match n {
            Some(0) => {
                self.check_range(dst_mem, dst, len);
                self.check_range(src_mem, src, len);
            }
            Some(n) if n <= INLINE_MAX => {
                for (mem, start) in [(dst_mem, dst), (src_mem, src)] {
                    if self.is_memory64(mem) {
                        self.check_range(mem, start, len);
                    }
                }
                let d = self.native_address(dst_mem, dst);
                let s = self.native_address(src_mem, src);
                let pieces = chunks(n);
                let values: Vec<Value> = pieces
                    .iter()
                    .map(|&(off, ty)| self.b.ins().load(ty, heap_flags(), s, off as i32))
                    .collect();
                for (&(off, _), v) in pieces.iter().zip(values) {
                    self.b.ins().store(heap_flags(), v, d, off as i32);
                }
            }
            _ => {
                self.check_range(dst_mem, dst, len);
                self.check_range(src_mem, src, len);
                let d = self.native_address(dst_mem, dst);
                let s = self.native_address(src_mem, src);
                self.call_builtin(BuiltinIndex::memmove, &[d, s, len]);
            }
        }
    }

    /// `memory.fill` with the `libc_memops` optimization (see the module comment). `val` is the
    /// i32 operand; only its low byte is stored.
    fn memory_fill(&mut self, mem: u32, dst: Value, val: Value, len: Value) {
        let n = self.const_u64(len);
        let (dst, len) = (self.zext_u64(dst), self.zext_u64(len));
        match n {
            Some(0) => self.check_range(mem, dst, len),
            Some(n) if n <= INLINE_MAX => {
                if self.is_memory64(mem) {
                    self.check_range(mem, dst, len);
                }
                let d = self.native_address(mem, dst);
                let pieces = chunks(n);
                // Every piece has the same type: the byte repeated to its width.
                let byte = self.b.ins().ireduce(types::I8, val);
                let v = match pieces[0].1 {
                    types::I8 => byte,
                    types::I8X16 => self.b.ins().splat(types::I8X16, byte),
                    ty => {
                        let wide = self.b.ins().uextend(types::I64, byte);
                        let v = self.b.ins().imul_imm_u(wide, 0x0101_0101_0101_0101);
                        if ty == types::I64 {
                            v
                        } else {
                            self.b.ins().ireduce(ty, v)
                        }
                    }
                };
                for (off, _) in pieces {
                    self.b.ins().store(heap_flags(), v, d, off as i32);
                }
            }
            _ => {
                self.check_range(mem, dst, len);
                let d = self.native_address(mem, dst);
                self.call_builtin(BuiltinIndex::memset, &[d, val, len]);
            }
        }
    }

    /// The fast path in front of the body of a function recognised as a C library function
    /// (`idioms.rs`, which says why it gives the body's result): with `args` its parameters
    /// `(dst, src or c, n)`, when both ranges are inside memory 0 (and, for `memcpy`, do not
    /// overlap) it calls the C library's `memmove` / `memset` and returns `dst`; otherwise it
    /// goes on to the body, which the caller translates next.
    pub(super) fn libc_fast_path(&mut self, function: LibcFunction, args: &[Value]) {
        let (dst, arg, n) = (args[0], args[1], args[2]);
        let d = self.zext_u64(dst);
        let len = self.zext_u64(n);
        let length = self.memory_length(0);
        // Both ends are zero-extended u32 sums: no wrapping.
        let d_end = self.b.ins().iadd(d, len);
        let mut ok = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, d_end, length);
        let mut src = None;
        if function != LibcFunction::Memset {
            let s = self.zext_u64(arg);
            let s_end = self.b.ins().iadd(s, len);
            let in_bounds = self
                .b
                .ins()
                .icmp(IntCC::UnsignedLessThanOrEqual, s_end, length);
            ok = self.b.ins().band(ok, in_bounds);
            if function == LibcFunction::Memcpy {
                let below = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, d_end, s);
                let above = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, s_end, d);
                let disjoint = self.b.ins().bor(below, above);
                ok = self.b.ins().band(ok, disjoint);
            }
            src = Some(s);
        }
        let fast = self.b.create_block();
        let body = self.b.create_block();
        self.b.ins().brif(ok, fast, &[], body, &[]);
        self.b.seal_block(fast);
        self.b.seal_block(body);

        self.b.switch_to_block(fast);
        let d = self.native_address(0, d);
        match src {
            Some(s) => {
                let s = self.native_address(0, s);
                self.call_builtin(BuiltinIndex::memmove, &[d, s, len]);
            }
            None => {
                self.call_builtin(BuiltinIndex::memset, &[d, arg, len]);
            }
        }
        self.b.ins().return_(&[dst]);
        self.b.switch_to_block(body);
    }

    /// Memory operators; returns false for any other operator.
    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        use Operator as O;
        match op {
            O::I32Load { memarg } => self.load(memarg, I32)?,
            O::I64Load { memarg } => self.load(memarg, I64)?,
            O::F32Load { memarg } => self.load(memarg, F32)?,
            O::F64Load { memarg } => self.load(memarg, F64)?,
            O::I32Load8S { memarg } => self.load_ext(memarg, I32, 8, true)?,
            O::I32Load8U { memarg } => self.load_ext(memarg, I32, 8, false)?,
            O::I32Load16S { memarg } => self.load_ext(memarg, I32, 16, true)?,
            O::I32Load16U { memarg } => self.load_ext(memarg, I32, 16, false)?,
            O::I64Load8S { memarg } => self.load_ext(memarg, I64, 8, true)?,
            O::I64Load8U { memarg } => self.load_ext(memarg, I64, 8, false)?,
            O::I64Load16S { memarg } => self.load_ext(memarg, I64, 16, true)?,
            O::I64Load16U { memarg } => self.load_ext(memarg, I64, 16, false)?,
            O::I64Load32S { memarg } => self.load_ext(memarg, I64, 32, true)?,
            O::I64Load32U { memarg } => self.load_ext(memarg, I64, 32, false)?,
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.store(memarg, None)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, Some(8))?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, Some(16))?,
            O::I64Store32 { memarg } => self.store(memarg, Some(32))?,

            O::MemorySize { mem } => {
                let len = self.memory_length(*mem);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = if self.is_memory64(*mem) {
                    pages
                } else {
                    self.b.ins().ireduce(I32, pages)
                };
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.zext_u64(delta);
                let memory64 = self.is_memory64(*mem);
                let mem = self.iconst32(*mem);
                let old = self.call_builtin(BuiltinIndex::memory_grow, &[mem, delta]);
                // u64::MAX (failure) is -1 as an i64 and reduces to -1 as an i32; old sizes of
                // 32-bit memories fit in an i32.
                let v = if memory64 {
                    old[0]
                } else {
                    self.b.ins().ireduce(I32, old[0])
                };
                self.push(v);
            }
            O::MemoryFill { mem } => {
                let (dst, val, len) = self.pop3();
                if self.env.optimizations.libc_memops {
                    self.memory_fill(*mem, dst, val, len);
                } else {
                    let (dst, len) = (self.zext_u64(dst), self.zext_u64(len));
                    let mem = self.iconst32(*mem);
                    self.call_builtin(BuiltinIndex::memory_fill, &[mem, dst, val, len]);
                }
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                if self.env.optimizations.libc_memops {
                    self.memory_copy(*dst_mem, *src_mem, dst, src, len);
                } else {
                    let (dst, src) = (self.zext_u64(dst), self.zext_u64(src));
                    let len = self.zext_u64(len);
                    let (dm, sm) = (self.iconst32(*dst_mem), self.iconst32(*src_mem));
                    self.call_builtin(BuiltinIndex::memory_copy, &[dm, sm, dst, src, len]);
                }
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.zext_u64(dst);
                let (mem, data) = (self.iconst32(*mem), self.iconst32(*data_index));
                self.call_builtin(BuiltinIndex::memory_init, &[mem, data, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let data = self.iconst32(*data_index);
                self.call_builtin(BuiltinIndex::data_drop, &[data]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte of `[0, n)` is covered, no piece leaves it, and the first piece holds the last
    /// byte (the order the guard-page argument of the module comment relies on).
    #[test]
    fn chunks_cover_exactly_the_range_last_byte_first() {
        for n in 1..=INLINE_MAX {
            let pieces = chunks(n);
            assert!(pieces.len() <= 8, "{n}: {pieces:?}");
            let mut covered = vec![false; n as usize];
            for &(off, ty) in &pieces {
                let end = off + u64::from(ty.bytes());
                assert!(end <= n, "{n}: {pieces:?}");
                covered[off as usize..end as usize].fill(true);
            }
            assert!(covered.iter().all(|&c| c), "{n}: {pieces:?}");
            let (off, ty) = pieces[0];
            assert_eq!(off + u64::from(ty.bytes()), n, "{n}: {pieces:?}");
        }
    }
}
