//! The store's garbage-collected heap (WebAssembly 3.0 GC): allocation, the collector, and the
//! host's view of GC references ([`AnyRef`], [`GcRef`]).
//!
//! Layout and reference encoding are `wasic_abi::gc`'s. The heap is one reservation of
//! address space, used from its start up to `top`; objects and free space tile that part, so
//! it can be walked from header to header. Compiled code allocates structs by bumping the
//! store's `VMLimits::gc_next` up to `gc_end` (a free run); when a run is used up, the
//! `gc_alloc` builtin takes the next free run large enough, or grows the used part, or
//! collects first when enough has been allocated since the last collection (twice what was
//! live after it, at least [`MIN_COLLECT_BYTES`]).
//!
//! # The collector: non-moving mark-and-sweep, with conservative roots
//!
//! Roots are found the way the exception collector finds them (`exceptions.rs`): every word
//! of this thread's wasm stack from the allocating builtin up to its outermost activation,
//! and the callee-saved registers compiled code may keep values in across that call. A word
//! that points into an object, or just past its end, keeps it alive. Besides, the store's
//! globals, tables, element segments and exception objects are scanned word by word, and
//! pinned objects (those the host holds) are live. From the roots, marking follows the
//! reference fields of each object precisely, by its type.
//!
//! Why conservative stack roots rather than Cranelift's stack maps: a reference compiled code
//! keeps across a call is in a spill slot of its frame or in a callee-saved register, both
//! scanned; Cranelift may also keep only a derived pointer (an element's address) live, which
//! the interior-pointer rule covers. So a live object is never freed; the cost is that a dead
//! word that looks like a pointer can retain an object for a while, never unsafety, since
//! objects never move. Precise maps would add a safepoint record to every call site of every
//! function, GC or not.
//!
//! Collections run only inside a builtin called by compiled code, where the stack can be
//! scanned; allocations by the host (constant expressions, `Val`s) only grow the heap.
//!
//! Limit: the used part of the heap may not exceed the store's `max_memory`; an allocation
//! that does not fit after a collection traps with "GC heap out of memory".

use crate::store::{StoreId, StoreInner, StoreItem, Stored};
use crate::traps;
use crate::types::{self, TypeDef};
use rustc_hash::FxHashMap;
use std::ptr::NonNull;
use std::sync::Arc;
use wasic_abi::gc::{
    self, ARRAY_BIT, ARRAY_DATA_OFFSET, ARRAY_LEN_OFFSET, FILLER_TYPE, MARK_BIT, PINNED_BIT,
    WORDS_MASK,
};
use wasic_abi::vmctx::VMLimits;
use wasic_abi::{Composite, HeapType, Trap};

/// Collect once at least this many bytes were allocated since the last collection.
pub const MIN_COLLECT_BYTES: u64 = 8 << 20;
/// The smallest free run allocation resumes in.
const MIN_RUN: usize = 256;
/// The used part grows by at least this much at a time.
const GROW_BYTES: usize = 1 << 20;
/// Address space reserved for a heap without `max_memory`.
const DEFAULT_RESERVATION: usize = 64 << 30;

/// How the collector traces the objects of one type.
enum Trace {
    /// Offsets of the reference fields of a struct.
    Struct(Vec<u32>),
    /// An array: whether its elements are references (8 bytes each).
    Array { refs: bool },
}

/// The store's GC heap.
#[derive(Default)]
pub struct GcHeap {
    /// Start of the reservation (0 until the first allocation).
    base: usize,
    reserved: usize,
    /// End of the used part.
    top: usize,
    /// Free runs found by the last sweep, in address order, from `next_hole` on unused.
    holes: Vec<(usize, usize)>,
    next_hole: usize,
    /// Bytes handed out since the last collection, and the threshold for the next one.
    allocated: u64,
    threshold: u64,
    /// Trace information by canonical type id.
    traces: FxHashMap<u32, Arc<Trace>>,
    /// Number of collections so far.
    collections: u64,
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        if self.base != 0 {
            // SAFETY: the reservation this heap mapped; no object outlives the store.
            unsafe { libc::munmap(self.base as *mut libc::c_void, self.reserved) };
        }
    }
}

/// The heap cannot satisfy an allocation (reservation failed, or `max_memory` reached).
#[derive(Debug)]
pub(crate) struct GcFull;

/// Why [`GcHeap::alloc`] did not allocate.
enum AllocError {
    /// Collect first, then try again without collecting.
    Collect,
    Full,
}

