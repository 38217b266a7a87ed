//! The stack wasm runs on: one mapping per thread, made when the thread first enters wasm and
//! unmapped when it ends. Its guard region is what ends runaway recursion, so compiled code
//! needs no stack check of its own (the `stack_guard` optimization).
//!
//! ```text
//!  low address                                                               high address
//!  | low guard | host reserve (1 MiB) | guard (64 KiB) |  wasm area: max_stack  |   ...   |
//!  lo                             reserve_top       guard_top              start
//! ```
//!
//! The outermost entry into wasm on a thread (`wasic_enter`) switches the stack pointer to
//! `start`, exactly `max_stack` bytes above `guard_top`; entries nested in host functions called
//! by wasm stay on the stack where they are. A wasm frame below `guard_top` touches the guard
//! (Cranelift's inline stack probes touch every page of a frame larger than one, so no frame
//! skips the 64 KiB) and the signal handler turns that fault into the "call stack exhausted"
//! trap: `--max-stack` is exact to the byte the frames use.
//!
//! Host code (builtins, host functions, and the Rust and C code they call) also runs on this
//! stack and must never reach the guard. Compiled code enters it only through the stubs of
//! `enter.rs`, which compare the stack pointer with `VMLimits::stack_limit` (`guard_top`): with
//! at least [`HOST_STACK_RESERVE`] left they call the host function where it is, otherwise on
//! the host reserve below the guard, which no other host call can be using at that moment
//! (host code running there is below `stack_limit`, where entering wasm again traps at once).
//! Addresses grow from the reserve up to the wasm frames, so frame-pointer chains stay
//! monotonic across the switch and backtraces and exception unwinding walk them unchanged.

use crate::sys::Mmap;
use std::cell::{Cell, RefCell};

/// Stack host code gets at least when compiled code calls it: the host reserve's size, and
/// the room above `stack_limit` below which host calls run on the reserve.
pub(crate) const HOST_STACK_RESERVE: usize = 1 << 20;
/// The guard region below the wasm area: larger than any unprobed access below the stack
/// pointer (frames smaller than a page, outgoing arguments, a probe's stride).
const GUARD: usize = 64 << 10;
/// Below the host reserve: host code overflowing it crashes there instead of writing over
/// whatever mapping lies below.
const LOW_GUARD: usize = 64 << 10;
/// Wasm frames begin at least this far above the guard, so that `wasic_enter`'s call into the
/// trampoline never faults (a trampoline's frame may: it is compiled code).
const MIN_WASM_STACK: usize = 64;

/// Where this thread's wasm stack lies; all zeros before its first entry into wasm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bounds {
    lo: usize,
    pub reserve_top: usize,
    pub guard_top: usize,
    hi: usize,
}

impl Bounds {
    const NONE: Bounds = Bounds {
        lo: 0,
        reserve_top: 0,
        guard_top: 0,
        hi: 0,
    };

    /// Whether `addr` lies in the guard region between the host reserve and the wasm area.
    pub fn in_guard(&self, addr: usize) -> bool {
        (self.reserve_top..self.guard_top).contains(&addr)
    }

    /// Whether stack pointer `sp` is so close to the guard (or in it) that a signal frame
    /// pushed there would reach it.
    pub fn near_guard(&self, sp: usize) -> bool {
        (self.reserve_top..self.guard_top + GUARD).contains(&sp)
    }

    fn contains(&self, addr: usize) -> bool {
        (self.lo..self.hi).contains(&addr)
    }

    fn in_reserve(&self, addr: usize) -> bool {
        (self.lo + LOW_GUARD..self.reserve_top).contains(&addr)
    }

    /// Bytes the wasm area holds.
    fn capacity(&self) -> usize {
        self.hi - self.guard_top
    }
}

/// The mapping of a thread's wasm stack; unmapped when the thread ends.
struct Owner(Option<Mmap>);

impl Drop for Owner {
    fn drop(&mut self) {
        let b = BOUNDS.with(Cell::get);
        BOUNDS.with(|c| c.set(Bounds::NONE));
        if b.contains(super::current_sp()) {
            // A thread ending on its wasm stack (`exit` called by host code running on it):
            // the stack must outlive us.
            std::mem::forget(self.0.take());
        }
    }
}

