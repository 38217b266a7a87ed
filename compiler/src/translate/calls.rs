//! Calls: direct calls to defined functions, calls to imports through their `VMFuncRef`,
//! `call_indirect` with its three checks, `call_ref` of a typed function reference, and calls
//! to runtime builtins.
//!
//! With the `static_tables` optimization, `call_indirect` through a table whose contents are
//! known at compile time (`module::StaticTable`) checks the callee against read-only per-slot
//! records in the object instead of the table (see `static_call_indirect`), and a constant index
//! is resolved at compile time.
//!
//! Tail calls (`return_call`, `return_call_indirect`) are the same calls emitted as Cranelift's
//! `return_call` / `return_call_indirect`: every wasm function (and every host adapter) uses the
//! `tail` convention, in which the callee pops its own stack arguments, so a tail call replaces
//! the caller's frame and a chain of tail calls runs in constant stack space. Validation
//! guarantees that the callee's results are the caller's, which Cranelift also requires.
//! Other calls to wasm code go through `emit_call`, which makes them `try_call`s inside the scope
//! of an exception handler (see `exceptions.rs`).

use super::exceptions::Callee;
use super::{readonly_flags, wasm_signature, FuncTranslator, POINTER};
use crate::error::CompileError;
use crate::module::{Slot, StaticTable};
use crate::object::{STATIC_RECORD_CODE, STATIC_RECORD_SIZE, STATIC_RECORD_TYPE};
use crate::traps::trap_code;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::immediates::Imm64;
use cranelift_codegen::ir::{
    types, AbiParam, BlockArg, ExtFuncData, ExternalName, GlobalValueData, InstBuilder,
    MemFlagsData, SigRef, Signature, UserExternalName, Value,
};
use cranelift_codegen::isa::CallConv;
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::Operator;

/// Block-call arguments passing `values`.
fn values_as_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// Cranelift type of a builtin parameter type from `for_each_builtin!`.
macro_rules! builtin_type {
    (vmctx) => {
        types::I64
    };
    (u32) => {
        types::I32
    };
    (u64) => {
        types::I64
    };
    (ptr) => {
        types::I64
    };
    (cptr) => {
        types::I64
    };
    (usize) => {
        types::I64
    };
    (c_int) => {
        types::I32
    };
}

