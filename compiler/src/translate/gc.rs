//! Garbage collection (WebAssembly 3.0): i31 references, structs, arrays, casts and the
//! `any`/`extern` conversions, in the object layout and reference encoding of
//! `wasic_abi::gc`.
//!
//! Structs and arrays of up to [`MAX_INLINE_ARRAY_LEN`] elements are allocated inline: a bump
//! of the store's `VMLimits::gc_next` when the object fits below `gc_end`, a builtin
//! otherwise (which may collect). The operations that read segments are builtins. Element accesses and fills are inline, bounds-checked against the length in
//! the header.
//!
//! A cast compares the object's canonical type id with the target's; only when they differ and
//! the target type is not final (so that a subtype may exist) does it look at the object
//! type's subtype display (`VMContext::type_displays`): two more loads, no call. The
//! collector does not move objects and needs no barriers.

use super::{FuncTranslator, POINTER};
use crate::error::CompileError;
use crate::module::ref_type;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::gc;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::{HeapType, RefType, StorageType, Trap, ValType};
use wasmparser::Operator;

/// Arrays of up to this many elements are allocated inline (when they fit in the current run).
const MAX_INLINE_ARRAY_LEN: i64 = 1 << 16;

/// How a field is read: sign- or zero-extended when packed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extend {
    None,
    Signed,
    Unsigned,
}

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::RefI31 => {
                let x = self.pop();
                let shifted = self.b.ins().ishl_imm_u(x, 1);
                let tagged = self.b.ins().bor_imm_u(shifted, gc::I31_TAG as i64);
                let v = self.b.ins().uextend(POINTER, tagged);
                self.push(v);
            }
            O::I31GetS | O::I31GetU => {
                let r = self.pop();
                self.trap_unless(r, Trap::NullI31Reference);
                let low = self.b.ins().ireduce(types::I32, r);
                let v = if matches!(op, O::I31GetS) {
                    self.b.ins().sshr_imm_u(low, 1)
                } else {
                    self.b.ins().ushr_imm_u(low, 1)
                };
                self.push(v);
            }
            O::RefEq => {
                let (a, b) = self.pop2();
                let c = self.b.ins().icmp(IntCC::Equal, a, b);
                let v = self.b.ins().uextend(types::I32, c);
                self.push(v);
            }
            // One encoding for both hierarchies (`wasic_abi::gc`): nothing to convert.
            O::AnyConvertExtern | O::ExternConvertAny => {}
            O::StructNew { struct_type_index } => {
                let n = self.env.struct_fields(struct_type_index).len();
                let values = self.stack.split_off(self.stack.len() - n);
                let obj = self.struct_alloc(struct_type_index);
                for (i, v) in values.into_iter().enumerate() {
                    self.store_field(struct_type_index, obj, i, v);
                }
                self.push(obj);
            }
            O::StructNewDefault { struct_type_index } => {
                let obj = self.struct_alloc(struct_type_index);
                let size = self.struct_size(struct_type_index);
                let zero = self.b.ins().iconst(types::I64, 0);
                for off in (gc::HEADER_SIZE..size).step_by(8) {
                    self.b
                        .ins()
                        .store(MemFlagsData::trusted(), zero, obj, off as i32);
                }
                self.push(obj);
            }
            O::StructGet {
                struct_type_index,
                field_index,
            }
            | O::StructGetS {
                struct_type_index,
                field_index,
            }
            | O::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let extend = match op {
                    O::StructGetS { .. } => Extend::Signed,
                    O::StructGetU { .. } => Extend::Unsigned,
                    _ => Extend::None,
                };
                let obj = self.pop();
                self.trap_unless(obj, Trap::NullStructReference);
                let i = field_index as usize;
                let storage = self.env.struct_fields(struct_type_index)[i].storage;
                let off = self.field_offset(struct_type_index, i);
                let v = self.load_storage(storage, obj, off, extend);
                self.push(v);
            }
            O::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (obj, v) = self.pop2();
                self.trap_unless(obj, Trap::NullStructReference);
                self.store_field(struct_type_index, obj, field_index as usize, v);
            }
            O::ArrayNew { array_type_index } => {
                let (init, len) = self.pop2();
                let arr = self.array_alloc(array_type_index, len);
                let zero = self.b.ins().iconst(types::I32, 0);
                self.array_fill_range(array_type_index, arr, zero, len, init);
                self.push(arr);
            }
            O::ArrayNewDefault { array_type_index } => {
                let len = self.pop();
                let arr = self.array_alloc(array_type_index, len);
                let zero = self.zero_elem(array_type_index);
                let first = self.b.ins().iconst(types::I32, 0);
                self.array_fill_range(array_type_index, arr, first, len, zero);
                self.push(arr);
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let values = self.stack.split_off(self.stack.len() - array_size as usize);
                let len = self.b.ins().iconst(types::I32, i64::from(array_size));
                let arr = self.array_alloc(array_type_index, len);
                let storage = self.env.array_elem(array_type_index).storage;
                let size = gc::storage_size(storage);
                for (i, v) in values.into_iter().enumerate() {
                    let off = gc::ARRAY_DATA_OFFSET + i as u32 * size;
                    self.store_storage(storage, arr, off, v);
                }
                self.push(arr);
            }
            O::ArrayNewData {
                array_type_index,
                array_data_index,
            }
            | O::ArrayNewElem {
                array_type_index,
                array_elem_index: array_data_index,
            } => {
                let (offset, len) = self.pop2();
                let builtin = if matches!(op, O::ArrayNewData { .. }) {
                    BuiltinIndex::array_new_data
                } else {
                    BuiltinIndex::array_new_elem
                };
                let ty = self.b.ins().iconst(types::I32, i64::from(array_type_index));
                let seg = self.b.ins().iconst(types::I32, i64::from(array_data_index));
                let arr = self.call_builtin(builtin, &[ty, seg, offset, len])[0];
                self.push(arr);
            }
            O::ArrayGet { array_type_index }
            | O::ArrayGetS { array_type_index }
            | O::ArrayGetU { array_type_index } => {
                let extend = match op {
                    O::ArrayGetS { .. } => Extend::Signed,
                    O::ArrayGetU { .. } => Extend::Unsigned,
                    _ => Extend::None,
                };
                let (arr, i) = self.pop2();
                let addr = self.array_elem_addr(array_type_index, arr, i);
                let storage = self.env.array_elem(array_type_index).storage;
                let v = self.load_storage(storage, addr, 0, extend);
                self.push(v);
            }
            O::ArraySet { array_type_index } => {
                let (arr, i, v) = self.pop3();
                let addr = self.array_elem_addr(array_type_index, arr, i);
                let storage = self.env.array_elem(array_type_index).storage;
                self.store_storage(storage, addr, 0, v);
            }
            O::ArrayLen => {
                let arr = self.pop();
                let len = self.array_len(arr);
                self.push(len);
            }
            O::ArrayFill { array_type_index } => {
                let n = self.pop();
                let (arr, i, v) = self.pop3();
                let len = self.array_len(arr);
                self.check_array_range(i, n, len);
                self.array_fill_range(array_type_index, arr, i, n, v);
            }
            O::ArrayCopy {
                array_type_index_dst,
                array_type_index_src,
            } => {
                let n = self.pop();
                let src_i = self.pop();
                let (dst, dst_i, src) = self.pop3();
                let dst_len = self.array_len(dst);
                let src_len = self.array_len(src);
                self.check_array_range(dst_i, n, dst_len);
                self.check_array_range(src_i, n, src_len);
                let d = self.elem_addr(array_type_index_dst, dst, dst_i);
                let s = self.elem_addr(array_type_index_src, src, src_i);
                let bytes = self.elem_bytes(array_type_index_dst, n);
                self.call_builtin(BuiltinIndex::memmove, &[d, s, bytes]);
            }
            O::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let (dst, src, n) = self.pop3();
                let arr = self.pop();
                let d = self.checked_elem_range(array_type_index, arr, dst, n);
                let ty = self.b.ins().iconst(types::I32, i64::from(array_type_index));
                let seg = self.b.ins().iconst(types::I32, i64::from(array_data_index));
                self.call_builtin(BuiltinIndex::array_init_data, &[ty, seg, d, src, n]);
            }
            O::ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => {
                let (dst, src, n) = self.pop3();
                let arr = self.pop();
                let d = self.checked_elem_range(array_type_index, arr, dst, n);
                let seg = self.b.ins().iconst(types::I32, i64::from(array_elem_index));
                self.call_builtin(BuiltinIndex::array_init_elem, &[seg, d, src, n]);
            }
            O::RefTestNonNull { hty } | O::RefTestNullable { hty } => {
                let to = self.convert_ref(matches!(op, O::RefTestNullable { .. }), hty)?;
                let r = self.pop();
                let ok = self.ref_matches(r, to);
                let v = self.b.ins().uextend(types::I32, ok);
                self.push(v);
            }
            O::RefCastNonNull { hty } | O::RefCastNullable { hty } => {
                let to = self.convert_ref(matches!(op, O::RefCastNullable { .. }), hty)?;
                let r = *self.stack.last().expect("validated");
                let ok = self.ref_matches(r, to);
                self.trap_unless(ok, Trap::CastFailure);
            }
            O::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | O::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let to = ref_type(to_ref_type, &self.env.kinds, self.offset)?;
                let r = *self.stack.last().expect("validated");
                let ok = self.ref_matches(r, to);
                self.branch_if(ok, matches!(op, O::BrOnCast { .. }), relative_depth);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn convert_ref(
        &self,
        nullable: bool,
        hty: wasmparser::HeapType,
    ) -> Result<RefType, CompileError> {
        let rt = wasmparser::RefType::new(nullable, hty).ok_or_else(|| {
            CompileError::unsupported("heap type index out of range", self.offset)
        })?;
        ref_type(rt, &self.env.kinds, self.offset)
    }

    /// The canonical type id of type index `ty`, from the instance's type id table.
    fn canonical_type_id(&mut self, ty: u32) -> Value {
        let off = self.offsets().type_id(ty);
        self.load_readonly(types::I32, self.vmctx, off)
    }

    fn struct_size(&self, ty: u32) -> u32 {
        self.env.struct_layouts[ty as usize]
            .as_ref()
            .map_or(gc::HEADER_SIZE, |l| l.size)
    }

    fn field_offset(&self, ty: u32, field: usize) -> u32 {
        self.env.struct_layouts[ty as usize]
            .as_ref()
            .map_or(gc::HEADER_SIZE, |l| l.fields[field])
    }

    /// A new struct of type index `ty` with its header written and its fields not yet: a bump
    /// of the store's allocation pointer, or the `gc_alloc` builtin when the run is used up.
    fn struct_alloc(&mut self, ty: u32) -> Value {
        let size = self.struct_size(ty);
        let bytes = self.b.ins().iconst(POINTER, i64::from(size));
        let word = gc::size_word(u64::from(size), false);
        let word = self.b.ins().iconst(types::I32, i64::from(word));
        let small = self.b.ins().iconst(types::I8, 1);
        self.bump_alloc(ty, bytes, word, small, |t| {
            let ty = t.b.ins().iconst(types::I32, i64::from(ty));
            let s = t.b.ins().iconst(types::I32, i64::from(size));
            t.call_builtin(BuiltinIndex::gc_alloc, &[ty, s])[0]
        })
    }

    /// A new array of type index `ty` and `len` (i32) elements, its header and length written,
    /// its elements not necessarily zero (the callers store every one): a bump when it is
    /// small and fits in the current run, the `array_new` builtin otherwise.
    fn array_alloc(&mut self, ty: u32, len: Value) -> Value {
        let size = gc::storage_size(self.env.array_elem(ty).storage);
        let n = self.b.ins().uextend(POINTER, len);
        let data = self.b.ins().imul_imm_u(n, i64::from(size));
        let unrounded = self
            .b
            .ins()
            .iadd_imm_u(data, i64::from(gc::ARRAY_DATA_OFFSET + 7));
        let bytes = self.b.ins().band_imm_u(unrounded, !7i64);
        let words = self.b.ins().ushr_imm_u(bytes, 3);
        let words = self.b.ins().ireduce(types::I32, words);
        let word = self.b.ins().bor_imm_u(words, i64::from(gc::ARRAY_BIT));
        // Small enough for the size field by far; bigger arrays take the builtin.
        let small =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, len, MAX_INLINE_ARRAY_LEN);
        let arr = self.bump_alloc(ty, bytes, word, small, |t| {
            let ty = t.b.ins().iconst(types::I32, i64::from(ty));
            t.call_builtin(BuiltinIndex::array_new, &[ty, len])[0]
        });
        self.b.ins().store(
            MemFlagsData::trusted(),
            len,
            arr,
            gc::ARRAY_LEN_OFFSET as i32,
        );
        arr
    }

    /// An object of type index `ty`: `bytes` (pointer-sized) bumped off the store's current
    /// run when `small` (an `i8`) holds and it fits, with its header written from the type's
    /// canonical id and `size_word`; otherwise what `slow` (a builtin) returns.
    fn bump_alloc(
        &mut self,
        ty: u32,
        bytes: Value,
        size_word: Value,
        small: Value,
        slow: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let limits = self.load_readonly(POINTER, self.vmctx, VMOffsets::LIMITS);
        let flags = MemFlagsData::trusted();
        let next = self
            .b
            .ins()
            .load(POINTER, flags, limits, VMOffsets::LIMITS_GC_NEXT as i32);
        let end = self
            .b
            .ins()
            .load(POINTER, flags, limits, VMOffsets::LIMITS_GC_END as i32);
        let bumped = self.b.ins().iadd(next, bytes);
        let fits = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, bumped, end);
        let fits = self.b.ins().band(fits, small);
        let fast = self.b.create_block();
        let slow_block = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, POINTER);
        self.b.ins().brif(fits, fast, &[], slow_block, &[]);
        self.b.seal_block(fast);
        self.b.seal_block(slow_block);

        self.b.switch_to_block(fast);
        self.b
            .ins()
            .store(flags, bumped, limits, VMOffsets::LIMITS_GC_NEXT as i32);
        let id = self.canonical_type_id(ty);
        self.b
            .ins()
            .store(flags, id, next, gc::TYPE_ID_OFFSET as i32);
        self.b
            .ins()
            .store(flags, size_word, next, gc::WORDS_OFFSET as i32);
        self.b.ins().jump(done, &[next.into()]);

        self.b.switch_to_block(slow_block);
        self.b.set_cold_block(slow_block);
        let p = slow(self);
        self.b.ins().jump(done, &[p.into()]);

        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.b.block_params(done)[0]
    }

    /// The zero of array type `ty`'s elements, as stored.
    fn zero_elem(&mut self, ty: u32) -> Value {
        match self.env.array_elem(ty).storage.unpacked() {
            ValType::F32 => self.b.ins().f32const(0.0),
            ValType::F64 => self.b.ins().f64const(0.0),
            ValType::V128 => {
                let zeros = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
                self.b.ins().vconst(types::I8X16, zeros)
            }
            t => self.b.ins().iconst(super::ir_type(t), 0),
        }
    }

    /// The length (i32) of array `arr`, trapping on null.
    fn array_len(&mut self, arr: Value) -> Value {
        self.trap_unless(arr, Trap::NullArrayReference);
        self.b.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            arr,
            gc::ARRAY_LEN_OFFSET as i32,
        )
    }

    /// Traps unless `start + n <= len` (all i32, compared without wrapping).
    fn check_array_range(&mut self, start: Value, n: Value, len: Value) {
        let start = self.b.ins().uextend(types::I64, start);
        let n = self.b.ins().uextend(types::I64, n);
        let len = self.b.ins().uextend(types::I64, len);
        let end = self.b.ins().iadd(start, n);
        let out = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(out, Trap::ArrayOutOfBounds);
    }

    /// Address of element `i` (i32) of array `arr` of type index `ty`, trapping on null and
    /// out of bounds.
    fn array_elem_addr(&mut self, ty: u32, arr: Value, i: Value) -> Value {
        let len = self.array_len(arr);
        let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, i, len);
        self.trap_if(out, Trap::ArrayOutOfBounds);
        self.elem_addr(ty, arr, i)
    }

    /// Address of element `start` of array `arr` (of type index `ty`), trapping on null and
    /// unless elements `start..start + n` are in it.
    fn checked_elem_range(&mut self, ty: u32, arr: Value, start: Value, n: Value) -> Value {
        let len = self.array_len(arr);
        self.check_array_range(start, n, len);
        self.elem_addr(ty, arr, start)
    }

    /// Bytes of `n` (i32) elements of array type index `ty`, pointer-sized.
    fn elem_bytes(&mut self, ty: u32, n: Value) -> Value {
        let size = gc::storage_size(self.env.array_elem(ty).storage);
        let n = self.b.ins().uextend(POINTER, n);
        self.b.ins().imul_imm_u(n, i64::from(size))
    }

    /// Address of element `i` of array `arr`, unchecked.
    fn elem_addr(&mut self, ty: u32, arr: Value, i: Value) -> Value {
        let size = gc::storage_size(self.env.array_elem(ty).storage);
        let i = self.b.ins().uextend(POINTER, i);
        let scaled = self.b.ins().imul_imm_u(i, i64::from(size));
        let at = self.b.ins().iadd(arr, scaled);
        self.b
            .ins()
            .iadd_imm_u(at, i64::from(gc::ARRAY_DATA_OFFSET))
    }

    /// Stores `v` into elements `start..start + n` of `arr` (checked by the caller).
    fn array_fill_range(&mut self, ty: u32, arr: Value, start: Value, n: Value, v: Value) {
        let storage = self.env.array_elem(ty).storage;
        let size = gc::storage_size(storage);
        let first = self.elem_addr(ty, arr, start);
        let bytes = self.elem_bytes(ty, n);
        let end = self.b.ins().iadd(first, bytes);
        let header = self.b.create_block();
        let body = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(header, POINTER);
        self.b.ins().jump(header, &[first.into()]);
        self.b.switch_to_block(header);
        let p = self.b.block_params(header)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, p, end);
        self.b.ins().brif(more, body, &[], exit, &[]);
        self.b.switch_to_block(body);
        self.b.seal_block(body);
        self.store_storage(storage, p, 0, v);
        let next = self.b.ins().iadd_imm_u(p, i64::from(size));
        self.b.ins().jump(header, &[next.into()]);
        self.b.seal_block(header);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
    }

    fn store_field(&mut self, ty: u32, obj: Value, field: usize, v: Value) {
        let storage = self.env.struct_fields(ty)[field].storage;
        let off = self.field_offset(ty, field);
        self.store_storage(storage, obj, off, v);
    }

    fn store_storage(&mut self, storage: StorageType, base: Value, off: u32, v: Value) {
        let flags = MemFlagsData::trusted();
        let off = off as i32;
        match storage {
            StorageType::I8 => {
                self.b.ins().istore8(flags, v, base, off);
            }
            StorageType::I16 => {
                self.b.ins().istore16(flags, v, base, off);
            }
            StorageType::Val(_) => {
                self.b.ins().store(flags, v, base, off);
            }
        }
    }

    fn load_storage(&mut self, storage: StorageType, base: Value, off: u32, ext: Extend) -> Value {
        let flags = MemFlagsData::trusted();
        let off = off as i32;
        match (storage, ext) {
            (StorageType::I8, Extend::Signed) => self.b.ins().sload8(types::I32, flags, base, off),
            (StorageType::I8, _) => self.b.ins().uload8(types::I32, flags, base, off),
            (StorageType::I16, Extend::Signed) => {
                self.b.ins().sload16(types::I32, flags, base, off)
            }
            (StorageType::I16, _) => self.b.ins().uload16(types::I32, flags, base, off),
            (StorageType::Val(t), _) => {
                let ty: Type = super::ir_type(t);
                self.b.ins().load(ty, flags, base, off)
            }
        }
    }

    /// Whether reference `r` is a value of `to` (an `i8` 0 or 1).
    pub(super) fn ref_matches(&mut self, r: Value, to: RefType) -> Value {
        let is_null = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let null_result = self.b.ins().iconst(types::I8, i64::from(to.nullable));
        let non_null = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I8);
        self.b
            .ins()
            .brif(is_null, done, &[null_result.into()], non_null, &[]);
        self.b.seal_block(non_null);
        self.b.switch_to_block(non_null);
        let yes = self.non_null_matches(r, to.heap);
        self.b.ins().jump(done, &[yes.into()]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.b.block_params(done)[0]
    }

    /// Whether non-null `r` is of heap type `heap` (an `i8`).
    fn non_null_matches(&mut self, r: Value, heap: HeapType) -> Value {
        let one = |t: &mut Self| t.b.ins().iconst(types::I8, 1);
        match heap {
            HeapType::Any | HeapType::Extern | HeapType::Func | HeapType::Exn => one(self),
            HeapType::None | HeapType::NoExtern | HeapType::NoFunc | HeapType::NoExn => {
                self.b.ins().iconst(types::I8, 0)
            }
            HeapType::I31 => {
                let bit = self.b.ins().band_imm_u(r, gc::I31_TAG as i64);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, bit, 0)
            }
            HeapType::Eq => {
                let low = self.b.ins().band_imm_u(r, 3);
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::NotEqual, low, gc::HOST_TAG as i64)
            }
            HeapType::Struct | HeapType::Array => self.object_test(r, |t, obj| {
                let words = t.b.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    obj,
                    gc::WORDS_OFFSET as i32,
                );
                let bit = t.b.ins().band_imm_u(words, i64::from(gc::ARRAY_BIT));
                let cc = if heap == HeapType::Array {
                    IntCC::NotEqual
                } else {
                    IntCC::Equal
                };
                t.b.ins().icmp_imm_u(cc, bit, 0)
            }),
            HeapType::ConcreteStruct(ty) | HeapType::ConcreteArray(ty) => {
                self.object_test(r, |t, obj| {
                    let id = t.b.ins().load(
                        types::I32,
                        MemFlagsData::trusted(),
                        obj,
                        gc::TYPE_ID_OFFSET as i32,
                    );
                    t.type_id_matches(id, ty)
                })
            }
            HeapType::Concrete(ty) => {
                let id = self.b.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    r,
                    VMOffsets::FUNCREF_TYPE_ID as i32,
                );
                self.type_id_matches(id, ty)
            }
        }
    }

    /// For a non-null `r` of the `any` hierarchy: whether it is an object (not an i31 or a
    /// host value) for which `test` (given the object) holds.
    fn object_test(&mut self, r: Value, test: impl FnOnce(&mut Self, Value) -> Value) -> Value {
        let low = self.b.ins().band_imm_u(r, 7);
        let is_object = self.b.ins().icmp_imm_u(IntCC::Equal, low, 0);
        let object = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I8);
        let no = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(is_object, object, &[], done, &[no.into()]);
        self.b.seal_block(object);
        self.b.switch_to_block(object);
        let yes = test(self, r);
        self.b.ins().jump(done, &[yes.into()]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.b.block_params(done)[0]
    }

    /// Whether canonical type id `id` (i32) is type index `ty` or, when `ty` is not final, one
    /// of its subtypes: then the id's subtype display must have `ty` at `ty`'s depth
    /// (`VMContext::type_displays`).
    pub(super) fn type_id_matches(&mut self, id: Value, ty: u32) -> Value {
        let want = self.canonical_type_id(ty);
        let same = self.b.ins().icmp(IntCC::Equal, id, want);
        if self.env.subtypes[ty as usize].is_final {
            return same;
        }
        let mut depth = 0u32;
        let mut t = ty;
        while let Some(s) = self.env.subtypes[t as usize].supertype {
            depth += 1;
            t = s;
        }
        let slow = self.b.create_block();
        let deep = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I8);
        let yes = self.b.ins().iconst(types::I8, 1);
        self.b.ins().brif(same, done, &[yes.into()], slow, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let table = self.load_readonly(POINTER, self.vmctx, VMOffsets::TYPE_DISPLAYS);
        let index = self.b.ins().uextend(POINTER, id);
        let scaled = self.b.ins().ishl_imm_u(index, 3);
        let entry = self.b.ins().iadd(table, scaled);
        // Displays never change once an id exists.
        let flags = MemFlagsData::trusted().with_readonly();
        let display = self.b.ins().load(POINTER, flags, entry, 0);
        let len = self.b.ins().load(types::I32, flags, display, 0);
        let long_enough =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThan, len, i64::from(depth));
        let no = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(long_enough, deep, &[], done, &[no.into()]);
        self.b.seal_block(deep);
        self.b.switch_to_block(deep);
        let ancestor = self
            .b
            .ins()
            .load(types::I32, flags, display, (4 + 4 * depth) as i32);
        let r = self.b.ins().icmp(IntCC::Equal, ancestor, want);
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.b.block_params(done)[0]
    }
}
