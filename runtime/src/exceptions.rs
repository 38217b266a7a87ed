//! WebAssembly exceptions: tags ([`Tag`]), exception objects ([`ExnRef`]) and the unwinder
//! that delivers a thrown exception to the innermost handler on the stack.
//!
//! Layouts are `wasic_abi::vmctx`'s: a tag is a [`VMTag`] whose address is its identity, an
//! exception is a run of `ValRaw` cells owned by the store (cell 0: the tag in its low 8 bytes,
//! wasic's "pinned" flag in its high 8 bytes; then the payload).
//!
//! Reclaiming exceptions ([`ExceptionHeap`]): a program that throws in a loop (C++ error
//! handling does) must not grow without end, but exnrefs have no reference counts. So when the
//! number of objects doubles (at least [`MIN_COLLECT`]), `exception_new` runs a conservative
//! mark-and-sweep: every word of this thread's wasm stack from the builtin up to its outermost
//! activation (all wasm frames and their spill slots, every activation), the callee-saved
//! registers compiled code may keep values in across the builtin call, the store's exnref
//! globals and tables, every word of the GC heap's objects, and the payloads of marked objects
//! are roots; a word that points into an
//! object keeps it alive.
//! Exceptions the host has seen (as a [`Val`] or made with [`ExnRef::new`]) are pinned and never
//! reclaimed, since host memory is not scanned.
//!
//! Limit: the objects' bytes together may not exceed the store's `max_memory` (as wasmtime counts
//! its GC heap, where its exceptions live, against `max-memory-size`). An allocation that would
//! exceed it first collects; if it still does not fit, the call fails with `Error::Resource`
//! ("exception heap out of memory", after wasmtime's "GC heap out of memory").
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
use crate::store::{Store, StoreId, StoreInner, StoreItem, Stored};
use crate::traps::{self, TrapRecord, Unwind};
use crate::types;
use std::ptr::NonNull;
use wasic_abi::vmctx::{VMOffsets, VMTag};
use wasic_abi::{FuncType, Trap, ValRaw};

/// An exception tag of a store: its `VMTag` (whose address is its identity) and its canonical
/// type id, kept in the handle so that [`Tag::ty`] needs no store. Using it with another store
/// than its own is an error (see `store.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    r: Stored<VMTag>,
    type_id: u32,
}

impl StoreItem for VMTag {
    const WHAT: &'static str = "a Tag";
}

impl Tag {
    /// Defines a new tag with signature `ty` (`params -> []`) in `store`.
    pub fn new(store: &mut Store, ty: FuncType) -> Result<Tag, Error> {
        if !ty.results.is_empty() {
            return Err(Error::Usage(format!("a tag's type has no results: {ty}")));
        }
        Ok(store.inner.new_tag(types::canonical_id(&ty)))
    }

    /// The handle of the tag at `p`.
    ///
    /// # Safety
    /// `p` must be a tag of the live store `store`.
    pub(crate) unsafe fn from_ptr(store: StoreId, p: *const VMTag) -> Tag {
        // SAFETY: a live tag (the caller's guarantee), so not null.
        let (p, type_id) = unsafe { (NonNull::new_unchecked(p as *mut VMTag), (*p).type_id) };
        Tag {
            // SAFETY: as above.
            r: unsafe { Stored::new(store, p) },
            type_id,
        }
    }

    pub fn type_id(&self) -> u32 {
        self.type_id
    }

    pub fn ty(&self) -> FuncType {
        types::type_of(self.type_id).unwrap_or_default()
    }

    /// The tag's address: its identity for compiled code.
    pub(crate) fn as_ptr(&self) -> *const VMTag {
        self.r.as_ptr()
    }

    pub(crate) fn belongs_to(&self, store: &StoreInner) -> bool {
        self.r.belongs_to(store)
    }
}