impl GcHeap {
    /// Whether `word` is in the used part of the heap.
    fn in_heap(&self, word: usize) -> bool {
        self.base != 0 && (self.base..self.top).contains(&word)
    }

    /// Every word of the used part (for the exception collector, which treats objects as
    /// roots).
    pub(crate) fn words(&self) -> &[usize] {
        if self.base == 0 {
            return &[];
        }
        // SAFETY: the used part of the heap is mapped memory of this heap.
        unsafe {
            std::slice::from_raw_parts(
                self.base as *const usize,
                (self.top - self.base) / size_of::<usize>(),
            )
        }
    }

    /// Whether anything was ever allocated here.
    pub fn is_used(&self) -> bool {
        self.base != 0
    }

    /// Number of collections so far.
    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Bytes of the used part (objects and free runs).
    pub fn used_bytes(&self) -> u64 {
        (self.top - self.base) as u64
    }

    fn reserve(&mut self, limit: Option<u64>) -> Result<(), GcFull> {
        if self.base != 0 {
            return Ok(());
        }
        let size = limit.map_or(DEFAULT_RESERVATION, |l| {
            (l.min(DEFAULT_RESERVATION as u64) as usize)
                .next_multiple_of(4096)
                .max(4096)
        });
        // SAFETY: a fresh private mapping; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(GcFull);
        }
        self.base = p as usize;
        self.top = self.base;
        self.reserved = size;
        self.threshold = MIN_COLLECT_BYTES;
        Ok(())
    }

    /// Ends the current bump run: its unused rest becomes free space the walk can step over.
    fn retire(&mut self, limits: &mut VMLimits) {
        if limits.gc_next < limits.gc_end {
            // SAFETY: `[gc_next, gc_end)` is a free run of this heap, 8-aligned, at least 8 bytes.
            unsafe { write_filler(limits.gc_next, limits.gc_end - limits.gc_next) };
        }
        limits.gc_next = 0;
        limits.gc_end = 0;
    }

    /// A run of at least `bytes` bytes without collecting: the next free run that is large
    /// enough, or fresh space at the top.
    fn take_run(&mut self, bytes: usize, limit: Option<u64>) -> Option<(usize, usize)> {
        // Runs below MIN_RUN are left unused: each would cost a builtin call for a few
        // objects.
        while let Some(&(start, end)) = self.holes.get(self.next_hole) {
            self.next_hole += 1;
            if end - start >= bytes.max(MIN_RUN) {
                return Some((start, end));
            }
        }
        let grow = bytes.max(GROW_BYTES);
        let cap = limit.map_or(self.reserved, |l| (l as usize).min(self.reserved));
        let used = self.top - self.base;
        let grow = if used + grow <= cap {
            grow
        } else if used + bytes <= cap {
            bytes
        } else {
            return None;
        };
        let run = (self.top, self.top + grow);
        self.top += grow;
        Some(run)
    }

    /// Allocates `bytes` (a multiple of 8, with the header) for an object of canonical type
    /// `type_id`, zeroed but for its header. With `may_collect`, returns
    /// [`AllocError::Collect`] instead when a collection is due or the heap is full.
    fn alloc(
        &mut self,
        limits: &mut VMLimits,
        limit: Option<u64>,
        type_id: u32,
        bytes: u64,
        array: bool,
        may_collect: bool,
    ) -> Result<usize, AllocError> {
        if bytes > gc::MAX_OBJECT_BYTES {
            return Err(AllocError::Full);
        }
        self.reserve(limit).map_err(|_| AllocError::Full)?;
        let bytes = bytes as usize;
        // The current run first (the builtin is also called for arrays, which compiled code
        // never bumps for).
        let p = if limits.gc_next != 0 && limits.gc_end - limits.gc_next >= bytes {
            let p = limits.gc_next;
            limits.gc_next += bytes;
            p
        } else {
            if may_collect && self.allocated >= self.threshold {
                return Err(AllocError::Collect);
            }
            self.retire(limits);
            let run = match self.take_run(bytes, limit) {
                Some(r) => r,
                None if may_collect => return Err(AllocError::Collect),
                None => return Err(AllocError::Full),
            };
            self.allocated += (run.1 - run.0) as u64;
            limits.gc_next = run.0 + bytes;
            limits.gc_end = run.1;
            run.0
        };
        // SAFETY: `[p, p + bytes)` is free space of this heap, now the new object.
        unsafe {
            std::ptr::write_bytes(p as *mut u8, 0, bytes);
            *(p as *mut u32) = type_id;
            *((p + 4) as *mut u32) = gc::size_word(bytes as u64, array);
        }
        Ok(p)
    }

    /// Walks the used part: a bit per 8 bytes, set at every object's start, and the pinned
    /// objects.
    fn walk(&self) -> (StartMap, Vec<usize>) {
        let words = (self.top - self.base) / 8;
        let mut map = StartMap {
            base: self.base,
            bits: vec![0; words.div_ceil(64)],
        };
        let mut pinned = Vec::new();
        let mut p = self.base;
        while p < self.top {
            // SAFETY: `p` is a header of the walkable used part.
            let (ty, words) = unsafe { header(p) };
            if ty != FILLER_TYPE {
                let i = (p - self.base) / 8;
                map.bits[i / 64] |= 1 << (i % 64);
                if words & PINNED_BIT != 0 {
                    pinned.push(p);
                }
            }
            p += object_size(words);
        }
        (map, pinned)
    }

    fn trace(&mut self, type_id: u32) -> Arc<Trace> {
        self.traces
            .entry(type_id)
            .or_insert_with(|| Arc::new(trace_of(types::def_of(type_id).as_deref())))
            .clone()
    }
}