thread_local! {
    /// Read by the signal handler: plain data, no lazy initialisation, no destructor.
    static BOUNDS: Cell<Bounds> = const { Cell::new(Bounds::NONE) };
    /// Start of the frames of this thread's outermost wasm activation (0 when none is active).
    static START: Cell<usize> = const { Cell::new(0) };
    static OWNER: RefCell<Owner> = const { RefCell::new(Owner(None)) };
}

/// Zeroes this thread's wasm stack when no activation is on it, so that no word a finished
/// call left there looks like a root to the conservative collectors (`gc.rs`) in a later
/// call, whose frames reuse those addresses without writing every slot. A no-op while wasm
/// runs on the thread (nested calls) or when it has no wasm stack.
pub(crate) fn scrub() {
    let b = bounds();
    if b.hi == 0 || START.with(Cell::get) != 0 || b.contains(super::current_sp()) {
        return;
    }
    // SAFETY: the wasm area of this thread's own stack mapping, which no frame uses now;
    // anonymous private pages read back as zeros.
    unsafe {
        libc::madvise(
            b.guard_top as *mut libc::c_void,
            b.hi - b.guard_top,
            libc::MADV_DONTNEED,
        )
    };
}

/// This thread's wasm stack (all zeros when it has none yet). Async-signal-safe.
pub(crate) fn bounds() -> Bounds {
    BOUNDS.with(Cell::get)
}

/// How compiled code is entered from host code at stack pointer `sp`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// The stack pointer `wasic_enter` switches to (0: stays where it is).
    pub switch_to: usize,
    pub stack_limit: usize,
    pub host_stack: usize,
}

/// Why wasm cannot be entered.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// Too little stack is left: the call traps with "call stack exhausted" at once.
    Exhausted,
    /// The thread's wasm stack cannot be mapped.
    Map(String),
    /// Host code running on a stack of its own (not the thread's wasm stack) entered wasm
    /// while this thread's wasm stack holds frames.
    ForeignStack,
}

/// Stack a nested entry needs above the limit, for `wasic_enter`'s own frame.
const NESTED_ENTRY_MIN: usize = 4096;

/// Prepares entering wasm from host code at `sp` for a store allowing `max_stack` bytes whose
/// limits currently hold `stack_limit` (0 when the store runs no wasm on this thread).
pub(crate) fn prepare(
    sp: usize,
    max_stack: usize,
    stack_limit: usize,
) -> Result<Entry, EntryError> {
    let b = bounds();
    if b.contains(sp) {
        // Nested in a host function wasm called: stay on the wasm stack. A store entered here
        // for the first time gets its `max_stack` from here, but no more than is left.
        let limit = if stack_limit != 0 {
            stack_limit
        } else {
            sp.saturating_sub(max_stack).max(b.guard_top)
        };
        if sp < limit.saturating_add(NESTED_ENTRY_MIN) {
            return Err(EntryError::Exhausted);
        }
        return Ok(Entry {
            switch_to: 0,
            stack_limit: limit,
            host_stack: b.reserve_top,
        });
    }
    if START.with(Cell::get) != 0 {
        return Err(EntryError::ForeignStack);
    }
    let wasm = max_stack.max(MIN_WASM_STACK);
    let b = if b.hi != 0 && b.capacity() >= wasm {
        b
    } else {
        map(wasm)
            .map_err(|e| EntryError::Map(format!("cannot map a {wasm}-byte wasm stack: {e}")))?
    };
    Ok(Entry {
        switch_to: (b.guard_top + wasm) & !15,
        stack_limit: b.guard_top,
        host_stack: b.reserve_top,
    })
}

