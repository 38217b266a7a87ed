//! The `VMContext`: the per-instance block compiled code reads through its first argument.
//!
//! Layout: a fixed [`VMContext`] header (a `#[repr(C)]` struct, so its offsets come from
//! `offset_of!`) followed by a variable-length tail whose offsets [`VMOffsets`] computes from
//! the module's counts. The compiler emits loads at exactly these offsets; the runtime builds
//! instances with exactly these offsets; a runtime test checks real field addresses against them.
//!
//! ```text
//! header   VMContext                         (magic, limits, builtins, memory0 base, ...)
//! tail     funcs:    [*const VMFuncRef; F]   every function, imported first (call / ref.func)
//!          globals:  [*mut VMGlobal;    G]   every global, imported first
//!          tables:   [*mut VMTable;     T]   every table
//!          memories: [*mut VMMemory;    M]   every memory
//!          tags:     [*const VMTag;     X]   every exception tag, imported first
//!          type_ids: [u32;              N]   canonical signature id of each type index
//! ```
//!
//! # Exceptions
//!
//! A tag's identity is the address of its [`VMTag`] (two instances of one module have distinct
//! tags; an imported tag is the exporter's). An `exnref` points at an exception object owned by
//! the store: a run of 16-byte [`ValRaw`] cells, the first holding the `*const VMTag` thrown,
//! the following ones the payload values in the tag's parameter order
//! ([`VMOffsets::EXN_TAG`], [`VMOffsets::exn_payload`]). Compiled code allocates one with the
//! `exception_new` builtin, stores the payload, and throws it with `throw_ref`; the runtime
//! unwinds to the innermost `try_call` handler (Cranelift exception tables, listed per function
//! in the metadata as [`crate::meta::HandlerSite`]s) and resumes there with the exnref in the
//! first exception payload register. Which clause matches is decided by compiled code.
//!
//! # Calling conventions
//!
//! * **Wasm functions** use Cranelift's `tail` convention with the signature
//!   `(callee_vmctx: ptr, caller_vmctx: ptr, wasm params...) -> wasm results`.
//! * **Array trampolines** (one per module type index, host -> wasm) use the platform C
//!   convention: `extern "C" fn(callee_vmctx, caller_vmctx, func_ptr, values: *mut ValRaw)`.
//!   They read the parameters from `values[0..np]`, call `func_ptr` and write the results to
//!   `values[0..nr]`. The array must hold `max(np, nr)` cells.
//! * **Host adapters** (one per module type index, wasm -> host) have a wasm function's
//!   signature; their `callee_vmctx` is a [`VMHostContext`]. They spill the parameters into a
//!   `ValRaw` array of `max(np, nr)` cells on their stack, call
//!   `(host.func)(host, caller_vmctx, values, len)` with the C convention, and return the results
//!   read back from the array. A host function that wants to trap unwinds through the runtime.
//! * **Builtins** ([`crate::builtins`]) are called with the C convention through the table at
//!   [`VMContext::builtins`], so compiled objects reference no external symbol at all.

use crate::types::ValRaw;
use std::mem::{offset_of, size_of};

/// First word of every `VMContext`; catches a wrong pointer early in debugging and in tests.
pub const VMCTX_MAGIC: u64 = u64::from_le_bytes(*b"wasicVMx");
/// First word of every [`VMHostContext`].
pub const HOST_MAGIC: u64 = u64::from_le_bytes(*b"wasicHST");

/// Per-store execution limits (and the GC heap's allocation pointers) shared by all instances
/// of a store. The runtime sets them each
/// time wasm is entered on a thread from outside (runtime/src/traps/stack.rs): wasm runs on a
/// per-thread stack whose guard region lies just below `stack_limit`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMLimits {
    /// Lowest stack address wasm frames may use: the top of the guard region of the thread's
    /// wasm stack, `--max-stack` bytes below where wasm was entered. Code compiled with the
    /// `stack_guard` optimization off compares the stack pointer (minus its frame size) against
    /// it in every function prologue and traps with `StackOverflow` below it; with it on, a
    /// frame below it faults on the guard, which the runtime turns into the same trap.
    /// Builtins and host functions compare it on entry: with too little stack left above it
    /// for host code, they run on `host_stack` instead.
    pub stack_limit: usize,
    /// Top (16-byte aligned) of the thread's host stack reserve, below the guard region: where
    /// builtins and host functions called close to `stack_limit` run. Read by the runtime's
    /// entry stubs only, never by compiled code.
    pub host_stack: usize,
    /// Where the next object of the store's GC heap goes ([`crate::gc`]): compiled code bumps
    /// it up to `gc_end` and calls the `gc_alloc` builtin when an object does not fit.
    pub gc_next: usize,
    /// End of the free run `gc_next` allocates from.
    pub gc_end: usize,
}

