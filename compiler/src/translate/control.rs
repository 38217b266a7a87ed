//! Structured control flow: block, loop, if/else, br, br_if, br_table, return, unreachable.
//! (The exception-handling frames, `try_table` and the legacy `try`, are in `exceptions.rs`.)
//!
//! Every frame knows the block that follows its `end` (whose parameters are the frame's
//! results) and the height of the operand stack below its parameters. Values flowing into a
//! branch are passed as block arguments; values live across `if` arms without parameters
//! because the `if` head dominates both arms.

use super::{ir_type, FuncTranslator};
use crate::error::CompileError;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Type};
use wasic_abi::Trap;
use wasmparser::{BlockType, Operator};

#[derive(Debug)]
pub enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    /// An `if` whose `else` has not been seen yet: `else_block` runs when the condition is false,
    /// starting from `params`.
    If {
        else_block: Block,
        params: Vec<Value>,
    },
    /// An `if` after its `else`.
    Else,
    /// A `try_table`; its catch clauses were translated into `handler.dispatch` at its start.
    TryTable {
        handler: Handler,
        catches: Vec<wasmparser::Catch>,
    },
    /// A legacy `try`. While its body runs, exceptions go to `handler`; `catch` clauses are
    /// appended to the dispatch chain as they come (`cursor` is where the next test goes, `None`
    /// after `catch_all`); `exn` is the caught exception, for `rethrow`.
    Try {
        handler: Handler,
        exn: Value,
        cursor: Option<Block>,
        in_catch: bool,
    },
}

use cranelift_codegen::ir::Value;

/// Where exceptions raised inside a frame go. `landing` is the target of `try_call` exception
/// edges (only those reach it), `dispatch` is the code testing the catch clauses, reached from
/// `landing` and by plain jumps from `throw` / `rethrow` / `delegate` in the same function.
/// Both take the exnref as their only parameter.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    pub landing: Block,
    pub dispatch: Block,
}

#[derive(Debug)]
pub struct Frame {
    pub kind: FrameKind,
    /// The block after `end`; its parameters are the frame's results.
    pub next: Block,
    pub num_params: usize,
    pub num_results: usize,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
    /// Whether some branch reaches `next` (so the code after `end` is reachable).
    pub next_reachable: bool,
    /// The innermost exception handler of code directly inside this frame, if any in this
    /// function (otherwise exceptions leave the function).
    pub handler: Option<Handler>,
}

