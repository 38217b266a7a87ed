//! Exception handling: `try_table` with its catch clauses, `throw`, `throw_ref`, and the legacy
//! `try` / `catch` / `catch_all` / `delegate` / `rethrow` form, on Cranelift's `try_call`.
//!
//! Every frame knows the [`Handler`] of the code inside it (`Frame::handler`). A call made where
//! a handler is active becomes a `try_call` whose exception table has one catch-all entry, the
//! handler's `landing` block: the runtime's unwinder (`runtime/src/exceptions.rs`) resumes there
//! with the exnref, in whichever frame first has a handler. Which clause applies is decided by
//! compiled code in the handler's `dispatch` block, which compares the thrown tag with each
//! clause's tag (tag identity is a `VMTag` address, so imported and re-exported tags compare
//! right) and, when none matches, passes the exception on to the enclosing handler of the
//! function, or rethrows it out of the function through the `throw_ref` builtin. A `throw` with a
//! handler in the same function jumps to it directly, without unwinding.
//!
//! Exception objects are allocated by the runtime (`exception_new`); compiled code stores the
//! payload into them and loads it back in catch clauses, at offsets from `wasic_abi::vmctx`.

use super::control::{Frame, FrameKind, Handler};
use super::{ir_type, FuncTranslator, POINTER};
use crate::error::CompileError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, Block, BlockArg, ExceptionTableData, ExceptionTableItem, InstBuilder, MemFlagsData,
    SigRef, Value,
};
use wasic_abi::builtins::BuiltinIndex;
use wasic_abi::vmctx::VMOffsets;
use wasic_abi::Trap;
use wasmparser::{Catch, Operator};

/// What a call instruction calls.
pub enum Callee {
    Direct(ir::FuncRef),
    Indirect(SigRef, Value),
}

impl FuncTranslator<'_, '_> {
    /// A handler whose blocks are created now and filled when its scope closes.
    fn new_handler(&mut self) -> (Handler, Value) {
        let landing = self.b.create_block();
        self.b.append_block_param(landing, POINTER);
        let dispatch = self.b.create_block();
        let exn = self.b.append_block_param(dispatch, POINTER);
        (Handler { landing, dispatch }, exn)
    }

    /// Ends the handler's scope: no `try_call` or jump can reach it any more. Leaves the
    /// builder in the dispatch block.
    fn open_dispatch(&mut self, h: Handler) {
        self.b.switch_to_block(h.landing);
        self.b.seal_block(h.landing);
        let exn = self.b.block_params(h.landing)[0];
        self.b.ins().jump(h.dispatch, &[BlockArg::Value(exn)]);
        self.b.switch_to_block(h.dispatch);
        self.b.seal_block(h.dispatch);
    }