/// Fixed header of a `VMContext`. Compiled code only ever sees a pointer to it.
#[repr(C)]
pub struct VMContext {
    pub magic: u64,
    /// Shared limits of the store this instance belongs to.
    pub limits: *mut VMLimits,
    /// The runtime's builtin function table ([`crate::builtins::VMBuiltins`]).
    pub builtins: *const crate::builtins::VMBuiltins,
    /// Base of memory 0 (null when the module has no memory). Memories never move: the full
    /// reservation is made up front, so this is constant for the life of the instance.
    pub memory0_base: *mut u8,
    /// Runtime-private back pointer to the owning instance.
    pub instance: *mut u8,
    /// The process's subtype displays, indexed by canonical type id: entry `i` points at
    /// `[n, t_0, .., t_{n-1}]`, the chain of declared supertypes from the root `t_0` down to
    /// `t_{n-1} = i`. A cast to a non-final type `want` at depth `d` (its number of
    /// supertypes) holds for an object of type `i` exactly when `n > d` and `t_d == want`:
    /// constant time, no call. Entries never change once written, and an id is handed out
    /// only after its entry is.
    pub type_displays: *const *const u32,
}

/// What compiled code needs to call a function it does not know statically: `call` of an
/// imported function, `call_indirect`, `call_ref`. A funcref value is a `*const VMFuncRef`.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Entry point with the wasm calling convention.
    pub func_ptr: *const u8,
    /// First argument to pass: the callee's `VMContext` (or `VMHostContext`).
    pub vmctx: *mut VMContext,
    /// Canonical signature id, compared by `call_indirect`.
    pub type_id: u32,
    pub _pad: u32,
}

/// A table: a run of pointer-sized elements (funcref: `*const VMFuncRef`, externref: host token;
/// null is 0). `base` may change on `table.grow`; compiled code reloads it on every access.
#[repr(C)]
#[derive(Debug)]
pub struct VMTable {
    pub base: *mut usize,
    /// Current number of elements.
    pub length: u64,
}

/// A linear memory. `base` never changes; `length` (in bytes) does on `memory.grow`.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemory {
    pub base: *mut u8,
    pub length: u64,
}

/// An exception tag. Only its address matters (identity); the signature is kept for checks.
#[repr(C)]
#[derive(Debug)]
pub struct VMTag {
    /// Canonical signature id of the tag's type (`params -> []`).
    pub type_id: u32,
}

/// A global's storage: one 16-byte value cell.
#[repr(C, align(16))]
#[derive(Debug, Default)]
pub struct VMGlobal(pub ValRaw);

/// The C-convention function a host adapter calls.
pub type HostFn = unsafe extern "C" fn(
    host: *mut VMHostContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
);

/// Fixed header of a host function's context: the `vmctx` of a [`VMFuncRef`] whose `func_ptr`
/// is a host adapter. The runtime puts its own data after it.
#[repr(C)]
pub struct VMHostContext {
    pub magic: u64,
    pub func: HostFn,
}

/// Offsets into a `VMContext` for one module's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    pub num_funcs: u32,
    pub num_globals: u32,
    pub num_tables: u32,
    pub num_memories: u32,
    pub num_tags: u32,
    pub num_types: u32,
}

const PTR: u32 = size_of::<usize>() as u32;

