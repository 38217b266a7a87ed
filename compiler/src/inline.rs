//! Whole-module inlining (the `inline` optimization): which functions may be inlined into their
//! callers, in which order the pipeline compiles them, and the hook through which Cranelift's
//! inliner (`Context::inline`) splices their bodies in.
//!
//! **Candidates.** Before any function is translated, every body is scanned for its direct calls
//! (`call`, `return_call` of defined functions; imports and `call_indirect` are never inlined) to
//! build the call graph. A function is a candidate when its body is small
//! ([`MAX_CANDIDATE_BODY`] bytes of wasm) and it is not part of a recursive cycle: its strongly
//! connected component is itself alone, without a call to itself. Only candidates' IR is kept in
//! memory (a copy of each, made before Cranelift optimizes it), so a module with tens of
//! thousands of functions still compiles in bounded memory.
//!
//! **Order.** Candidates are compiled first, bottom-up in [`Plan::levels`]: a level only calls
//! candidates of earlier levels, so each candidate already has its own callees inlined when it
//! is kept, and its size is checked again then ([`MAX_CANDIDATE_INSTS`]). The functions of one
//! level are independent and compile in parallel; everything else compiles last, in parallel.
//! Since a candidate is never in a cycle, no body is ever inlined into itself, and no call is
//! inlined inside a recursive cycle (the caller and callee of an inlined call are in different
//! components).
//!
//! **Call sites** ([`Inliner`]): a call to a kept candidate is inlined when the callee is tiny
//! ([`ALWAYS_INLINE_INSTS`]) or the caller stays under [`MAX_CALLER_INSTS`] with it, counting
//! what was already inlined into it.
//!
//! **Semantics.** A direct call to a defined function passes the caller's own `VMContext` as
//! both the callee's and the caller's vmctx (translate/calls.rs), so the inlined body's uses of
//! its vmctx parameter become the caller's: the same instance. The inlined body's traps keep
//! their trap codes (so their kinds), and Cranelift merges exception tables: a call inside the
//! inlined body made where the caller's call was a `try_call` becomes a `try_call` to the
//! caller's handler (after the callee's own, which comes first), so an exception from a
//! function the body calls finds the caller's handler in the caller's frame, as it would have
//! one frame further up. A body that may throw out of itself is not inlined at a `try_call`
//! (see [`Body::throws`]); elsewhere its throw goes up the stack as before. The callee's
//! stack-limit check goes with its frame: the caller's frame now holds the callee's slots, and
//! the caller's prologue checks them. What changes is the backtrace of a trap: an inlined call
//! has no frame of its own, so the trap is reported in the caller (wasmtime's inliner does the
//! same).

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName, Function};
use std::borrow::Cow;
use wasmparser::{FunctionBody, Operator};

/// Largest body, in bytes of wasm code, of a function that may become a candidate.
pub const MAX_CANDIDATE_BODY: usize = 160;

/// Largest IR, in instructions, of a candidate whose body is kept for inlining (checked after
/// its own callees are inlined into it).
pub const MAX_CANDIDATE_INSTS: usize = 240;

/// A callee of at most this many instructions is inlined wherever it is called.
pub const ALWAYS_INLINE_INSTS: usize = 40;

/// Larger callees are inlined only while the caller, with them, stays within this many
/// instructions.
pub const MAX_CALLER_INSTS: usize = 3000;

/// What the call-graph scan learns about one function body.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// The defined functions the body calls directly (`call` and `return_call`), as
    /// defined-function indices (function index minus the number of imports), sorted and
    /// without duplicates.
    pub callees: Vec<u32>,
    /// Whether the body may throw an exception out of itself: it has an operator whose
    /// translation may call the `throw_ref` builtin (see [`Body::throws`]).
    pub throws: bool,
}