    /// Emits a call, as a `try_call` to the current handler's landing block when there is one.
    /// Returns the call's results.
    pub(super) fn emit_call(&mut self, callee: Callee, args: &[Value]) -> Vec<Value> {
        let Some(h) = self.current_handler() else {
            let call = match callee {
                Callee::Direct(f) => self.b.ins().call(f, args),
                Callee::Indirect(sig, ptr) => self.b.ins().call_indirect(sig, ptr, args),
            };
            return self.b.inst_results(call).to_vec();
        };
        let sig = match callee {
            Callee::Direct(f) => self.b.func.dfg.ext_funcs[f].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<ir::Type> = self.b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|p| p.value_type)
            .collect();
        let cont = self.block_with_params(&returns);
        let ret_args: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal = self.b.func.dfg.block_call(cont, &ret_args);
        let to_landing = self
            .b
            .func
            .dfg
            .block_call(h.landing, &[BlockArg::TryCallExn(0)]);
        let table = self
            .b
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(
                sig,
                normal,
                [ExceptionTableItem::Default(to_landing)],
            ));
        match callee {
            Callee::Direct(f) => self.b.ins().try_call(f, args, table),
            Callee::Indirect(_, ptr) => self.b.ins().try_call_indirect(ptr, args, table),
        };
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        self.b.block_params(cont).to_vec()
    }

    /// Sends `exn` to `handler` in this function, or out of the function when there is none.
    /// Terminates the current block.
    fn throw_to(&mut self, handler: Option<Handler>, exn: Value) {
        match handler {
            Some(h) => {
                self.b.ins().jump(h.dispatch, &[BlockArg::Value(exn)]);
            }
            None => {
                self.call_builtin(BuiltinIndex::throw_ref, &[exn]);
                // `throw_ref` never returns.
                self.b
                    .ins()
                    .trap(crate::traps::trap_code(Trap::Unreachable));
            }
        }
    }

    /// Whether exception `exn` was thrown with tag `tag` of this module.
    fn tag_matches(&mut self, exn: Value, tag: u32) -> Value {
        let flags = MemFlagsData::trusted().with_readonly();
        let thrown = self
            .b
            .ins()
            .load(POINTER, flags, exn, VMOffsets::EXN_TAG as i32);
        let off = self.offsets().tag(tag);
        let wanted = self.load_readonly(POINTER, self.vmctx, off);
        self.b.ins().icmp(IntCC::Equal, thrown, wanted)
    }

    fn tag_params(&self, tag: u32) -> Vec<wasic_abi::ValType> {
        let ty = self.env.tags[tag as usize];
        self.env.types[ty as usize].params.clone()
    }

    /// Loads the payload of `exn`, known to have been thrown with tag `tag`.
    fn load_payload(&mut self, exn: Value, tag: u32) -> Vec<Value> {
        let flags = MemFlagsData::trusted().with_readonly();
        self.tag_params(tag)
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let off = VMOffsets::exn_payload(i as u32) as i32;
                self.b.ins().load(ir_type(*t), flags, exn, off)
            })
            .collect()
    }

    /// In the current block, branches to `matched` (left current) when `exn` has tag `tag`;
    /// returns the block for the remaining tests.
    fn test_tag(&mut self, exn: Value, tag: u32) -> Block {
        let is = self.tag_matches(exn, tag);
        let matched = self.b.create_block();
        let rest = self.b.create_block();
        self.b.ins().brif(is, matched, &[], rest, &[]);
        self.b.seal_block(matched);
        self.b.seal_block(rest);
        self.b.switch_to_block(matched);
        rest
    }

    /// Closes a `try_table` (already popped, so the control stack is the context its catch
    /// clauses' labels refer to): fills its dispatch block with the clauses in order.
    pub(super) fn close_try_table(&mut self, handler: Handler, catches: Vec<Catch>) {
        self.open_dispatch(handler);
        let exn = self.b.block_params(handler.dispatch)[0];
        for catch in catches {
            let (tag, with_ref, label) = match catch {
                Catch::One { tag, label } => (Some(tag), false, label),
                Catch::OneRef { tag, label } => (Some(tag), true, label),
                Catch::All { label } => (None, false, label),
                Catch::AllRef { label } => (None, true, label),
            };
            let rest = tag.map(|t| self.test_tag(exn, t));
            let mut args = match tag {
                Some(t) => self.load_payload(exn, t),
                None => Vec::new(),
            };
            if with_ref {
                args.push(exn);
            }
            let (target, _) = self.branch_target(label);
            let args: Vec<BlockArg> = args.into_iter().map(BlockArg::Value).collect();
            self.b.ins().jump(target, &args);
            match rest {
                Some(rest) => self.b.switch_to_block(rest),
                // A catch-all ends the list: later clauses can never match.
                None => return,
            }
        }
        let outer = self.current_handler();
        self.throw_to(outer, exn);
    }

    /// `catch tag` (`Some`) or `catch_all` (`None`) of the legacy `try` on top of the stack.
    pub(super) fn translate_catch(&mut self, tag: Option<u32>) {
        let n = self.control.len();
        let outer = self.control[n - 2].handler;
        if self.reachable {
            let (next, results) = (self.control[n - 1].next, self.control[n - 1].num_results);
            self.jump_with_top(next, results);
            self.control[n - 1].next_reachable = true;
        }
        let frame = &mut self.control[n - 1];
        let height = frame.height;
        let FrameKind::Try {
            handler,
            exn,
            cursor,
            in_catch,
        } = &mut frame.kind
        else {
            unreachable!("validated: catch inside try");
        };
        let (handler, exn) = (*handler, *exn);
        let first = !*in_catch;
        *in_catch = true;
        let at = if first {
            Some(handler.dispatch)
        } else {
            *cursor
        };
        // Code in catch bodies is not covered by this try's handler.
        frame.handler = outer;
        self.stack.truncate(height);
        if first {
            self.open_dispatch(handler);
        } else if let Some(at) = at {
            self.b.switch_to_block(at);
        }
        let next_cursor = match tag {
            Some(t) => {
                let rest = self.test_tag(exn, t);
                let payload = self.load_payload(exn, t);
                self.stack.extend(payload);
                Some(rest)
            }
            None => None,
        };
        if let FrameKind::Try { cursor, .. } = &mut self.control[n - 1].kind {
            *cursor = next_cursor;
        }
        self.reachable = true;
    }

    /// Closes a legacy `try` (already popped): exceptions no clause caught go to the enclosing
    /// handler, or to the handler of the frame `delegate` names.
    pub(super) fn close_try(
        &mut self,
        handler: Handler,
        exn: Value,
        cursor: Option<Block>,
        in_catch: bool,
        delegate: Option<u32>,
    ) {
        let at = if in_catch {
            cursor
        } else {
            self.open_dispatch(handler);
            Some(handler.dispatch)
        };
        let Some(at) = at else { return };
        self.b.switch_to_block(at);
        let target = match delegate {
            Some(depth) => self.control[self.control.len() - 1 - depth as usize].handler,
            None => self.current_handler(),
        };
        self.throw_to(target, exn);
    }

    /// Exception-handling operators; returns false for any other operator.
    pub(super) fn translate_exceptions(
        &mut self,
        op: &Operator<'_>,
        offset: u64,
    ) -> Result<bool, CompileError> {
        match op {
            Operator::TryTable { try_table } => {
                let (params, results) = self.block_type(try_table.ty, offset)?;
                let next = self.block_with_params(&results);
                let height = self.stack.len() - params.len();
                let (handler, _) = self.new_handler();
                let mut frame = Frame::block(next, params.len(), results.len(), height);
                frame.kind = FrameKind::TryTable {
                    handler,
                    catches: try_table.catches.clone(),
                };
                self.push_frame(frame);
                self.control.last_mut().unwrap().handler = Some(handler);
            }
            Operator::Try { blockty } => {
                let (params, results) = self.block_type(*blockty, offset)?;
                let next = self.block_with_params(&results);
                let height = self.stack.len() - params.len();
                let (handler, exn) = self.new_handler();
                let mut frame = Frame::block(next, params.len(), results.len(), height);
                frame.kind = FrameKind::Try {
                    handler,
                    exn,
                    cursor: None,
                    in_catch: false,
                };
                self.push_frame(frame);
                self.control.last_mut().unwrap().handler = Some(handler);
            }
            Operator::Catch { tag_index } => self.translate_catch(Some(*tag_index)),
            Operator::CatchAll => self.translate_catch(None),
            Operator::Delegate { relative_depth } => self.translate_end(Some(*relative_depth)),
            Operator::Throw { tag_index } => {
                let n = self.tag_params(*tag_index).len();
                let args = self.stack.split_off(self.stack.len() - n);
                let tag = self.b.ins().iconst(ir::types::I32, i64::from(*tag_index));
                let exn = self.call_builtin(BuiltinIndex::exception_new, &[tag])[0];
                for (i, v) in args.into_iter().enumerate() {
                    let off = VMOffsets::exn_payload(i as u32) as i32;
                    self.b.ins().store(MemFlagsData::trusted(), v, exn, off);
                }
                let handler = self.current_handler();
                self.throw_to(handler, exn);
                self.reachable = false;
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                self.trap_unless(exn, Trap::NullReference);
                let handler = self.current_handler();
                self.throw_to(handler, exn);
                self.reachable = false;
            }
            Operator::Rethrow { relative_depth } => {
                let i = self.control.len() - 1 - *relative_depth as usize;
                let FrameKind::Try { exn, .. } = self.control[i].kind else {
                    unreachable!("validated: rethrow names a catch");
                };
                let handler = self.current_handler();
                self.throw_to(handler, exn);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
