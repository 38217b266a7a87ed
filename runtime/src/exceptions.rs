//! WebAssembly exceptions: tags ([`Tag`]), exception objects ([`ExnRef`]) and the unwinder
//! that delivers a thrown exception to the innermost handler on the stack.
//!
//! Layouts are `wasic_abi::vmctx`'s: a tag is a [`VMTag`] whose address is its identity, an
//! exception is a run of `ValRaw` cells owned by the store (cell 0: the tag, then the payload).
//! Exceptions live as long as their store: nothing tracks which are still referenced, so a
//! program that throws without end grows by one small allocation (16 bytes a value, plus 16)
//! per throw until the store is dropped.
//!
//! Throwing ([`throw`]) walks the frame-pointer chain from the `throw_ref` builtin up to the
//! entry of the innermost wasm activation. The first return address that is a `try_call` site
//! with a handler (the metadata's `HandlerSite`s) wins: the stack and frame pointers are set
//! back to that frame's and execution resumes at the handler with the exnref in `rax`, the
//! first exception payload register of Cranelift's x86-64 conventions. Which catch clause
//! applies is then decided by compiled code; an exception no frame handles leaves wasm as the
//! `UncaughtException` trap.

use crate::error::Error;
use crate::func::Val;
use crate::module::lookup_pc;
use crate::store::{Store, StoreInner};
use crate::traps::{self, TrapRecord, Unwind};
use crate::types;
use wasic_abi::vmctx::{VMOffsets, VMTag};
use wasic_abi::{FuncType, Trap, ValRaw};

/// An exception tag handle, valid while its store lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag(pub(crate) *const VMTag);

impl Tag {
    /// Defines a new tag with signature `ty` (`params -> []`) in `store`.
    pub fn new(store: &mut Store, ty: FuncType) -> Result<Tag, Error> {
        if !ty.results.is_empty() {
            return Err(Error::Usage(format!("a tag's type has no results: {ty}")));
        }
        Ok(store.inner.new_tag(types::canonical_id(&ty)))
    }

    pub fn type_id(&self) -> u32 {
        // SAFETY: a Tag points at a live VMTag of its store.
        unsafe { (*self.0).type_id }
    }

    pub fn ty(&self) -> FuncType {
        types::type_of(self.type_id()).unwrap_or_default()
    }
}

impl StoreInner {
    pub(crate) fn new_tag(&mut self, type_id: u32) -> Tag {
        let t = Box::new(VMTag { type_id });
        let h = Tag(&*t);
        self.tags.push(t);
        h
    }

    /// A new exception object for `tag` with room for `n` payload values (zeroed).
    pub(crate) fn new_exception(&mut self, tag: *const VMTag, n: usize) -> *mut ValRaw {
        let mut cells = vec![ValRaw::default(); VMOffsets::exn_cells(n)].into_boxed_slice();
        cells[0] = ValRaw::from_usize(tag as usize);
        let p = cells.as_mut_ptr();
        self.exceptions.push(cells);
        p
    }
}

/// A caught or thrown exception, valid while its store lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExnRef(pub(crate) *const ValRaw);

impl ExnRef {
    /// Creates an exception with tag `tag` and payload `args` (for the host to throw or pass).
    pub fn new(store: &mut Store, tag: Tag, args: &[Val]) -> Result<ExnRef, Error> {
        let ty = tag.ty();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Error::Usage(format!("wrong payload for a tag of type {ty}")));
        }
        let p = store.inner.new_exception(tag.0, args.len());
        for (i, a) in args.iter().enumerate() {
            // SAFETY: `p` has `args.len() + 1` cells.
            unsafe { *p.add(i + 1) = a.to_raw() };
        }
        Ok(ExnRef(p))
    }

    /// The tag it was thrown with.
    pub fn tag(&self) -> Tag {
        // SAFETY: an ExnRef points at a live exception object whose cell 0 is its tag.
        Tag(unsafe { (*self.0).as_usize() } as *const VMTag)
    }

    /// The payload values, typed by the tag's signature.
    pub fn payload(&self) -> Vec<Val> {
        self.tag()
            .ty()
            .params
            .iter()
            .enumerate()
            // SAFETY: the object has one cell per parameter of its tag after the header.
            .map(|(i, t)| Val::from_raw(unsafe { *self.0.add(i + 1) }, *t))
            .collect()
    }
}

/// The handler covering the call that returns to `ret`, as (handler address, sp-to-fp).
fn handler_at(ret: usize) -> Option<(usize, usize)> {
    let l = lookup_pc(ret.checked_sub(1)?)?;
    let defined = (l.func_index - l.code.meta.num_imported_funcs) as usize;
    let sites = l.code.meta.handlers.get(defined)?;
    let ret_offset = l.offset + 1;
    let i = sites
        .binary_search_by_key(&ret_offset, |s| s.ret_offset)
        .ok()?;
    let site = sites[i];
    let func_start = ret - ret_offset as usize;
    Some((
        func_start + site.handler_offset as usize,
        site.sp_to_fp as usize,
    ))
}

/// Throws exception `exn` (non-null) from a builtin called by compiled code: resumes at the
/// innermost handler of the current activation, or leaves it with `UncaughtException`.
///
/// # Safety
/// Must be called from a builtin called by compiled code, with nothing needing drop live in
/// any frame between here and there (as for [`traps::raise`]).
pub unsafe fn throw(exn: *const ValRaw) -> ! {
    let state = traps::current_state();
    if !state.is_null() {
        let fp: usize;
        // SAFETY: reads this function's frame pointer (kept everywhere, .cargo/config.toml).
        unsafe { std::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack)) };
        let lo = fp;
        // SAFETY: `state` is the live innermost activation of this thread.
        let hi = unsafe { traps::entry_sp(state) };
        let mut fp = fp;
        // Frame pointers only ever increase towards the entry; stop at anything else.
        while fp >= lo && fp + 16 <= hi && fp.is_multiple_of(8) {
            // SAFETY: `fp` lies within this activation's stack.
            let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            if let Some((pc, sp_to_fp)) = handler_at(ret) {
                // SAFETY: `next` is the frame pointer of the frame owning the `try_call` that
                // returns to `ret`; Cranelift expects its handler to run with that frame's
                // pointers and the exnref in the first payload register.
                unsafe { traps::resume(pc, next - sp_to_fp, next, exn as usize) }
            }
            if next <= fp {
                break;
            }
            fp = next;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { traps::raise(Unwind::Trap(TrapRecord::new(Trap::UncaughtException))) }
}
