//! Tables and references: table.get/set/size inline, the rest through builtins, plus
//! ref.null / ref.is_null / ref.func.
//!
//! A table is a `VMTable { base, length }` reached through the `VMContext`; `base` moves when
//! the table grows (possibly inside any call), so it is reloaded on every access. Except, with
//! the `static_tables` optimization, for a table whose type's maximum is its minimum: it can
//! never grow (an imported one neither: linking requires the exporter's limits to lie within
//! the declared ones), so its length is that constant and its `base` never moves.
//!
//! A 64-bit table (memory64 proposal) takes its indices, sizes and deltas as `i64`, a 32-bit
//! one as `i32`; both are widened to the `i64` the element addressing and the builtins use.

use super::{readonly_flags, FuncTranslator, POINTER};
use crate::error::CompileError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::Operator;

impl FuncTranslator<'_, '_> {
    /// Pointer to table `index`'s `VMTable` record (the pointer itself never changes).
    fn table_ptr(&mut self, index: u32) -> Value {
        let off = self.offsets().table(index);
        self.load_readonly(POINTER, self.vmctx, off)
    }

    /// Current length of table `index`, whose `VMTable` is at `table`.
    fn table_length(&mut self, index: u32, table: Value) -> Value {
        if let Some(len) = self.fixed_table_length(index) {
            return self.b.ins().iconst(types::I64, len as i64);
        }
        self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            table,
            VMOffsets::TABLE_LENGTH as i32,
        )
    }

    /// Whether table `index` is a 64-bit table (`i64` indices).
    pub(super) fn table64(&self, index: u32) -> bool {
        self.env.tables[index as usize].table64
    }

    /// Table index `v` of table `table` as the `i64` the runtime's addressing uses.
    fn table_index_i64(&mut self, table: u32, v: Value) -> Value {
        if self.table64(table) {
            v
        } else {
            self.b.ins().uextend(types::I64, v)
        }
    }

    /// An `i64` size or old size (`u64::MAX` for -1) as table `table`'s index type.
    fn table_index_result(&mut self, table: u32, v: Value) -> Value {
        if self.table64(table) {
            v
        } else {
            self.b.ins().ireduce(types::I32, v)
        }
    }

    /// The length of table `index` if it can never change (see the module documentation).
    fn fixed_table_length(&self, index: u32) -> Option<u64> {
        let ty = &self.env.tables[index as usize];
        (self.env.optimizations.static_tables && ty.max == Some(ty.min)).then_some(ty.min)
    }

    /// Address of element `index` of table `table_index`, trapping with `oob` when the index is
    /// not below the table's length.
    pub(super) fn table_element_addr(
        &mut self,
        table_index: u32,
        index: Value,
        oob: Trap,
    ) -> Value {
        let table = self.table_ptr(table_index);
        let len = self.table_length(table_index, table);
        let index = self.table_index_i64(table_index, index);
        let out_of_bounds = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(out_of_bounds, oob);
        let base_flags = match self.fixed_table_length(table_index) {
            Some(_) => readonly_flags(),
            None => MemFlagsData::trusted(),
        };
        let base = self
            .b
            .ins()
            .load(POINTER, base_flags, table, VMOffsets::TABLE_BASE as i32);
        let scaled = self
            .b
            .ins()
            .imul_imm_u(index, i64::from(VMOffsets::TABLE_ELEM_SIZE));
        self.b.ins().iadd(base, scaled)
    }

    /// Table and reference operators; returns false for any other operator.
    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        match op {
            O::TableGet { table } => {
                let index = self.pop();
                let addr = self.table_element_addr(*table, index, Trap::TableOutOfBounds);
                let v = self.b.ins().load(POINTER, MemFlagsData::trusted(), addr, 0);
                self.push(v);
            }
            O::TableSet { table } => {
                let (index, value) = self.pop2();
                let addr = self.table_element_addr(*table, index, Trap::TableOutOfBounds);
                self.b.ins().store(MemFlagsData::trusted(), value, addr, 0);
            }
            O::TableSize { table } => {
                let t = self.table_ptr(*table);
                let len = self.table_length(*table, t);
                let v = self.table_index_result(*table, len);
                self.push(v);
            }
            O::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.table_index_i64(*table, delta);
                let t = self.b.ins().iconst(types::I32, i64::from(*table));
                let old = self.call_builtin(BuiltinIndex::table_grow, &[t, init, delta]);
                // u64::MAX (failure) is -1 in either width.
                let v = self.table_index_result(*table, old[0]);
                self.push(v);
            }
            O::TableFill { table } => {
                let (dst, val, len) = self.pop3();
                let dst = self.table_index_i64(*table, dst);
                let len = self.table_index_i64(*table, len);
                let t = self.b.ins().iconst(types::I32, i64::from(*table));
                self.call_builtin(BuiltinIndex::table_fill, &[t, dst, val, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_i64(*dst_table, dst);
                let src = self.table_index_i64(*src_table, src);
                // The length is i64 only when both tables are 64-bit.
                let len = if self.table64(*dst_table) && self.table64(*src_table) {
                    len
                } else {
                    self.b.ins().uextend(types::I64, len)
                };
                let dt = self.b.ins().iconst(types::I32, i64::from(*dst_table));
                let st = self.b.ins().iconst(types::I32, i64::from(*src_table));
                self.call_builtin(BuiltinIndex::table_copy, &[dt, st, dst, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_i64(*table, dst);
                let t = self.b.ins().iconst(types::I32, i64::from(*table));
                let e = self.b.ins().iconst(types::I32, i64::from(*elem_index));
                self.call_builtin(BuiltinIndex::table_init, &[t, e, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let e = self.b.ins().iconst(types::I32, i64::from(*elem_index));
                self.call_builtin(BuiltinIndex::elem_drop, &[e]);
            }
            O::RefNull { .. } => {
                let v = self.b.ins().iconst(POINTER, 0);
                self.push(v);
            }
            O::RefIsNull => {
                let r = self.pop();
                let c = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
                let v = self.b.ins().uextend(types::I32, c);
                self.push(v);
            }
            O::RefAsNonNull => {
                let r = *self.stack.last().expect("validated");
                self.trap_unless(r, Trap::NullReference);
            }
            O::RefFunc { function_index } => {
                let off = self.offsets().func(*function_index);
                let v = self.load_readonly(POINTER, self.vmctx, off);
                self.push(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