/// Expands the abi's builtin list into the C-convention signature of each builtin.
macro_rules! builtin_signatures {
    ($( $(#[$attr:meta])* $name:ident($($arg:ident: $ty:ident),*) $(-> $ret:ident)?; )*) => {
        /// The signature of builtin `index`, straight from `wasic_abi::for_each_builtin!`.
        pub fn builtin_signature(index: BuiltinIndex) -> Signature {
            match index {
                $(BuiltinIndex::$name => {
                    let mut sig = Signature::new(CallConv::SystemV);
                    $(sig.params.push(AbiParam::new(builtin_type!($ty)));)*
                    $(sig.returns.push(AbiParam::new(builtin_type!($ret)));)?
                    sig
                })*
            }
        }
    };
}
wasic_abi::for_each_builtin!(builtin_signatures);

impl FuncTranslator<'_, '_> {
    /// The imported signature of wasm type `type_index`.
    fn signature(&mut self, type_index: u32) -> SigRef {
        if let Some(sig) = self.sigs.get(&type_index) {
            return *sig;
        }
        let sig = self
            .b
            .import_signature(wasm_signature(&self.env.types[type_index as usize]));
        self.sigs.insert(type_index, sig);
        sig
    }

    /// Calls builtin `index` with `(vmctx, args...)` (a C library function: `(args..., vmctx)`)
    /// and returns its results.
    pub(super) fn call_builtin(&mut self, index: BuiltinIndex, args: &[Value]) -> Vec<Value> {
        let sig = match self.builtin_sigs.get(&index) {
            Some(sig) => *sig,
            None => {
                let sig = self.b.import_signature(builtin_signature(index));
                self.builtin_sigs.insert(index, sig);
                sig
            }
        };
        let table = self.load_readonly(POINTER, self.vmctx, VMOffsets::BUILTINS);
        let func = self.load_readonly(POINTER, table, index.offset());
        let mut all = Vec::with_capacity(args.len() + 1);
        all.extend_from_slice(args);
        all.insert(index.vmctx_param(), self.vmctx);
        let call = self.b.ins().call_indirect(sig, func, &all);
        self.b.inst_results(call).to_vec()
    }

    /// Pops the arguments of a call with wasm type `type_index`, bottom first.
    fn pop_args(&mut self, type_index: u32) -> Vec<Value> {
        let n = self.env.types[type_index as usize].params.len();
        self.stack.split_off(self.stack.len() - n)
    }

    /// Calls code address `code` with the full argument list `all` (callee vmctx, caller vmctx,
    /// wasm arguments), as a tail call when `tail`. Returns the results (none after a tail call).
    fn call_code(&mut self, sig: SigRef, code: Value, all: &[Value], tail: bool) -> Vec<Value> {
        if tail {
            self.b.ins().return_call_indirect(sig, code, all);
            self.reachable = false;
            Vec::new()
        } else {
            self.emit_call(Callee::Indirect(sig, code), all)
        }
    }

    /// Calls the `VMFuncRef` at `funcref`: `func_ptr(funcref.vmctx, own vmctx, args...)`; as a
    /// tail call when `tail`. Returns the results (none after a tail call).
    fn call_funcref(
        &mut self,
        sig: SigRef,
        funcref: Value,
        args: Vec<Value>,
        flags: MemFlagsData,
        tail: bool,
    ) -> Vec<Value> {
        let func_ptr =
            self.b
                .ins()
                .load(POINTER, flags, funcref, VMOffsets::FUNCREF_FUNC_PTR as i32);
        let callee_vmctx =
            self.b
                .ins()
                .load(POINTER, flags, funcref, VMOffsets::FUNCREF_VMCTX as i32);
        let mut all = Vec::with_capacity(args.len() + 2);
        all.push(callee_vmctx);
        all.push(self.vmctx);
        all.extend(args);
        self.call_code(sig, func_ptr, &all, tail)
    }

    fn translate_direct_call(&mut self, function_index: u32, tail: bool) {
        let type_index = self.env.funcs[function_index as usize];
        let args = self.pop_args(type_index);
        let results = self.call_function(function_index, args, tail);
        self.stack.extend(results);
    }

    /// Calls function `function_index` (imported or defined) with `args`, as a tail call when
    /// `tail`. Returns the results (none after a tail call).
    fn call_function(&mut self, function_index: u32, args: Vec<Value>, tail: bool) -> Vec<Value> {
        let type_index = self.env.funcs[function_index as usize];
        let sig = self.signature(type_index);
        if function_index < self.env.num_imported_funcs {
            let off = self.offsets().func(function_index);
            let funcref = self.load_readonly(POINTER, self.vmctx, off);
            return self.call_funcref(sig, funcref, args, readonly_flags(), tail);
        }
        // Defined functions are declared first in the object module, so the FuncId of defined
        // function `i` is `i - num_imported_funcs`; this is what `Module::declare_func_in_func`
        // would produce, without needing the module on worker threads.
        let func_id = function_index - self.env.num_imported_funcs;
        let callee = match self.direct_funcs.get(&func_id) {
            Some(f) => *f,
            None => {
                let name = self
                    .b
                    .func
                    .declare_imported_user_function(UserExternalName {
                        namespace: 0,
                        index: func_id,
                    });
                let f = self.b.import_function(ExtFuncData {
                    name: ExternalName::user(name),
                    signature: sig,
                    colocated: true,
                    patchable: false,
                });
                self.direct_funcs.insert(func_id, f);
                f
            }
        };
        let mut all = Vec::with_capacity(args.len() + 2);
        all.push(self.vmctx);
        all.push(self.vmctx);
        all.extend(args);
        if tail {
            self.b.ins().return_call(callee, &all);
            self.reachable = false;
            Vec::new()
        } else {
            self.emit_call(Callee::Direct(callee), &all)
        }
    }

    fn translate_call_indirect(&mut self, type_index: u32, table_index: u32, tail: bool) {
        let index = self.pop();
        let args = self.pop_args(type_index);
        let env = self.env;
        let results = match env.static_table(table_index) {
            Some(table) => {
                self.static_call_indirect(table, type_index, table_index, index, args, tail)
            }
            None => self.generic_call_indirect(type_index, table_index, index, args, tail),
        };
        self.stack.extend(results);
    }

    /// `call_indirect` through any table: load the funcref from the table, check it is not null
    /// and has the right signature, call it.
    fn generic_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
        index: Value,
        args: Vec<Value>,
        tail: bool,
    ) -> Vec<Value> {
        let sig = self.signature(type_index);
        let funcref = self.checked_funcref(type_index, table_index, index);
        // A funcref's fields never change once it is in a table; but the load must stay below
        // the null check, so it is not `can_move`.
        self.call_funcref(
            sig,
            funcref,
            args,
            MemFlagsData::trusted().with_readonly(),
            tail,
        )
    }

    /// The funcref at `index` in table `table_index`, after the checks of `call_indirect` with
    /// type `type_index`: in bounds, not null, of that signature.
    fn checked_funcref(&mut self, type_index: u32, table_index: u32, index: Value) -> Value {
        let addr = self.table_element_addr(table_index, index, Trap::UndefinedElement);
        let funcref = self.b.ins().load(POINTER, MemFlagsData::trusted(), addr, 0);
        let type_id_flags = if self.env.optimizations.static_tables {
            // A null funcref faults on this load (page 0 is never mapped), and the fault is
            // the trap: as in wasmtime, no separate null check.
            MemFlagsData::new()
                .with_aligned()
                .with_readonly()
                .with_trap_code(Some(trap_code(Trap::UninitializedElement)))
        } else {
            self.trap_unless(funcref, Trap::UninitializedElement);
            MemFlagsData::trusted().with_readonly()
        };
        let actual = self.b.ins().load(
            types::I32,
            type_id_flags,
            funcref,
            VMOffsets::FUNCREF_TYPE_ID as i32,
        );
        // A function of a declared subtype matches too (only possible when the type is not
        // final).
        let ok = self.type_id_matches(actual, type_index);
        self.trap_unless(ok, Trap::BadSignature);
        funcref
    }

    /// `call_indirect` through a static table (see `module::StaticTable`), whose contents are
    /// known here.
    ///
    /// A constant index is resolved now: a direct call, or the trap the call would raise.
    /// Otherwise the index is clamped to the slot records (`object.rs`: the last one is a
    /// sentinel that matches no type) and the record's type is compared with the call's:
    /// equal means a defined function of the right signature, which runs with this very
    /// `VMContext`, so the call goes straight to the record's code address. Anything else (null,
    /// wrong type, an imported function, out of bounds) takes the generic checks, which are
    /// correct for every slot since the table holds exactly what the records describe; both
    /// paths meet at one call with the code address and the callee's `VMContext`.
    fn static_call_indirect(
        &mut self,
        table: &StaticTable,
        type_index: u32,
        table_index: u32,
        index: Value,
        args: Vec<Value>,
        tail: bool,
    ) -> Vec<Value> {
        let want = self.env.canonical_types[type_index as usize];
        if !self.env.subtypes[type_index as usize].is_final {
            // A slot's function may be of a subtype: the runtime decides.
            return self.generic_call_indirect(type_index, table_index, index, args, tail);
        }
        if let Some(k) = self.const_u64(index) {
            match table.slot(k) {
                None => return self.trap_now(Trap::UndefinedElement),
                Some(Slot::Null) => return self.trap_now(Trap::UninitializedElement),
                Some(Slot::Func { func, ty }) if ty == want => {
                    return self.call_function(func, args, tail)
                }
                Some(Slot::Func { .. }) => return self.trap_now(Trap::BadSignature),
                Some(Slot::Dynamic) => {
                    return self.generic_call_indirect(type_index, table_index, index, args, tail)
                }
            }
        }
        if !table.has_defined(want) {
            return self.generic_call_indirect(type_index, table_index, index, args, tail);
        }

        let sig = self.signature(type_index);
        let records = self.static_records(table.data_id);
        // Every record lies in the read-only records object, which nothing writes: with the
        // index clamped to the sentinel, these loads are always in bounds and may move freely.
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        let last = self.b.ins().iconst(types::I32, table.slots.len() as i64);
        let clamped = self.b.ins().umin(index, last);
        let clamped = self.b.ins().uextend(POINTER, clamped);
        let offset = self
            .b
            .ins()
            .ishl_imm_u(clamped, i64::from(STATIC_RECORD_SIZE.trailing_zeros()));
        let record = self.b.ins().iadd(records, offset);
        let tag = self
            .b
            .ins()
            .load(types::I32, flags, record, STATIC_RECORD_TYPE as i32);
        let is_defined = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(want));
        let direct = self.b.create_block();
        let generic = self.b.create_block();
        let call = self.block_with_params(&[POINTER, POINTER]);
        self.b.set_cold_block(generic);
        self.b.ins().brif(is_defined, direct, &[], generic, &[]);
        self.b.seal_block(direct);
        self.b.seal_block(generic);

        self.b.switch_to_block(direct);
        let code = self
            .b
            .ins()
            .load(types::I32, flags, record, STATIC_RECORD_CODE as i32);
        let code = self.b.ins().sextend(POINTER, code);
        let code = self.b.ins().iadd(records, code);
        self.b
            .ins()
            .jump(call, &values_as_args(&[code, self.vmctx]));

        self.b.switch_to_block(generic);
        let funcref = self.checked_funcref(type_index, table_index, index);
        let flags = MemFlagsData::trusted().with_readonly();
        let code = self
            .b
            .ins()
            .load(POINTER, flags, funcref, VMOffsets::FUNCREF_FUNC_PTR as i32);
        let callee_vmctx =
            self.b
                .ins()
                .load(POINTER, flags, funcref, VMOffsets::FUNCREF_VMCTX as i32);
        self.b
            .ins()
            .jump(call, &values_as_args(&[code, callee_vmctx]));

        self.b.seal_block(call);
        self.b.switch_to_block(call);
        let (code, callee_vmctx) = (self.b.block_params(call)[0], self.b.block_params(call)[1]);
        let mut all = Vec::with_capacity(args.len() + 2);
        all.push(callee_vmctx);
        all.push(self.vmctx);
        all.extend(args);
        self.call_code(sig, code, &all, tail)
    }

    /// The address of static table `data_id`'s slot records (a PC-relative `lea`).
    fn static_records(&mut self, data_id: u32) -> Value {
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName {
                namespace: 1,
                index: data_id,
            });
        let name = ExternalName::user(name);
        let existing = self
            .b
            .func
            .global_values
            .iter()
            .find_map(|(gv, data)| match data {
                GlobalValueData::Symbol { name: n, .. } if *n == name => Some(gv),
                _ => None,
            });
        let gv = existing.unwrap_or_else(|| {
            self.b.create_global_value(GlobalValueData::Symbol {
                name,
                offset: Imm64::new(0),
                colocated: true,
                tls: false,
            })
        });
        self.b.ins().symbol_value(POINTER, gv)
    }

    /// `call_ref` / `return_call_ref`: validation has typed the reference as a function of
    /// type `type_index` (the runtime lets only references of that exact type in: see
    /// `owns_ref_word`), so there is no signature check; a null reference faults on the first
    /// load from it (page 0 is never mapped), and that fault is the trap.
    fn translate_call_ref(&mut self, type_index: u32, tail: bool) {
        let funcref = self.pop();
        let args = self.pop_args(type_index);
        let sig = self.signature(type_index);
        let flags = MemFlagsData::new()
            .with_aligned()
            .with_readonly()
            .with_trap_code(Some(trap_code(Trap::NullFunctionReference)));
        let results = self.call_funcref(sig, funcref, args, flags, tail);
        self.stack.extend(results);
    }

    /// Traps with `trap` here; what follows is unreachable. Returns no results.
    fn trap_now(&mut self, trap: Trap) -> Vec<Value> {
        self.b.ins().trap(trap_code(trap));
        self.reachable = false;
        Vec::new()
    }

    /// Call operators; returns false for any other operator.
    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Call { function_index } => self.translate_direct_call(*function_index, false),
            Operator::ReturnCall { function_index } => {
                self.translate_direct_call(*function_index, true)
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, false),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, true),
            Operator::CallRef { type_index } => self.translate_call_ref(*type_index, false),
            Operator::ReturnCallRef { type_index } => self.translate_call_ref(*type_index, true),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