/// Scans `body` (of a module with `num_imported` imported and `num_funcs` functions in all).
/// Only reads the operators: a body that does not decode yields what was found before the
/// error, and its translation reports the error.
pub fn scan(body: &FunctionBody<'_>, num_imported: u32, num_funcs: u32) -> Scan {
    let mut scan = Scan::default();
    let Ok(mut reader) = body.get_operators_reader() else {
        return scan;
    };
    while !reader.eof() {
        match reader.read() {
            Ok(Operator::Call { function_index } | Operator::ReturnCall { function_index }) => {
                if (num_imported..num_funcs).contains(&function_index) {
                    scan.callees.push(function_index - num_imported);
                }
            }
            // Everything translate/exceptions.rs may lower to a `throw_ref` builtin call: a
            // throw with no handler in the function, and the dispatch of an exception no
            // clause of a `try_table` or `try` matches.
            Ok(
                Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::Rethrow { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. }
                | Operator::Delegate { .. },
            ) => scan.throws = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    scan.callees.sort_unstable();
    scan.callees.dedup();
    scan
}

/// The strongly connected components of the graph whose node `v` has edges to `edges[v]`, in
/// Tarjan's order: each component comes after every component it reaches, so callees come
/// before their callers. Iterative, as call graphs can be deeper than the native stack.
pub fn sccs(edges: &[Vec<u32>]) -> Vec<Vec<u32>> {
    const UNVISITED: u32 = u32::MAX;
    let n = edges.len();
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // The DFS path: a node and how many of its edges were followed.
    let mut path: Vec<(u32, usize)> = Vec::new();
    let mut next_index = 0u32;
    let mut components = Vec::new();
    for root in 0..n as u32 {
        if index[root as usize] != UNVISITED {
            continue;
        }
        let mut next = Some(root);
        loop {
            if let Some(w) = next.take() {
                let wi = w as usize;
                index[wi] = next_index;
                low[wi] = next_index;
                next_index += 1;
                stack.push(w);
                on_stack[wi] = true;
                path.push((w, 0));
            }
            let Some(&mut (v, ref mut followed)) = path.last_mut() else {
                break;
            };
            let vi = v as usize;
            if let Some(&w) = edges[vi].get(*followed) {
                *followed += 1;
                let wi = w as usize;
                if index[wi] == UNVISITED {
                    next = Some(w);
                } else if on_stack[wi] {
                    low[vi] = low[vi].min(index[wi]);
                }
                continue;
            }
            path.pop();
            if low[vi] == index[vi] {
                let mut component = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w as usize] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = path.last() {
                low[parent as usize] = low[parent as usize].min(low[vi]);
            }
        }
    }
    components
}

/// The compilation order of the inline candidates.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The candidates (defined-function indices), level by level: a candidate calls only
    /// candidates of earlier levels. Within a level, in increasing index order.
    pub levels: Vec<Vec<u32>>,
    /// By defined-function index: whether the body may throw out of itself ([`Scan::throws`]).
    pub throws: Vec<bool>,
}

impl Plan {
    /// Plans the candidates of the module whose defined function `i` was scanned as
    /// `scans[i]` and has a body of `body_len[i]` bytes.
    pub fn new(scans: Vec<Scan>, body_len: &[usize]) -> Plan {
        const NONE: u32 = u32::MAX;
        let (callees, throws): (Vec<Vec<u32>>, Vec<bool>) =
            scans.into_iter().map(|s| (s.callees, s.throws)).unzip();
        let mut level = vec![NONE; callees.len()];
        let mut levels: Vec<Vec<u32>> = Vec::new();
        for component in sccs(&callees) {
            let &[v] = component.as_slice() else {
                continue; // mutual recursion
            };
            let vi = v as usize;
            if body_len[vi] > MAX_CANDIDATE_BODY || callees[vi].binary_search(&v).is_ok() {
                continue; // too large, or calls itself
            }
            // The callees' components all came earlier, so their levels are known.
            let l = callees[vi]
                .iter()
                .filter(|&&w| level[w as usize] != NONE)
                .map(|&w| level[w as usize] + 1)
                .max()
                .unwrap_or(0);
            level[vi] = l;
            if levels.len() <= l as usize {
                levels.resize_with(l as usize + 1, Vec::new);
            }
            levels[l as usize].push(v);
        }
        for l in &mut levels {
            l.sort_unstable();
        }
        Plan { levels, throws }
    }

    /// How many candidates there are.
    #[cfg(test)]
    pub fn num_candidates(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }
}

/// The IR of an inline candidate, ready to be inlined.
pub struct Body {
    pub func: Function,
    /// Its number of instructions.
    pub insts: usize,
    /// Whether it may call the `throw_ref` builtin (itself or in what was inlined into it).
    ///
    /// Such a body is never inlined where the call is a `try_call`. Cranelift would make the
    /// builtin call a `try_call` to the caller's handler, and builtins use the System V
    /// convention, whose `try_call`s expect the unwinder to restore the callee-saved registers
    /// on the way to the handler; wasic's unwinder restores none, which is only right for
    /// calls with the `tail` convention (all registers clobbered), the only ones whose
    /// exceptions wasic otherwise catches. The other builtins never unwind to a handler, so
    /// the `try_call`s they become are harmless.
    pub throws: bool,
}

impl Body {
    /// `func` as a body to inline, or `None` when it is too large to be kept.
    pub fn keep(func: &Function, throws: bool) -> Option<Body> {
        let insts = size(func);
        (insts <= MAX_CANDIDATE_INSTS).then(|| Body {
            func: func.clone(),
            insts,
            throws,
        })
    }
}

/// The size of `func` for the heuristics: its number of instructions.
pub fn size(func: &Function) -> usize {
    func.dfg.num_insts()
}

/// The kept bodies, by defined-function index.
pub type Bodies = [Option<Body>];

/// Cranelift's inlining hook for one caller: inlines direct calls to kept candidates (see the
/// module documentation for the heuristics).
pub struct Inliner<'a> {
    bodies: &'a Bodies,
    caller: u32,
    /// The caller's instructions, with what was inlined so far.
    size: usize,
    /// Whether a body that may throw out of itself was inlined.
    pub inlined_throws: bool,
}