impl StoreInner {
    pub(crate) fn new_tag(&mut self, type_id: u32) -> Tag {
        self.tags.push(Box::new(VMTag { type_id }));
        let t = NonNull::from(&**self.tags.last().expect("just pushed"));
        // SAFETY: the tag is boxed in this store's `tags`, for the store's life.
        unsafe { Tag::from_ptr(self.id, t.as_ptr()) }
    }

    /// A new exception object for `tag` with room for `n` payload values (zeroed), for
    /// compiled code: may first reclaim unreachable exceptions.
    ///
    /// # Safety
    /// Must be called from a builtin called by compiled code of this store, on its thread.
    pub(crate) unsafe fn new_exception_from_wasm(
        &mut self,
        tag: *const VMTag,
        n: usize,
    ) -> Result<*mut ValRaw, HeapFull> {
        let limit = self.config.max_memory;
        let heap = &self.exceptions;
        if heap.objects.len() >= heap.next_collect.max(MIN_COLLECT) || !heap.fits(n, limit) {
            // SAFETY: forwarded.
            unsafe { self.collect_exceptions() };
        }
        self.exceptions.alloc(tag, n, limit)
    }

    /// Conservative mark-and-sweep of the exception objects (see the module documentation).
    ///
    /// # Safety
    /// As for [`Self::new_exception_from_wasm`].
    #[inline(never)]
    unsafe fn collect_exceptions(&mut self) {
        let sp = traps::current_sp().next_multiple_of(size_of::<usize>());
        let Some(stack) = traps::stack::live_ranges(sp) else {
            // Not called from wasm on its stack: nothing can be proven dead.
            self.exceptions.next_collect = self.exceptions.objects.len() * 2;
            return;
        };
        let regs = traps::callee_saved_registers();
        let heap = &mut self.exceptions;
        let mut marker = Marker::new(&heap.objects);
        marker.scan(&regs);
        for r in stack {
            // SAFETY: the live parts of this thread's wasm stack are mapped, aligned memory.
            marker.scan(unsafe {
                std::slice::from_raw_parts(r.start as *const usize, r.len() / size_of::<usize>())
            });
        }
        for g in &self.globals {
            if matches!(g.ty.ty, wasic_abi::ValType::Ref(r) if r.heap.top() == wasic_abi::HeapType::Exn)
            {
                marker.scan(&[g.vm.0.as_usize()]);
            }
        }
        for t in &self.tables {
            if t.declared_type().elem.heap.top() == wasic_abi::HeapType::Exn {
                marker.scan(t.elems());
            }
        }
        // GC objects may hold exnrefs (struct fields, array elements): all their words are
        // roots, as the GC collector treats exception objects (`gc.rs`).
        marker.scan(self.gc.words());
        let live = marker.finish();
        let mut i = 0;
        let mut freed = 0;
        heap.objects.retain(|o| {
            i += 1;
            if !live[i - 1] {
                freed += object_bytes(o.len());
            }
            live[i - 1]
        });
        heap.bytes -= freed;
        heap.next_collect = heap.objects.len() * 2;
    }
}

/// Below this many objects, exceptions are never reclaimed.
pub const MIN_COLLECT: usize = 1024;

/// The store's exception objects.
#[derive(Default)]
pub struct ExceptionHeap {
    objects: Vec<Box<[ValRaw]>>,
    /// Collect when there are this many objects.
    next_collect: usize,
    /// What the objects take together ([`object_bytes`] each), counted against the limit.
    bytes: u64,
}

/// Host memory an exception object of `cells` cells takes: the cells and its entry in the list.
fn object_bytes(cells: usize) -> u64 {
    (cells * size_of::<ValRaw>() + size_of::<Box<[ValRaw]>>()) as u64
}

/// An exception object did not fit under the store's limit.
#[derive(Clone, Debug)]
pub(crate) struct HeapFull {
    needed: u64,
    used: u64,
    limit: u64,
}