/// Stores value `v` as a field of storage type `s` at `p`.
///
/// # Safety
/// `p` must be a field of that type of a live object.
pub(crate) unsafe fn write_storage(p: usize, s: wasic_abi::StorageType, v: wasic_abi::ValRaw) {
    let n = gc::storage_size(s) as usize;
    // SAFETY: the field has `n` bytes; values are little-endian in the cell's low bytes.
    unsafe { std::ptr::copy_nonoverlapping(v.0.as_ptr(), p as *mut u8, n) };
}

/// Size in bytes of the elements of array type index `ty` of a module.
pub(crate) fn elem_size(meta: &wasic_abi::meta::ModuleMeta, ty: u32) -> u32 {
    match &meta.subtype(ty).composite {
        Composite::Array(t) => gc::storage_size(t.storage),
        _ => 1,
    }
}

fn trace_of(def: Option<&TypeDef>) -> Trace {
    match def.map(|d| &d.sub.composite) {
        Some(Composite::Struct(fields)) => {
            let layout = gc::struct_layout(fields);
            Trace::Struct(
                fields
                    .iter()
                    .zip(layout.fields)
                    .filter(|(f, _)| f.storage.is_ref())
                    .map(|(_, off)| off)
                    .collect(),
            )
        }
        Some(Composite::Array(t)) => Trace::Array {
            refs: t.storage.is_ref(),
        },
        _ => Trace::Struct(Vec::new()),
    }
}

/// The type id and size-and-flags word of the object (or free run) at `p`.
///
/// # Safety
/// `p` must be a header in a heap's used part.
unsafe fn header(p: usize) -> (u32, u32) {
    // SAFETY: forwarded.
    unsafe { (*(p as *const u32), *((p + 4) as *const u32)) }
}

/// The type id and size-and-flags word of object `p`.
///
/// # Safety
/// `p` must be an object of a live heap.
pub(crate) unsafe fn header_of(p: usize) -> (u32, u32) {
    // SAFETY: forwarded.
    unsafe { header(p) }
}

fn object_size(words: u32) -> usize {
    (words & WORDS_MASK) as usize * 8
}

/// Marks `[p, p + bytes)` as free space.
///
/// # Safety
/// The range must be a free run of a heap, 8-aligned, at least 8 bytes.
unsafe fn write_filler(p: usize, bytes: usize) {
    // A run longer than one size field can say is written as several.
    let mut at = p;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(WORDS_MASK as usize * 8);
        // SAFETY: forwarded.
        unsafe {
            *(at as *mut u32) = FILLER_TYPE;
            *((at + 4) as *mut u32) = (n / 8) as u32;
        }
        at += n;
        left -= n;
    }
}

/// Where objects start in a heap's used part: one bit per 8 bytes.
struct StartMap {
    base: usize,
    bits: Vec<u64>,
}

impl StartMap {
    /// Whether an object starts at `p` (in the used part).
    fn is_start(&self, p: usize) -> bool {
        let i = (p - self.base) / 8;
        p.is_multiple_of(8)
            && self
                .bits
                .get(i / 64)
                .is_some_and(|b| b & (1 << (i % 64)) != 0)
    }

