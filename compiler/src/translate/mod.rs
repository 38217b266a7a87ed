//! Translation of one WebAssembly function body to Cranelift IR.
//!
//! The body is validated and translated in the same pass, operator by operator: wasmparser's
//! `FuncValidator` checks each operator first, so the translator may rely on the operand stack
//! being well typed. The translator keeps wasm's operand stack as a stack of SSA values and a
//! stack of control frames ([`control`]); code that follows an unconditional branch is validated
//! but not translated (the `reachable` flag, as in wasmtime). Lowering is split by concern:
//! [`control`] (blocks, branches), [`numeric`] (arithmetic and conversions), [`memory`] (linear
//! memory), [`atomics`] (threads proposal atomics), [`simd`] (v128), [`table`] (tables and references), [`calls`] (calls and runtime
//! builtins), [`exceptions`] (exception handling), [`gc`] (structs, arrays, i31, casts).

mod atomics;
mod calls;
mod control;
mod exceptions;
mod gc;
mod memory;
mod numeric;
mod simd;
mod table;

use crate::error::CompileError;
use crate::module::{FuncInput, GlobalConst, ModuleEnv};
use crate::traps::trap_code;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    self, types, AbiParam, ArgumentPurpose, Function, GlobalValueData, InstBuilder, MemFlagsData,
    Signature, Type, UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use std::collections::HashMap;
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::types::{FuncType, ValType};
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::{FuncValidator, FuncValidatorAllocations, Operator, ValidatorResources};

pub use control::Frame;

/// Pointer type of the target (x86-64).
pub const POINTER: Type = types::I64;

/// Cranelift type of a wasm value type. References are pointer-sized words.
pub fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::Ref(_) => POINTER,
    }
}

/// The signature of a wasm function (abi/src/vmctx.rs, "Calling conventions"):
/// `tail` convention, `(callee_vmctx, caller_vmctx, params...) -> results`.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// Flags of loads from the `VMContext` and runtime records that never change during a call.
pub fn readonly_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Per-function translation state.
pub struct FuncTranslator<'a, 'f> {
    pub b: FunctionBuilder<'f>,
    pub env: &'a ModuleEnv,
    /// The wasm operand stack.
    pub stack: Vec<Value>,
    /// The wasm control stack; the function body is the outermost frame.
    pub control: Vec<Frame>,
    /// Whether the current position can execute. When false, operators are only validated.
    pub reachable: bool,
    /// Number of blocks opened while unreachable, whose `end` must not close a real frame.
    pub unreachable_depth: u32,
    pub locals: Vec<Variable>,
    /// This function's own `VMContext` (first parameter).
    pub vmctx: Value,
    /// Byte offset of the operator being translated, for errors.
    pub offset: u64,
    sigs: HashMap<u32, ir::SigRef>,
    direct_funcs: HashMap<u32, ir::FuncRef>,
    builtin_sigs: HashMap<BuiltinIndex, ir::SigRef>,
}

impl<'a, 'f> FuncTranslator<'a, 'f> {
    fn offsets(&self) -> &VMOffsets {
        &self.env.offsets
    }

    pub fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    pub fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    pub fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    pub fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    /// The top `n` values, bottom first.
    pub fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    /// A readonly pointer-sized load at `base + offset`.
    pub fn load_readonly(&mut self, ty: Type, base: Value, offset: u32) -> Value {
        self.b.ins().load(ty, readonly_flags(), base, offset as i32)
    }

    /// Traps with `trap` when `cond` is non-zero.
    pub fn trap_if(&mut self, cond: Value, trap: Trap) {
        self.b.ins().trapnz(cond, trap_code(trap));
    }

    /// Traps with `trap` when `cond` is zero.
    pub fn trap_unless(&mut self, cond: Value, trap: Trap) {
        self.b.ins().trapz(cond, trap_code(trap));
    }