impl<'a> Inliner<'a> {
    /// The hook for defined function `caller`, whose IR is `func`.
    pub fn new(bodies: &'a Bodies, caller: u32, func: &Function) -> Self {
        Inliner {
            bodies,
            caller,
            size: size(func),
            inlined_throws: false,
        }
    }
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        // Direct calls to defined functions name them as `u0:<defined index>`
        // (translate/calls.rs); everything else is not a candidate.
        let ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let name = &caller.params.user_named_funcs()[name];
        if name.namespace != 0 || name.index == self.caller {
            return InlineCommand::KeepCall;
        }
        let Some(Some(body)) = self.bodies.get(name.index as usize) else {
            return InlineCommand::KeepCall;
        };
        if body.insts > ALWAYS_INLINE_INSTS && self.size + body.insts > MAX_CALLER_INSTS {
            return InlineCommand::KeepCall;
        }
        if body.throws && call_opcode == ir::Opcode::TryCall {
            return InlineCommand::KeepCall;
        }
        self.size += body.insts;
        self.inlined_throws |= body.throws;
        InlineCommand::Inline {
            callee: Cow::Borrowed(&body.func),
            // The body already has its own callees inlined (bottom-up order).
            visit_callee: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut g = vec![Vec::new(); n];
        for &(a, b) in edges {
            g[a as usize].push(b);
        }
        for e in &mut g {
            e.sort_unstable();
            e.dedup();
        }
        g
    }

    fn scans(g: Vec<Vec<u32>>) -> Vec<Scan> {
        g.into_iter()
            .map(|callees| Scan {
                callees,
                throws: false,
            })
            .collect()
    }

    #[test]
    fn components_come_callees_first_and_cycles_stay_together() {
        // 0 -> 1 -> 2 -> 1 (cycle {1, 2}), 2 -> 3, 0 -> 4 -> 4 (self loop).
        let g = graph(5, &[(0, 1), (1, 2), (2, 1), (2, 3), (0, 4), (4, 4)]);
        let comps = sccs(&g);
        let pos = |v: u32| comps.iter().position(|c| c.contains(&v)).unwrap();
        assert_eq!(comps.len(), 4);
        assert_eq!(pos(1), pos(2));
        assert!(pos(3) < pos(1));
        assert!(pos(1) < pos(0));
        assert!(pos(4) < pos(0));
    }

    #[test]
    fn a_long_call_chain_does_not_overflow_the_stack() {
        let n = 200_000;
        let g: Vec<Vec<u32>> = (0..n as u32)
            .map(|i| {
                if i + 1 < n as u32 {
                    vec![i + 1]
                } else {
                    vec![0]
                }
            })
            .collect();
        let comps = sccs(&g);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n);
    }

    #[test]
    fn candidates_are_small_non_recursive_functions_in_bottom_up_levels() {
        // 0 calls 1 and 5; 1 calls 2; 2 is a leaf; 3 <-> 4 mutual recursion; 5 calls itself;
        // 6 is too large; 7 calls 6 and 2.
        let g = graph(
            8,
            &[
                (0, 1),
                (0, 5),
                (1, 2),
                (3, 4),
                (4, 3),
                (5, 5),
                (7, 6),
                (7, 2),
            ],
        );
        let mut len = vec![10; 8];
        len[6] = MAX_CANDIDATE_BODY + 1;
        let plan = Plan::new(scans(g), &len);
        assert_eq!(plan.levels, vec![vec![2], vec![1, 7], vec![0]]);
        assert_eq!(plan.num_candidates(), 4);
    }

    #[test]
    fn a_small_function_in_a_cycle_through_a_large_one_is_no_candidate() {
        // 0 (small) -> 1 (large) -> 0.
        let g = graph(2, &[(0, 1), (1, 0)]);
        let plan = Plan::new(scans(g), &[10, 100_000]);
        assert_eq!(plan.num_candidates(), 0);
    }

    #[test]
    fn the_scan_finds_direct_calls_of_defined_functions_and_throwing_operators() {
        let wasm = wat::parse_str(
            r#"(module
                (import "m" "f" (func $imp))
                (table 1 funcref)
                (type $t (func))
                (tag $e)
                (func $a call $imp call $b call $b (call_indirect (type $t) (i32.const 0)))
                (func $b return_call $a)
                (func $throws throw $e)
                (func $catches (block $h (try_table (catch_all $h)))))"#,
        )
        .unwrap();
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                bodies.push(body);
            }
        }
        let a = scan(&bodies[0], 1, 4);
        assert_eq!((a.callees, a.throws), (vec![1], false));
        let b = scan(&bodies[1], 1, 4);
        assert_eq!((b.callees, b.throws), (vec![0], false));
        for thrower in [2, 3] {
            assert!(scan(&bodies[thrower], 1, 4).throws, "{thrower}");
        }
    }
}