    /// The last object start at or below `p` (in or just past the used part).
    fn start_at_or_below(&self, p: usize) -> Option<usize> {
        let i = (p - self.base) / 8;
        let mut w = i / 64;
        // Bits 0..=i%64 of the first word, whole words below it.
        let mut bits = self.bits.get(w).copied().unwrap_or(0) & (u64::MAX >> (63 - i % 64));
        loop {
            if bits != 0 {
                let bit = 63 - bits.leading_zeros() as usize;
                return Some(self.base + (w * 64 + bit) * 8);
            }
            w = w.checked_sub(1)?;
            bits = self.bits[w];
        }
    }
}

/// Marks the objects words point into, then everything they reach.
struct Marker<'a> {
    heap: &'a mut GcHeap,
    starts: StartMap,
    work: Vec<usize>,
}

impl Marker<'_> {
    /// Marks the object a (possibly interior) pointer `w` points into or just past.
    fn scan_word(&mut self, w: usize) {
        if !self.heap.in_heap(w) && w != self.heap.top {
            return;
        }
        let Some(s) = self.starts.start_at_or_below(w) else {
            return;
        };
        // SAFETY: `s` is an object of the heap.
        let (_, words) = unsafe { header(s) };
        if w < s + object_size(words) {
            self.mark(s);
        }
        // Just past the end of the object before it.
        if s == w && w > self.heap.base {
            if let Some(prev) = self.starts.start_at_or_below(w - 8) {
                self.mark(prev);
            }
        }
    }

    fn scan(&mut self, words: &[usize]) {
        for &w in words {
            self.scan_word(w);
        }
    }

    fn mark(&mut self, obj: usize) {
        // SAFETY: `obj` is an object of the heap.
        unsafe {
            let words = (obj + 4) as *mut u32;
            if *words & MARK_BIT == 0 {
                *words |= MARK_BIT;
                self.work.push(obj);
            }
        }
    }

    /// Follows the reference fields of marked objects.
    fn finish(&mut self) {
        // Objects of one type tend to come together: the last type's trace saves a look-up.
        let mut last: Option<(u32, Arc<Trace>)> = None;
        while let Some(obj) = self.work.pop() {
            // SAFETY: `obj` is a marked object of the heap.
            let (ty, words) = unsafe { header(obj) };
            if last.as_ref().is_none_or(|(t, _)| *t != ty) {
                last = Some((ty, self.heap.trace(ty)));
            }
            let trace: &Trace = &last.as_ref().expect("just set").1;
            match trace {
                Trace::Struct(offsets) => {
                    for &off in offsets {
                        // SAFETY: a reference field of the object.
                        let w = unsafe { *((obj + off as usize) as *const usize) };
                        self.scan_ref(w);
                    }
                }
                Trace::Array { refs: true } => {
                    // SAFETY: the object is an array whose length is in its header.
                    let len = unsafe { *((obj + ARRAY_LEN_OFFSET as usize) as *const u32) };
                    let data = obj + ARRAY_DATA_OFFSET as usize;
                    debug_assert!(data + len as usize * 8 <= obj + object_size(words));
                    for i in 0..len as usize {
                        // SAFETY: element `i` of the array.
                        let w = unsafe { *((data + i * 8) as *const usize) };
                        self.scan_ref(w);
                    }
                }
                Trace::Array { refs: false } => {}
            }
        }
    }

    /// A reference field's word: null, i31, a host value or an object's address (exactly:
    /// only valid references are ever stored in fields).
    fn scan_ref(&mut self, w: usize) {
        if w != 0 && w & 7 == 0 {
            debug_assert!(self.starts.is_start(w));
            self.mark(w);
        }
    }
}

impl StoreInner {
    /// Allocates an object for compiled code (`bytes` with the header; zeroed), collecting
    /// when due.
    ///
    /// # Safety
    /// Must be called from a builtin called by compiled code of this store, on its thread.
    pub(crate) unsafe fn gc_alloc_from_wasm(
        &mut self,
        type_id: u32,
        bytes: u64,
        array: bool,
    ) -> Result<usize, Trap> {
        // SAFETY: forwarded.
        match unsafe { self.gc_alloc(type_id, bytes, array, true) } {
            Err(AllocError::Collect) => {}
            r => return r.map_err(|_| Trap::GcHeapOutOfMemory),
        }
        // SAFETY: forwarded.
        unsafe { self.collect_garbage() };
        // SAFETY: forwarded.
        unsafe { self.gc_alloc(type_id, bytes, array, false) }.map_err(|_| Trap::GcHeapOutOfMemory)
    }