impl std::fmt::Display for HeapFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exception heap out of memory: no capacity for an allocation of {} bytes (live \
             exception objects take {} of the {} bytes max_memory allows)",
            self.needed, self.used, self.limit
        )
    }
}

impl ExceptionHeap {
    /// Whether an object with `n` payload values fits under `limit` now.
    fn fits(&self, n: usize, limit: Option<u64>) -> bool {
        let needed = object_bytes(VMOffsets::exn_cells(n));
        limit.is_none_or(|l| self.bytes.saturating_add(needed) <= l)
    }

    fn alloc(
        &mut self,
        tag: *const VMTag,
        n: usize,
        limit: Option<u64>,
    ) -> Result<*mut ValRaw, HeapFull> {
        let cells = VMOffsets::exn_cells(n);
        if let Some(limit) = limit.filter(|_| !self.fits(n, limit)) {
            return Err(HeapFull {
                needed: object_bytes(cells),
                used: self.bytes,
                limit,
            });
        }
        let mut cells = vec![ValRaw::default(); cells].into_boxed_slice();
        cells[0] = ValRaw::from_usize(tag as usize);
        let p = cells.as_mut_ptr();
        self.bytes += object_bytes(cells.len());
        self.objects.push(cells);
        Ok(p)
    }

    /// Whether `word` is the address of one of the objects (the raw form of an exnref).
    pub(crate) fn contains(&self, word: usize) -> bool {
        self.objects.iter().any(|o| o.as_ptr() as usize == word)
    }

    /// Calls `f` with the words of every exception object (their payloads may hold GC
    /// references).
    pub(crate) fn scan_words(&self, f: &mut dyn FnMut(&[usize])) {
        for o in &self.objects {
            // SAFETY: the cells are plain memory of `2 * len` words.
            f(unsafe { std::slice::from_raw_parts(o.as_ptr() as *const usize, o.len() * 2) });
        }
    }

    /// Number of exception objects currently allocated.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Marks the objects that words point into, transitively through their payloads.
struct Marker<'a> {
    objects: &'a [Box<[ValRaw]>],
    /// (start, end, index) of every object, sorted by address.
    ranges: Vec<(usize, usize, u32)>,
    live: Vec<bool>,
    work: Vec<usize>,
}

impl<'a> Marker<'a> {
    fn new(objects: &'a [Box<[ValRaw]>]) -> Self {
        // u32 indices: the element type of the module's code ranges, whose sort this shares.
        let mut ranges: Vec<(usize, usize, u32)> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let start = o.as_ptr() as usize;
                (start, start + o.len() * size_of::<ValRaw>(), i as u32)
            })
            .collect();
        ranges.sort_unstable();
        let mut live = vec![false; objects.len()];
        let mut work = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            if o[0].0[8] != 0 {
                live[i] = true;
                work.push(i);
            }
        }
        Marker {
            objects,
            ranges,
            live,
            work,
        }
    }

    fn scan(&mut self, words: &[usize]) {
        let lowest = self.ranges.first().map_or(usize::MAX, |r| r.0);
        for &w in words {
            if w < lowest {
                continue;
            }
            let k = self.ranges.partition_point(|r| r.0 <= w);
            if k == 0 {
                continue;
            }
            let (_, end, i) = self.ranges[k - 1];
            let i = i as usize;
            if w < end && !self.live[i] {
                self.live[i] = true;
                self.work.push(i);
            }
        }
    }

    fn finish(mut self) -> Vec<bool> {
        while let Some(i) = self.work.pop() {
            let o = &self.objects[i];
            // Payload cells, as words (a v128 payload is two words; all are scanned).
            // SAFETY: the cells are plain memory of `2 * len` words.
            let words = unsafe {
                std::slice::from_raw_parts(o.as_ptr().add(1) as *const usize, (o.len() - 1) * 2)
            };
            self.scan(words);
        }
        self.live
    }
}

