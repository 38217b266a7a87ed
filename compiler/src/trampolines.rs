//! The two per-type bridges between the host and wasm calling conventions (abi/src/vmctx.rs):
//!
//! * the **array trampoline** (host -> wasm): `extern "C" fn(callee_vmctx, caller_vmctx,
//!   func_ptr, values: *mut ValRaw)` reads the parameters from `values`, calls `func_ptr` with the
//!   wasm (`tail`) convention and writes the results back into `values`;
//! * the **host adapter** (wasm -> host): has the wasm signature of its type, its `callee_vmctx`
//!   is a `VMHostContext`; it spills the parameters into a `ValRaw` array on its stack, calls
//!   `host.func(host, caller_vmctx, values, len)` with the C convention and returns the results
//!   read back from the array.

use crate::translate::{ir_type, readonly_flags, start_entry_block, wasm_signature, POINTER};
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::mem::size_of;
use wasic_abi::types::{FuncType, ValRaw};
use wasic_abi::vmctx::VMOffsets;

const CELL: i32 = size_of::<ValRaw>() as i32;

/// Signature of every array trampoline.
pub fn array_trampoline_signature() -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.extend([AbiParam::new(POINTER); 4]);
    sig
}

/// Builds the array trampoline of `ty` into `func`, named `(0, func_id)`.
pub fn build_array_trampoline(
    ty: &FuncType,
    func_id: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
) {
    *func =
        Function::with_name_signature(UserFuncName::user(0, func_id), array_trampoline_signature());
    let mut b = FunctionBuilder::new(func, fctx);
    let p = start_entry_block(&mut b);
    let (callee_vmctx, caller_vmctx, func_ptr, values) = (p[0], p[1], p[2], p[3]);
    let flags = MemFlagsData::trusted();
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        args.push(b.ins().load(ir_type(*t), flags, values, i as i32 * CELL));
    }
    let sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(sig, func_ptr, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins().store(flags, r, values, i as i32 * CELL);
    }
    b.ins().return_(&[]);
    b.finalize(frontend);
}

/// Builds the host adapter of `ty` into `func`, named `(0, func_id)`.
pub fn build_host_adapter(
    ty: &FuncType,
    func_id: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
) {
    *func = Function::with_name_signature(UserFuncName::user(0, func_id), wasm_signature(ty));
    let mut b = FunctionBuilder::new(func, fctx);
    let p = start_entry_block(&mut b);
    let (host, caller_vmctx) = (p[0], p[1]);

    let len = ty.params.len().max(ty.results.len());
    // At least one cell so the pointer passed to the host is always valid; 16-byte aligned
    // like `ValRaw`.
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        (len.max(1) as u32) * CELL as u32,
        4,
    ));
    let values = b.ins().stack_addr(POINTER, slot, 0);
    let flags = MemFlagsData::trusted();
    for (i, v) in p[2..].iter().enumerate() {
        b.ins().store(flags, *v, values, i as i32 * CELL);
    }
    let len = b.ins().iconst(POINTER, len as i64);
    let host_fn = b
        .ins()
        .load(POINTER, readonly_flags(), host, VMOffsets::HOST_FUNC as i32);
    let mut host_sig = Signature::new(CallConv::SystemV);
    host_sig.params.extend([AbiParam::new(POINTER); 4]);
    let host_sig = b.import_signature(host_sig);
    b.ins()
        .call_indirect(host_sig, host_fn, &[host, caller_vmctx, values, len]);
    let results: Vec<_> = ty
        .results
        .iter()
        .enumerate()
        .map(|(i, t)| b.ins().load(ir_type(*t), flags, values, i as i32 * CELL))
        .collect();
    b.ins().return_(&results);
    b.finalize(frontend);
}