    /// Allocates an object for the host (never collects: the host's stack is not scanned).
    pub(crate) fn gc_alloc_from_host(
        &mut self,
        type_id: u32,
        bytes: u64,
        array: bool,
    ) -> Result<usize, Trap> {
        // SAFETY: no compiled code of the store runs while the host holds `&mut` of it.
        unsafe { self.gc_alloc(type_id, bytes, array, false) }.map_err(|_| Trap::GcHeapOutOfMemory)
    }

    /// [`GcHeap::alloc`] in this store's heap, under its limit, with its bump run.
    ///
    /// # Safety
    /// No compiled code of the store may be using the run meanwhile (it is suspended in a
    /// builtin, or not running).
    unsafe fn gc_alloc(
        &mut self,
        type_id: u32,
        bytes: u64,
        array: bool,
        may_collect: bool,
    ) -> Result<usize, AllocError> {
        let limit = self.config.max_memory;
        // SAFETY: the store's own limits (the caller's guarantee for the run).
        let limits = unsafe { &mut *self.limits_ptr() };
        self.gc
            .alloc(limits, limit, type_id, bytes, array, may_collect)
    }

    /// One collection (see the module documentation); when not called from wasm on its
    /// stack, none can run, and the next is put off.
    ///
    /// # Safety
    /// As for [`Self::gc_alloc_from_wasm`].
    #[inline(never)]
    unsafe fn collect_garbage(&mut self) {
        let sp = traps::current_sp().next_multiple_of(size_of::<usize>());
        let Some(stack) = traps::stack::live_ranges(sp) else {
            self.gc.threshold = self.gc.allocated.saturating_mul(2);
            return;
        };
        let regs = traps::callee_saved_registers();
        // SAFETY: the store's own limits.
        self.gc.retire(unsafe { &mut *self.limits_ptr() });
        let (starts, pinned) = self.gc.walk();
        let mut m = Marker {
            heap: &mut self.gc,
            starts,
            work: Vec::new(),
        };
        m.scan(&regs);
        for r in stack {
            // SAFETY: the live parts of this thread's wasm stack are mapped, aligned memory.
            m.scan(unsafe {
                std::slice::from_raw_parts(r.start as *const usize, r.len() / size_of::<usize>())
            });
        }
        // Every word outside the stack that may hold a GC reference: globals, tables,
        // element segments and exception objects.
        for g in &self.globals {
            if g.ty.ty.is_ref() {
                m.scan(&[g.vm.0.as_usize()]);
            }
        }
        for t in &self.tables {
            m.scan(t.elems());
        }
        for inst in &self.instances {
            for seg in &inst.elems {
                m.scan(seg);
            }
        }
        self.exceptions.scan_words(&mut |w| m.scan(w));
        for p in pinned {
            m.mark(p);
        }
        m.finish();
        self.gc.sweep();
    }

    /// Whether `word` is the address of an object of this store's heap (for raw words
    /// from the host).
    pub(crate) fn is_gc_object(&self, word: usize) -> bool {
        self.gc.in_heap(word) && self.gc.walk().0.is_start(word)
    }
}

impl GcHeap {
    /// Frees unmarked objects: runs of dead objects and free space become free runs (the
    /// holes the next allocations use), a free run at the end shrinks the used part, marks
    /// are cleared.
    fn sweep(&mut self) {
        let mut holes = Vec::new();
        let mut live = 0u64;
        let mut p = self.base;
        let mut hole_start = None;
        while p < self.top {
            // SAFETY: `p` is a header of the walkable used part.
            let (ty, words) = unsafe { header(p) };
            let size = object_size(words);
            if ty != FILLER_TYPE && words & MARK_BIT != 0 {
                // SAFETY: as above.
                unsafe { *((p + 4) as *mut u32) = words & !MARK_BIT };
                live += size as u64;
                if let Some(s) = hole_start.take() {
                    holes.push((s, p));
                }
            } else if hole_start.is_none() {
                hole_start = Some(p);
            }
            p += size;
        }
        if let Some(s) = hole_start {
            // Give the tail back: the used part ends at the last live object.
            let keep = s.next_multiple_of(4096);
            if keep < self.top {
                // SAFETY: whole pages of this heap's reservation, no object in them.
                unsafe {
                    libc::madvise(
                        keep as *mut libc::c_void,
                        self.top - keep,
                        libc::MADV_DONTNEED,
                    )
                };
            }
            self.top = s;
        }
        for &(s, e) in &holes {
            // SAFETY: a run of dead objects and free space of this heap.
            unsafe { write_filler(s, e - s) };
        }
        self.holes = holes;
        self.next_hole = 0;
        self.allocated = 0;
        // Twice what survived: the heap settles at about three times the live data, and each
        // collection's work (proportional to the live data and the heap) is paid for by
        // twice as many allocated bytes.
        self.threshold = live.saturating_mul(2).max(MIN_COLLECT_BYTES);
        self.collections += 1;
    }
}