/// A caught or thrown exception of a store: the address of its object there. Using it with
/// another store than its own is an error (see `store.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExnRef(Stored<ValRaw>);

/// An exception object, as handles see it: its first cell.
impl StoreItem for ValRaw {
    const WHAT: &'static str = "an ExnRef";
}

impl ExnRef {
    /// Creates an exception with tag `tag` and payload `args` (for the host to throw or pass).
    pub fn new(store: &mut Store, tag: Tag, args: &[Val]) -> Result<ExnRef, Error> {
        tag.r.check(&store.inner)?;
        let ty = tag.ty();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| !a.matches(*t))
        {
            return Err(Error::Usage(format!(
                "wrong payload for a tag of type {ty}"
            )));
        }
        let raw = args
            .iter()
            .map(|a| a.to_raw_in(&store.inner))
            .collect::<Result<Vec<_>, _>>()?;
        let limit = store.inner.config.max_memory;
        let p = store
            .inner
            .exceptions
            .alloc(tag.as_ptr(), args.len(), limit)
            .map_err(|e| Error::Resource(e.to_string()))?;
        for (i, a) in raw.into_iter().enumerate() {
            // SAFETY: `p` has `args.len() + 1` cells.
            unsafe { *p.add(i + 1) = a };
        }
        // SAFETY: `p` is an object of this store's exception heap, just allocated.
        Ok(unsafe { ExnRef::pinned(Stored::new(store.inner.id, NonNull::new_unchecked(p))) })
    }

    /// The exnref `r`, marked as never to be reclaimed (the host holds it).
    ///
    /// # Safety
    /// `r` must satisfy [`Stored`]'s invariant and its store must be alive.
    pub(crate) unsafe fn pinned(r: Stored<ValRaw>) -> ExnRef {
        // SAFETY: `r` is a live exception object; byte 8 of cell 0 is the pinned flag.
        unsafe { (*r.as_ptr()).0[8] = 1 };
        ExnRef(r)
    }

    pub(crate) fn stored(&self) -> &Stored<ValRaw> {
        &self.0
    }

    /// The object's address: the exception's raw value for compiled code.
    pub(crate) fn as_ptr(&self) -> *const ValRaw {
        self.0.as_ptr()
    }

    /// The tag it was thrown with. Panics if the exception is not of `store`.
    #[track_caller]
    pub fn tag(&self, store: &Store) -> Tag {
        let header = self.0.get(&store.inner);
        // SAFETY: cell 0 of an exception of this (live) store holds one of the store's tags.
        unsafe { Tag::from_ptr(store.inner.id, header.as_usize() as *const VMTag) }
    }

    /// The payload values, typed by the tag's signature. Panics if the exception is not of
    /// `store`.
    #[track_caller]
    pub fn payload(&self, store: &Store) -> Vec<Val> {
        let tag = self.tag(store);
        let p = self.0.as_ptr();
        tag.ty()
            .params
            .iter()
            .enumerate()
            // SAFETY: the object (checked to be of this store by `tag`) has one cell per
            // parameter of its tag after the header, each a value of this store.
            .map(|(i, t)| unsafe { Val::from_raw_unchecked(*p.add(i + 1), *t, store.inner.id) })
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
        // SAFETY: `state` is the live innermost activation of this thread.
        let hi = unsafe { traps::entry_sp(state) };
        // SAFETY: from this frame up to the activation's entry is this thread's live stack.
        for (next, ret) in unsafe { traps::frames(fp, fp, hi) } {
            if let Some((pc, sp_to_fp)) = handler_at(ret) {
                // SAFETY: `next` is the frame pointer of the frame owning the `try_call` that
                // returns to `ret`; Cranelift expects its handler to run with that frame's
                // pointers and the exnref in the first payload register.
                unsafe { traps::resume(pc, next - sp_to_fp, next, exn as usize) }
            }
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { traps::raise(Unwind::Trap(TrapRecord::new(Trap::UncaughtException))) }
}
