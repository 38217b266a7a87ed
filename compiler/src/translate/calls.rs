//! Calls: direct calls to defined functions, calls to imports through their `VMFuncRef`,
//! `call_indirect` with its three checks, and calls to runtime builtins.
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
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, SigRef, Signature,
    UserExternalName, Value,
};
use cranelift_codegen::isa::CallConv;
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::Operator;

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

    /// Calls the `VMFuncRef` at `funcref`: `func_ptr(funcref.vmctx, own vmctx, args...)`; as a
    /// tail call when `tail`.
    fn call_funcref(
        &mut self,
        sig: SigRef,
        funcref: Value,
        args: Vec<Value>,
        flags: MemFlagsData,
        tail: bool,
    ) {
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
        if tail {
            self.b.ins().return_call_indirect(sig, func_ptr, &all);
            self.reachable = false;
        } else {
            let results = self.emit_call(Callee::Indirect(sig, func_ptr), &all);
            self.stack.extend(results);
        }
    }

    fn translate_direct_call(&mut self, function_index: u32, tail: bool) {
        let type_index = self.env.funcs[function_index as usize];
        let args = self.pop_args(type_index);
        let sig = self.signature(type_index);
        if function_index < self.env.num_imported_funcs {
            let off = self.offsets().func(function_index);
            let funcref = self.load_readonly(POINTER, self.vmctx, off);
            self.call_funcref(sig, funcref, args, readonly_flags(), tail);
            return;
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
        } else {
            let results = self.emit_call(Callee::Direct(callee), &all);
            self.stack.extend(results);
        }
    }

    fn translate_call_indirect(&mut self, type_index: u32, table_index: u32, tail: bool) {
        let index = self.pop();
        let args = self.pop_args(type_index);
        let sig = self.signature(type_index);
        let addr = self.table_element_addr(table_index, index, Trap::UndefinedElement);
        let funcref = self.b.ins().load(POINTER, MemFlagsData::trusted(), addr, 0);
        self.trap_unless(funcref, Trap::UninitializedElement);
        let actual = self.b.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            VMOffsets::FUNCREF_TYPE_ID as i32,
        );
        let off = self.offsets().type_id(type_index);
        let expected = self.load_readonly(types::I32, self.vmctx, off);
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.trap_if(mismatch, Trap::BadSignature);
        // A funcref's fields never change once it is in a table; but the load must stay below
        // the null check, so it is not `can_move`.
        self.call_funcref(
            sig,
            funcref,
            args,
            MemFlagsData::trusted().with_readonly(),
            tail,
        );
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
            _ => return Ok(false),
        }
        Ok(true)
    }
}