/// A GC object a host holds: its address in its store and its type, kept in the handle so
/// that [`GcRef::heap_type`] needs no store. Objects with a handle are pinned (never
/// reclaimed), since the host's memory is not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcRef {
    r: Stored<GcObject>,
    type_id: u32,
    array: bool,
}

/// An object's header, as handles see it.
pub(crate) struct GcObject;

impl StoreItem for GcObject {
    const WHAT: &'static str = "a GC reference";
}

impl GcRef {
    /// The handle of the object at `p`, pinning it.
    ///
    /// # Safety
    /// `p` must be an object of the live store `store`.
    pub(crate) unsafe fn pinned(store: StoreId, p: usize) -> GcRef {
        // SAFETY: a live object (the caller's guarantee).
        let (type_id, words) = unsafe {
            let w = (p + 4) as *mut u32;
            *w |= PINNED_BIT;
            (*(p as *const u32), *w)
        };
        GcRef {
            // SAFETY: as above; objects are not null.
            r: unsafe { Stored::new(store, NonNull::new_unchecked(p as *mut GcObject)) },
            type_id,
            array: words & ARRAY_BIT != 0,
        }
    }

    /// The object's canonical type id.
    pub fn type_id(&self) -> u32 {
        self.type_id
    }

    /// `(ref $t)` of the object's type.
    pub fn heap_type(&self) -> HeapType {
        if self.array {
            HeapType::ConcreteArray(self.type_id)
        } else {
            HeapType::ConcreteStruct(self.type_id)
        }
    }

    pub(crate) fn stored(&self) -> &Stored<GcObject> {
        &self.r
    }

    pub(crate) fn address(&self) -> usize {
        self.r.as_ptr() as usize
    }
}

/// A non-null reference of the `any` hierarchy as the host sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyRef {
    /// An `i31ref`: the value (31 bits, sign-extended when read as signed).
    I31(u32),
    /// A host value brought into the `any` hierarchy (`any.convert_extern` of an `externref`).
    Host(u64),
    /// A struct or array.
    Object(GcRef),
}

impl AnyRef {
    /// The reference's raw word.
    pub fn word(&self) -> u64 {
        match *self {
            AnyRef::I31(v) => u64::from((v << 1) | 1),
            AnyRef::Host(t) => gc::host_word(t),
            AnyRef::Object(o) => o.address() as u64,
        }
    }

    /// The most precise heap type of the reference.
    pub fn heap_type(&self) -> HeapType {
        match self {
            AnyRef::I31(_) => HeapType::I31,
            AnyRef::Host(_) => HeapType::Any,
            AnyRef::Object(o) => o.heap_type(),
        }
    }

    /// The reference whose word is `w` (non-null, not a host value of an `externref`...).
    ///
    /// # Safety
    /// An object's word must be an object of the live store `store`.
    pub(crate) unsafe fn from_word(w: u64, store: StoreId) -> AnyRef {
        if w & gc::I31_TAG != 0 {
            AnyRef::I31((w as u32) >> 1)
        } else if w & 3 == gc::HOST_TAG {
            AnyRef::Host(w >> 2)
        } else {
            // SAFETY: the caller's guarantee.
            AnyRef::Object(unsafe { GcRef::pinned(store, w as usize) })
        }
    }
}

impl std::fmt::Display for AnyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnyRef::I31(v) => write!(f, "i31({})", ((*v << 1) as i32) >> 1),
            AnyRef::Host(t) => write!(f, "host({t})"),
            AnyRef::Object(o) => write!(
                f,
                "{}({:#x})",
                if o.array { "array" } else { "struct" },
                o.address()
            ),
        }
    }
}