    /// Translates one validated operator.
    fn translate(&mut self, op: &Operator<'_>, offset: u64) -> Result<(), CompileError> {
        self.offset = offset;
        if !self.reachable {
            self.translate_unreachable(op);
            return Ok(());
        }
        if self.translate_control(op, offset)?
            || self.translate_numeric(op)
            || self.translate_memory(op)?
            || self.translate_atomic(op)?
            || self.translate_simd(op)?
            || self.translate_table(op)?
            || self.translate_call(op)?
            || self.translate_exceptions(op, offset)?
            || self.translate_gc(op)?
        {
            return Ok(());
        }
        match op {
            Operator::Nop => {}
            Operator::Drop => {
                self.pop();
            }
            Operator::LocalGet { local_index } => {
                let v = self.b.use_var(self.locals[*local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.b.def_var(self.locals[*local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.b.def_var(self.locals[*local_index as usize], v);
            }
            Operator::GlobalGet { global_index } => {
                let i = *global_index as usize;
                let v = match self.env.const_globals[i] {
                    Some(c) if self.env.optimizations.const_globals => self.constant(c),
                    _ => {
                        let ty = ir_type(self.env.globals[i].ty);
                        let ptr = self.global_ptr(*global_index);
                        self.b.ins().load(ty, MemFlagsData::trusted(), ptr, 0)
                    }
                };
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let ptr = self.global_ptr(*global_index);
                self.b.ins().store(MemFlagsData::trusted(), v, ptr, 0);
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                if let Operator::TypedSelect { ty } = op {
                    crate::module::val_type(*ty, &self.env.kinds, offset)?;
                }
                let (a, b, cond) = self.pop3();
                let v = self.b.ins().select(cond, a, b);
                self.push(v);
            }
            other => return Err(unsupported_operator(other, offset)),
        }
        Ok(())
    }

    /// The value of a global that never changes (see `ModuleEnv::const_globals`).
    fn constant(&mut self, c: GlobalConst) -> Value {
        match c {
            GlobalConst::I32(v) => self.b.ins().iconst(types::I32, i64::from(v)),
            GlobalConst::I64(v) => self.b.ins().iconst(types::I64, v),
            GlobalConst::F32(bits) => self.b.ins().f32const(Ieee32::with_bits(bits)),
            GlobalConst::F64(bits) => self.b.ins().f64const(Ieee64::with_bits(bits)),
            GlobalConst::V128(bits) => {
                let bytes = bits.to_le_bytes().to_vec();
                let c = self.b.func.dfg.constants.insert(bytes.into());
                self.b.ins().vconst(types::I8X16, c)
            }
        }
    }

    /// The value of `v` if it is an integer constant (zero-extended from its type's width).
    pub(super) fn const_u64(&self, v: Value) -> Option<u64> {
        let dfg = &self.b.func.dfg;
        let inst = dfg.value_def(v).inst()?;
        match dfg.insts[inst] {
            ir::InstructionData::UnaryImm {
                opcode: ir::Opcode::Iconst,
                imm,
            } => {
                let bits = dfg.value_type(v).bits();
                let raw = imm.bits() as u64;
                Some(if bits >= 64 {
                    raw
                } else {
                    raw & ((1 << bits) - 1)
                })
            }
            _ => None,
        }
    }

    /// Address of global `index`'s `VMGlobal` cell.
    fn global_ptr(&mut self, index: u32) -> Value {
        let off = self.offsets().global(index);
        self.load_readonly(POINTER, self.vmctx, off)
    }
}

/// The error for an operator the validator accepted but wasic cannot translate.
fn unsupported_operator(op: &Operator<'_>, offset: u64) -> CompileError {
    let name = format!("{op:?}");
    let name = name
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string();
    CompileError::unsupported(format!("operator {name} is not supported yet"), offset)
}

/// Reusable per-thread state for translating functions.
#[derive(Default)]
pub struct TranslatorContext {
    pub builder: FunctionBuilderContext,
    pub validator_allocs: FuncValidatorAllocations,
}

/// Creates the entry block with the function's parameters, makes it current and sealed, and
/// returns the parameter values: how every function wasic generates begins.
pub fn start_entry_block(b: &mut FunctionBuilder<'_>) -> Vec<cranelift_codegen::ir::Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.block_params(entry).to_vec()
}

/// Validates and translates defined function `func_index` into `func`.
pub fn translate_function(
    env: &ModuleEnv,
    frontend: TargetFrontendConfig,
    func_index: u32,
    input: FuncInput<'_>,
    func: &mut Function,
    tcx: &mut TranslatorContext,
) -> Result<(), CompileError> {
    let ty = env.func_type(func_index);
    let func_id = func_index - env.num_imported_funcs;
    *func = Function::with_name_signature(UserFuncName::user(0, func_id), wasm_signature(ty));
    let mut validator: FuncValidator<ValidatorResources> = input
        .validator
        .into_validator(std::mem::take(&mut tcx.validator_allocs));

    // Stack overflow check. With `stack_guard`, none in compiled code: a frame below the limit
    // faults on the guard region of the runtime's wasm stack, and Cranelift's inline probes
    // touch every page of a frame bigger than one, so no frame jumps over the guard.
    if !env.optimizations.stack_guard {
        prologue_stack_check(func, func_index)?;
    }

    let mut b = FunctionBuilder::new(func, &mut tcx.builder);
    let params = start_entry_block(&mut b);
    let vmctx = params[0];

    // Locals: parameters first, then the declared locals, zero-initialized.
    let mut locals = Vec::new();
    for (i, t) in ty.params.iter().enumerate() {
        let var = b.declare_var(ir_type(*t));
        b.def_var(var, params[2 + i]);
        locals.push(var);
    }
    let mut locals_reader = input.body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, wty) = locals_reader.read()?;
        validator.define_locals(offset, count, wty)?;
        let vt = crate::module::val_type(wty, &env.kinds, offset)?;
        let ir_ty = ir_type(vt);
        let zero = match vt {
            ValType::F32 => b.ins().f32const(0.0),
            ValType::F64 => b.ins().f64const(0.0),
            ValType::V128 => {
                let zeros = b.func.dfg.constants.insert(vec![0u8; 16].into());
                b.ins().vconst(ir_ty, zeros)
            }
            _ => b.ins().iconst(ir_ty, 0),
        };
        for _ in 0..count {
            let var = b.declare_var(ir_ty);
            b.def_var(var, zero);
            locals.push(var);
        }
    }

    // The function body is the outermost block; its `end` (or a `br` to it) returns.
    let exit = b.create_block();
    for t in &ty.results {
        b.append_block_param(exit, ir_type(*t));
    }
    let mut t = FuncTranslator {
        b,
        env,
        stack: Vec::new(),
        control: vec![Frame::block(exit, 0, ty.results.len(), 0)],
        reachable: true,
        unreachable_depth: 0,
        locals,
        vmctx,
        offset: 0,
        sigs: HashMap::new(),
        direct_funcs: HashMap::new(),
        builtin_sigs: HashMap::new(),
    };
    if let Some(function) = env.libc_function(func_index) {
        t.libc_fast_path(function, &params[2..5]);
    }

    let strict_memory_immediates = !validator.features().multi_memory();
    let body_bytes = input.body.as_bytes();
    let body_start = input.body.range().start;
    let mut reader = input.body.get_operators_reader()?;
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        validator.op(offset, &op)?;
        if strict_memory_immediates {
            let op_bytes = &body_bytes[(offset - body_start) as usize
                ..(reader.original_position() - body_start) as usize];
            crate::strict::check_memory_immediates(&op, op_bytes, offset)?;
        }
        if t.control.is_empty() {
            // Validation already rejects operators after the final `end`.
            continue;
        }
        if let Some(base) = env.srcloc_base {
            // Code-section offsets, as the module's DWARF counts them (`dwarf.rs`).
            let loc = offset.saturating_sub(base);
            t.b.set_srcloc(ir::SourceLoc::new(loc.min(u64::from(u32::MAX - 1)) as u32));
        }
        t.translate(&op, offset)?;
    }
    reader.finish()?;

    if t.reachable {
        let results = t.stack.clone();
        t.b.ins().return_(&results);
    }
    t.b.finalize(frontend);
    tcx.validator_allocs = validator.into_allocations();
    Ok(())
}

/// Makes Cranelift's prologue of `func` compare SP against `*(*vmctx.limits).stack_limit`.
fn prologue_stack_check(func: &mut Function, func_index: u32) -> Result<(), CompileError> {
    let vmctx_gv = func.create_global_value(GlobalValueData::VMContext);
    let flags = func
        .dfg
        .mem_flags
        .insert(MemFlagsData::trusted().with_readonly())
        .map_err(|_| CompileError::Codegen {
            what: format!("function {func_index}"),
            message: "too many memory flags".into(),
        })?;
    let limits = func.create_global_value(GlobalValueData::Load {
        base: vmctx_gv,
        offset: (VMOffsets::LIMITS as i32).into(),
        global_type: POINTER,
        flags,
    });
    let stack_limit = func.create_global_value(GlobalValueData::Load {
        base: limits,
        offset: (VMOffsets::LIMITS_STACK_LIMIT as i32).into(),
        global_type: POINTER,
        flags,
    });
    func.stack_limit = Some(stack_limit);
    Ok(())
}