/// Maps a wasm stack whose area holds at least `wasm` bytes, replacing the thread's old one
/// (which holds no frames: this is an outermost entry).
fn map(wasm: usize) -> std::io::Result<Bounds> {
    let page = crate::sys::page_size();
    let area = wasm
        .checked_next_multiple_of(page)
        .ok_or(std::io::ErrorKind::InvalidInput)?;
    let below = LOW_GUARD + HOST_STACK_RESERVE + GUARD;
    let len = area
        .checked_add(below)
        .ok_or(std::io::ErrorKind::InvalidInput)?;
    let owner = OWNER.try_with(|o| {
        let mut o = o.borrow_mut();
        // The old mapping goes first: a thread only ever has one.
        BOUNDS.with(|c| c.set(Bounds::NONE));
        o.0 = None;
        let m = Mmap::reserve_stack(len)?;
        m.make_accessible(LOW_GUARD, HOST_STACK_RESERVE)?;
        m.make_accessible(below, area)?;
        let lo = m.as_ptr() as usize;
        let b = Bounds {
            lo,
            reserve_top: lo + LOW_GUARD + HOST_STACK_RESERVE,
            guard_top: lo + below,
            hi: lo + len,
        };
        o.0 = Some(m);
        BOUNDS.with(|c| c.set(b));
        Ok(b)
    });
    owner.unwrap_or_else(|_| Err(std::io::Error::other("the thread is ending")))
}

/// Marks the frames of an outermost activation beginning at `start` as live (0: none).
pub(crate) fn set_start(start: usize) {
    START.with(|c| c.set(start));
}

/// The parts of this thread's wasm stack holding live frames, seen from `sp` in a builtin
/// called by compiled code: from `sp` up to the frames of the outermost activation, or, when
/// the builtin runs on the host reserve, from `sp` to the reserve's top and from where the
/// compiled code called it up. `None` when `sp` is not on the wasm stack.
pub(crate) fn live_ranges(sp: usize) -> Option<[std::ops::Range<usize>; 2]> {
    let b = bounds();
    let start = START.with(Cell::get);
    if start == 0 || !b.contains(sp) || sp > start {
        return None;
    }
    if !b.in_reserve(sp) {
        return Some([sp..start, start..start]);
    }
    // SAFETY: host code runs on the reserve only below the entry stub's frame, whose highest
    // word holds the stack pointer of the compiled code that called the stub (`enter.rs`).
    let caller_sp = unsafe { *((b.reserve_top - 8) as *const usize) };
    if !(b.guard_top..start).contains(&caller_sp) {
        return None;
    }
    Some([sp..b.reserve_top, caller_sp..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_area_starts_max_stack_above_the_guard_and_the_reserve_lies_below_it() {
        std::thread::spawn(|| {
            let sp = super::super::current_sp();
            let e = prepare(sp, 100_000, 0).unwrap();
            let b = bounds();
            assert_eq!(e.stack_limit, b.guard_top);
            assert_eq!(e.host_stack, b.reserve_top);
            assert_eq!(b.guard_top - b.reserve_top, GUARD);
            assert_eq!(e.switch_to, (b.guard_top + 100_000) & !15);
            assert!(b.in_guard(b.guard_top - 1) && !b.in_guard(b.guard_top));
            // A smaller stack reuses the mapping, a larger one replaces it.
            let e2 = prepare(sp, 50_000, 0).unwrap();
            assert_eq!(bounds(), b);
            assert_eq!(e2.switch_to, (b.guard_top + 50_000) & !15);
            prepare(sp, 10 << 20, 0).unwrap();
            assert!(bounds().capacity() >= 10 << 20);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn an_entry_nested_on_the_wasm_stack_keeps_the_limit_and_traps_when_too_close_to_it() {
        std::thread::spawn(|| {
            let sp = super::super::current_sp();
            prepare(sp, 1 << 20, 0).unwrap();
            let b = bounds();
            let inner = b.guard_top + 200_000;
            let e = prepare(inner, 1 << 20, b.guard_top).unwrap();
            assert_eq!((e.switch_to, e.stack_limit), (0, b.guard_top));
            // Another store entered here gets what its own limit allows, within what is left.
            let e = prepare(inner, 50_000, 0).unwrap();
            assert_eq!(e.stack_limit, inner - 50_000);
            let e = prepare(inner, 1 << 30, 0).unwrap();
            assert_eq!(e.stack_limit, b.guard_top);
            // On the host reserve (below the limit) or just above the limit: no room.
            assert!(matches!(
                prepare(b.reserve_top - 4096, 1 << 20, b.guard_top),
                Err(EntryError::Exhausted)
            ));
            assert!(matches!(
                prepare(b.guard_top + 100, 1 << 20, b.guard_top),
                Err(EntryError::Exhausted)
            ));
        })
        .join()
        .unwrap();
    }
}