impl VMOffsets {
    pub const MAGIC: u32 = offset_of!(VMContext, magic) as u32;
    pub const LIMITS: u32 = offset_of!(VMContext, limits) as u32;
    pub const BUILTINS: u32 = offset_of!(VMContext, builtins) as u32;
    pub const MEMORY0_BASE: u32 = offset_of!(VMContext, memory0_base) as u32;
    pub const INSTANCE: u32 = offset_of!(VMContext, instance) as u32;
    pub const TYPE_DISPLAYS: u32 = offset_of!(VMContext, type_displays) as u32;
    pub const LIMITS_STACK_LIMIT: u32 = offset_of!(VMLimits, stack_limit) as u32;
    pub const LIMITS_HOST_STACK: u32 = offset_of!(VMLimits, host_stack) as u32;
    pub const LIMITS_GC_NEXT: u32 = offset_of!(VMLimits, gc_next) as u32;
    pub const LIMITS_GC_END: u32 = offset_of!(VMLimits, gc_end) as u32;
    pub const FUNCREF_FUNC_PTR: u32 = offset_of!(VMFuncRef, func_ptr) as u32;
    pub const FUNCREF_VMCTX: u32 = offset_of!(VMFuncRef, vmctx) as u32;
    pub const FUNCREF_TYPE_ID: u32 = offset_of!(VMFuncRef, type_id) as u32;
    pub const TABLE_BASE: u32 = offset_of!(VMTable, base) as u32;
    pub const TABLE_LENGTH: u32 = offset_of!(VMTable, length) as u32;
    pub const MEMORY_BASE: u32 = offset_of!(VMMemory, base) as u32;
    pub const MEMORY_LENGTH: u32 = offset_of!(VMMemory, length) as u32;
    pub const HOST_FUNC: u32 = offset_of!(VMHostContext, func) as u32;
    /// Size of a table element.
    pub const TABLE_ELEM_SIZE: u32 = PTR;
    /// Offset of the `*const VMTag` in an exception object.
    pub const EXN_TAG: u32 = 0;

    /// Offset of payload value `i` in an exception object.
    pub fn exn_payload(i: u32) -> u32 {
        (i + 1) * size_of::<ValRaw>() as u32
    }
    /// Number of `ValRaw` cells of an exception object with `n` payload values.
    pub fn exn_cells(n: usize) -> usize {
        n + 1
    }

    const HEADER: u32 = size_of::<VMContext>() as u32;

    /// Offset of the `*const VMFuncRef` of function `i`.
    pub fn func(&self, i: u32) -> u32 {
        assert!(i < self.num_funcs);
        Self::HEADER + i * PTR
    }
    /// Offset of the `*mut VMGlobal` of global `i`.
    pub fn global(&self, i: u32) -> u32 {
        assert!(i < self.num_globals);
        Self::HEADER + (self.num_funcs + i) * PTR
    }
    /// Offset of the `*mut VMTable` of table `i`.
    pub fn table(&self, i: u32) -> u32 {
        assert!(i < self.num_tables);
        Self::HEADER + (self.num_funcs + self.num_globals + i) * PTR
    }
    /// Offset of the `*mut VMMemory` of memory `i`.
    pub fn memory(&self, i: u32) -> u32 {
        assert!(i < self.num_memories);
        Self::HEADER + (self.num_funcs + self.num_globals + self.num_tables + i) * PTR
    }
    /// Offset of the `*const VMTag` of tag `i`.
    pub fn tag(&self, i: u32) -> u32 {
        assert!(i < self.num_tags);
        Self::HEADER
            + (self.num_funcs + self.num_globals + self.num_tables + self.num_memories + i) * PTR
    }
    fn type_ids_start(&self) -> u32 {
        Self::HEADER
            + (self.num_funcs
                + self.num_globals
                + self.num_tables
                + self.num_memories
                + self.num_tags)
                * PTR
    }
    /// Offset of the canonical signature id (`u32`) of type index `i`.
    pub fn type_id(&self, i: u32) -> u32 {
        assert!(i < self.num_types);
        self.type_ids_start() + i * 4
    }
    /// Total size of the `VMContext`, header and tail, rounded up to 16 bytes.
    pub fn size(&self) -> u32 {
        (self.type_ids_start() + self.num_types * 4).next_multiple_of(16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_regions_follow_each_other_without_overlap() {
        let o = VMOffsets {
            num_funcs: 3,
            num_globals: 2,
            num_tables: 1,
            num_memories: 1,
            num_tags: 2,
            num_types: 3,
        };
        assert_eq!(o.func(0), size_of::<VMContext>() as u32);
        assert_eq!(o.global(0), o.func(2) + 8);
        assert_eq!(o.table(0), o.global(1) + 8);
        assert_eq!(o.memory(0), o.table(0) + 8);
        assert_eq!(o.tag(0), o.memory(0) + 8);
        assert_eq!(o.type_id(0), o.tag(1) + 8);
        assert_eq!(o.size() % 16, 0);
        assert!(o.size() >= o.type_id(2) + 4);
    }
}