impl Frame {
    pub fn block(next: Block, num_params: usize, num_results: usize, height: usize) -> Self {
        Frame {
            kind: FrameKind::Block,
            next,
            num_params,
            num_results,
            height,
            next_reachable: false,
            handler: None,
        }
    }
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl FuncTranslator<'_, '_> {
    /// The handler exceptions raised at the current position go to.
    pub(super) fn current_handler(&self) -> Option<Handler> {
        self.control.last().and_then(|f| f.handler)
    }

    /// Pushes a frame whose code inherits the current exception handler.
    pub(super) fn push_frame(&mut self, mut frame: Frame) {
        frame.handler = self.current_handler();
        self.control.push(frame);
    }

    /// Parameter and result types of a block type.
    pub(super) fn block_type(
        &self,
        bt: BlockType,
        offset: u64,
    ) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (
                vec![],
                vec![ir_type(crate::module::val_type(
                    t,
                    &self.env.kinds,
                    offset,
                )?)],
            ),
            BlockType::FuncType(i) => {
                let ft = &self.env.types[i as usize];
                (
                    ft.params.iter().map(|t| ir_type(*t)).collect(),
                    ft.results.iter().map(|t| ir_type(*t)).collect(),
                )
            }
        })
    }

    pub(super) fn block_with_params(&mut self, tys: &[Type]) -> Block {
        let block = self.b.create_block();
        for t in tys {
            self.b.append_block_param(block, *t);
        }
        block
    }

    /// Jumps to `block` passing the top `n` operands.
    pub(super) fn jump_with_top(&mut self, block: Block, n: usize) {
        let args = block_args(self.peekn(n));
        self.b.ins().jump(block, &args);
    }

    /// Branches to relative depth `depth` with the top operands when `cond` is non-zero (when
    /// zero, if not `when_nonzero`), and continues in a new block otherwise.
    pub(super) fn branch_if(&mut self, cond: Value, when_nonzero: bool, depth: u32) {
        let (target, n) = self.branch_target(depth);
        let args = block_args(self.peekn(n));
        let fallthrough = self.b.create_block();
        if when_nonzero {
            self.b.ins().brif(cond, target, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(cond, fallthrough, &[], target, &args);
        }
        self.b.switch_to_block(fallthrough);
        self.b.seal_block(fallthrough);
    }

    /// Branch target of relative depth `depth`: the block and how many operands it takes.
    /// Marks the frame's continuation reachable.
    pub(super) fn branch_target(&mut self, depth: u32) -> (Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        match frame.kind {
            FrameKind::Loop { header } => (header, frame.num_params),
            _ => {
                frame.next_reachable = true;
                (frame.next, frame.num_results)
            }
        }
    }

    /// Handles block-structure operators in unreachable code: only nesting matters.
    pub(super) fn translate_unreachable(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => self.unreachable_depth += 1,
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::Catch { tag_index } if self.unreachable_depth == 0 => {
                self.translate_catch(Some(*tag_index))
            }
            Operator::CatchAll if self.unreachable_depth == 0 => self.translate_catch(None),
            Operator::End if self.unreachable_depth == 0 => self.translate_end(None),
            Operator::Delegate { relative_depth } if self.unreachable_depth == 0 => {
                self.translate_end(Some(*relative_depth))
            }
            Operator::End | Operator::Delegate { .. } => self.unreachable_depth -= 1,
            _ => {}
        }
    }

    fn translate_else(&mut self) {
        let frame = self.control.last_mut().expect("validated: else inside if");
        let FrameKind::If { else_block, params } =
            std::mem::replace(&mut frame.kind, FrameKind::Else)
        else {
            unreachable!("validated: else closes an if");
        };
        let (next, n, height) = (frame.next, frame.num_results, frame.height);
        if self.reachable {
            self.jump_with_top(next, n);
            self.control.last_mut().unwrap().next_reachable = true;
        }
        self.stack.truncate(height);
        self.stack.extend(params);
        self.b.switch_to_block(else_block);
        self.b.seal_block(else_block);
        // The else arm is reachable because the `if` head was (unreachable ifs have no frame).
        self.reachable = true;
    }

    /// `end` of any frame, or `delegate` (with its label) of a legacy `try`.
    pub(super) fn translate_end(&mut self, delegate: Option<u32>) {
        let mut frame = self.control.pop().expect("validated: end closes a frame");
        if self.reachable {
            self.jump_with_top(frame.next, frame.num_results);
            frame.next_reachable = true;
        }
        match frame.kind {
            FrameKind::TryTable { handler, catches } => self.close_try_table(handler, catches),
            FrameKind::Try {
                handler,
                exn,
                cursor,
                in_catch,
            } => self.close_try(handler, exn, cursor, in_catch, delegate),
            FrameKind::Loop { header } => self.b.seal_block(header),
            FrameKind::If { else_block, params } => {
                // No else arm: the false path passes the parameters through (same types as the
                // results, as validation requires).
                self.b.switch_to_block(else_block);
                self.b.seal_block(else_block);
                let args = block_args(&params);
                self.b.ins().jump(frame.next, &args);
                frame.next_reachable = true;
            }
            FrameKind::Block | FrameKind::Else => {}
        }
        // A `delegate` is an `end` here; its target was handled by `close_try`.
        self.stack.truncate(frame.height);
        self.reachable = frame.next_reachable;
        if frame.next_reachable {
            self.b.switch_to_block(frame.next);
            self.b.seal_block(frame.next);
            let results = self.b.block_params(frame.next).to_vec();
            self.stack.extend(results);
        }
    }

    /// Control operators; returns false for any other operator.
    pub(super) fn translate_control(
        &mut self,
        op: &Operator<'_>,
        offset: u64,
    ) -> Result<bool, CompileError> {
        match op {
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(*blockty, offset)?;
                let next = self.block_with_params(&results);
                let height = self.stack.len() - params.len();
                self.push_frame(Frame::block(next, params.len(), results.len(), height));
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(*blockty, offset)?;
                let header = self.block_with_params(&params);
                let next = self.block_with_params(&results);
                self.jump_with_top(header, params.len());
                let height = self.stack.len() - params.len();
                self.stack.truncate(height);
                self.b.switch_to_block(header);
                let header_params = self.b.block_params(header).to_vec();
                self.stack.extend(header_params);
                let mut frame = Frame::block(next, params.len(), results.len(), height);
                frame.kind = FrameKind::Loop { header };
                self.push_frame(frame);
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_type(*blockty, offset)?;
                let cond = self.pop();
                let next = self.block_with_params(&results);
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                self.b.ins().brif(cond, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                self.b.seal_block(then_block);
                let height = self.stack.len() - params.len();
                let mut frame = Frame::block(next, params.len(), results.len(), height);
                frame.kind = FrameKind::If {
                    else_block,
                    params: self.peekn(params.len()).to_vec(),
                };
                self.push_frame(frame);
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end(None),
            Operator::Br { relative_depth } => {
                let (target, n) = self.branch_target(*relative_depth);
                self.jump_with_top(target, n);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                self.branch_if(cond, true, *relative_depth);
            }
            // The reference stays on the stack where the branch is not taken (br_on_null) or
            // is its last argument (br_on_non_null).
            Operator::BrOnNull { relative_depth } => {
                let r = self.pop();
                self.branch_if(r, false, *relative_depth);
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                let r = *self.stack.last().expect("validated");
                self.branch_if(r, true, *relative_depth);
                self.pop();
            }
            Operator::BrTable { targets } => {
                let index = self.pop();
                let mut depths = targets.targets().collect::<Result<Vec<u32>, _>>()?;
                depths.push(targets.default());
                let resolved: Vec<(Block, usize)> =
                    depths.iter().map(|d| self.branch_target(*d)).collect();
                let n = resolved.last().map(|r| r.1).unwrap_or(0);
                // With arguments, each distinct target gets a small block passing them on,
                // because every jump table entry must accept the same (empty) arguments.
                let mut entries = Vec::with_capacity(resolved.len());
                let mut edge_blocks: std::collections::HashMap<Block, Block> = Default::default();
                for (target, _) in &resolved {
                    if n == 0 {
                        entries.push(*target);
                    } else {
                        let edge = *edge_blocks
                            .entry(*target)
                            .or_insert_with(|| self.b.create_block());
                        entries.push(edge);
                    }
                }
                let pool = &mut self.b.func.dfg.value_lists;
                let default = cranelift_codegen::ir::BlockCall::new(
                    *entries.last().unwrap(),
                    std::iter::empty(),
                    pool,
                );
                let table: Vec<_> = entries[..entries.len() - 1]
                    .iter()
                    .map(|blk| {
                        cranelift_codegen::ir::BlockCall::new(*blk, std::iter::empty(), pool)
                    })
                    .collect();
                let jt = self
                    .b
                    .create_jump_table(cranelift_codegen::ir::JumpTableData::new(default, &table));
                self.b.ins().br_table(index, jt);
                let mut edges: Vec<(Block, Block)> = edge_blocks.into_iter().collect();
                edges.sort_by_key(|(target, _)| *target);
                for (target, edge) in edges {
                    self.b.switch_to_block(edge);
                    self.b.seal_block(edge);
                    self.jump_with_top(target, n);
                }
                self.reachable = false;
            }
            Operator::Return => {
                let n = self.control[0].num_results;
                let results = self.peekn(n).to_vec();
                self.b.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Unreachable => {
                self.b
                    .ins()
                    .trap(crate::traps::trap_code(Trap::Unreachable));
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
