//! Recoverable traps: entering wasm ([`catch_traps`]), leaving it abruptly ([`raise`] from
//! builtins and host functions, `signals` from faulting compiled code), and the backtrace of
//! wasm frames taken at the trap.
//!
//! Each thread entering wasm pushes a [`CallThreadState`] (on its own stack) onto a
//! thread-local chain; a trap records why in the innermost state and unwinds to the stack
//! pointer saved there by `wasic_enter`. Wasm itself runs on a stack of the thread's own
//! (`stack`), whose guard region ends runaway recursion.

pub(crate) mod enter;
pub mod interrupt;
pub mod signals;
pub(crate) mod stack;

use crate::module::lookup_pc;
use std::cell::Cell;
use std::ptr;
use wasic_abi::vmctx::VMLimits;
use wasic_abi::{Trap, ValRaw};

/// The most frames a backtrace records.
pub const MAX_FRAMES: usize = 64;

/// What a trap captured, without allocating (the signal handler fills it).
#[derive(Clone, Copy, Debug)]
pub struct TrapRecord {
    pub trap: Trap,
    /// Faulting address of a memory access, if the trap came from a fault.
    pub fault_addr: Option<usize>,
    /// PCs of the wasm frames, innermost first (return addresses for outer frames).
    pub pcs: [usize; MAX_FRAMES],
    pub npcs: usize,
}

impl TrapRecord {
    pub fn new(trap: Trap) -> TrapRecord {
        TrapRecord {
            trap,
            fault_addr: None,
            pcs: [0; MAX_FRAMES],
            npcs: 0,
        }
    }
}

/// Why wasm execution was abandoned.
// Not boxed: the signal handler builds one and must not allocate.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Unwind {
    Trap(TrapRecord),
    /// `proc_exit` or an embedder's exit request.
    Exit(i32),
    /// A host function failed with an error of its own.
    Host(String),
    /// An allocation the guest asked for exceeds the store's limits (`Error::Resource`).
    Resource(String),
}

pub(crate) struct CallThreadState {
    saved_sp: usize,
    unwind: Option<Unwind>,
    /// Stack pointer at entry: the bottom of the wasm frames (for validating frame pointers).
    entry_sp: usize,
}

thread_local! {
    static CURRENT: Cell<*mut CallThreadState> = const { Cell::new(ptr::null_mut()) };
}

pub(crate) fn current_state() -> *mut CallThreadState {
    CURRENT.with(|c| c.get())
}

/// Whether this thread is currently running wasm (some frames of it are on the stack).
pub fn in_wasm() -> bool {
    !current_state().is_null()
}

/// The callee-saved registers (System V: rbx, r12-r15; rbp is the frame pointer), which
/// compiled code may keep references in across a call to a builtin: roots for the
/// collectors (`exceptions.rs`, `gc.rs`), read in the builtin that collects. A register an
/// intermediate Rust frame reused was saved in that frame, on the stack they scan too.
#[inline(always)]
pub(crate) fn callee_saved_registers() -> [usize; 5] {
    let (r0, r1, r2, r3, r4): (usize, usize, usize, usize, usize);
    // SAFETY: reads registers only.
    unsafe {
        std::arch::asm!(
            "mov {0}, rbx", "mov {1}, r12", "mov {2}, r13", "mov {3}, r14", "mov {4}, r15",
            out(reg) r0, out(reg) r1, out(reg) r2, out(reg) r3, out(reg) r4,
            options(nomem, nostack),
        );
    }
    [r0, r1, r2, r3, r4]
}

#[inline(never)]
pub(crate) fn current_sp() -> usize {
    let x = 0u8;
    &x as *const u8 as usize
}

/// Calls compiled code through an array trampoline, catching traps.
///
/// The outermost entry on a thread runs the callee on the thread's wasm stack, at most
/// `max_stack` bytes above its guard (`stack.rs`), and sets the store's limits for it; entries
/// nested in host functions stay on that stack, under the limits already set.
///
/// # Safety
/// `tramp` must be an array trampoline for the callee's type, `values` must hold
/// `max(params, results)` cells with the parameters, the vmctx pointers must be live.
#[allow(clippy::result_large_err)]
pub unsafe fn catch_traps(
    limits: *mut VMLimits,
    max_stack: usize,
    tramp: *const u8,
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    func_ptr: *const u8,
    values: *mut ValRaw,
) -> Result<(), Unwind> {
    signals::ensure_installed();
    signals::ensure_altstack();
    let sp = current_sp();
    let prev = current_state();
    // SAFETY: `limits` points at the store's live limits.
    let old = unsafe { ((*limits).stack_limit, (*limits).host_stack) };
    let entry = match stack::prepare(sp, max_stack, old.0) {
        Ok(e) => e,
        Err(stack::EntryError::Exhausted) => {
            return Err(Unwind::Trap(TrapRecord::new(Trap::StackOverflow)))
        }
        Err(stack::EntryError::Map(m)) => return Err(Unwind::Resource(m)),
        Err(stack::EntryError::ForeignStack) => {
            return Err(Unwind::Host(
                "wasm entered from host code running on a stack of its own while this \
                 thread's wasm stack is in use"
                    .into(),
            ))
        }
    };
    unsafe {
        (*limits).stack_limit = entry.stack_limit;
        (*limits).host_stack = entry.host_stack;
    }
    let mut state = CallThreadState {
        saved_sp: 0,
        unwind: None,
        entry_sp: if entry.switch_to != 0 {
            entry.switch_to
        } else {
            sp
        },
    };
    if entry.switch_to != 0 {
        stack::set_start(entry.switch_to);
    }
    CURRENT.with(|c| c.set(&mut state));
    // SAFETY: forwarded from the caller; `wasic_enter` returns here normally or after a trap,
    // on this stack whether or not it switched to the wasm stack.
    let r = unsafe {
        enter::wasic_enter(
            tramp,
            callee_vmctx,
            caller_vmctx,
            func_ptr,
            values,
            &mut state.saved_sp,
            entry.switch_to,
        )
    };
    CURRENT.with(|c| c.set(prev));
    if entry.switch_to != 0 {
        stack::set_start(0);
    }
    unsafe {
        (*limits).stack_limit = old.0;
        (*limits).host_stack = old.1;
    }
    if r == 0 {
        return Ok(());
    }
    Err(state
        .unwind
        .take()
        .unwrap_or(Unwind::Host("wasm execution was abandoned".into())))
}

/// Stack pointer at the entry of activation `state`: no wasm frame of it lies above.
///
/// # Safety
/// `state` must be this thread's live [`current_state`].
pub(crate) unsafe fn entry_sp(state: *mut CallThreadState) -> usize {
    unsafe { (*state).entry_sp }
}

/// Continues at exception handler `pc` of compiled code with the given stack and frame
/// pointers and `exn` as its payload.
///
/// # Safety
/// `pc`, `sp`, `fp` must describe a handler of a live frame of the current activation, and
/// nothing needing drop may be live in the frames abandoned.
pub(crate) unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    unsafe { enter::wasic_resume(pc, sp, fp, exn) }
}

/// Abandons the wasm frames of the innermost [`catch_traps`] on this thread.
///
/// # Safety
/// Must be called (directly or through builtins/host trampolines) from code that compiled wasm
/// called, with no live value needing a destructor in any frame between here and there.
pub unsafe fn raise(unwind: Unwind) -> ! {
    let state = current_state();
    if state.is_null() {
        eprintln!("wasic: internal error: trap raised outside of wasm: {unwind:?}");
        std::process::abort();
    }
    let mut unwind = unwind;
    if let Unwind::Trap(rec) = &mut unwind {
        if rec.npcs == 0 {
            // SAFETY: frame pointers are kept in all Rust code of this crate (.cargo/config)
            // and by compiled wasm; `walk_frames` validates every pointer it follows.
            let fp: usize;
            unsafe { std::arch::asm!("mov {}, rbp", out(reg) fp) };
            unsafe { walk_frames(rec, None, fp, current_sp(), (*state).entry_sp) };
        }
    }
    // SAFETY: `state` is the live innermost state (its frame is below us on the stack).
    unsafe {
        (*state).unwind = Some(unwind);
        enter::wasic_unwind_to((*state).saved_sp)
    }
}

/// The frames reachable from frame pointer `fp`, innermost first, as (the caller's frame
/// pointer, the return address into the caller). Frame pointers are followed only while they
/// stay within `[lo, hi)`, are aligned and increase, so a broken chain ends the walk instead of
/// faulting.
///
/// # Safety
/// `[lo, hi)` must be readable stack memory of the current thread.
pub(crate) unsafe fn frames(fp: usize, lo: usize, hi: usize) -> FrameWalk {
    FrameWalk { fp, lo, hi }
}

/// Iterator of [`frames`].
pub(crate) struct FrameWalk {
    fp: usize,
    lo: usize,
    hi: usize,
}

impl Iterator for FrameWalk {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let fp = self.fp;
        if fp < self.lo || fp + 16 > self.hi || !fp.is_multiple_of(8) {
            return None;
        }
        // SAFETY: `fp` lies inside the range the creator vouched for.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        // A chain that does not move outwards ends after this frame.
        self.fp = if next > fp { next } else { 0 };
        Some((next, ret))
    }
}

/// Records into `rec` the wasm frames reachable from `fp`: `pc` first when given, then the
/// return addresses of each frame that lies in wasm code.
///
/// # Safety
/// `[lo, hi)` must be readable stack memory of the current thread.
pub(crate) unsafe fn walk_frames(
    rec: &mut TrapRecord,
    pc: Option<usize>,
    fp: usize,
    lo: usize,
    hi: usize,
) {
    rec.npcs = 0;
    if let Some(pc) = pc {
        rec.pcs[0] = pc;
        rec.npcs = 1;
    }
    // SAFETY: forwarded from the caller.
    for (_, ret) in unsafe { frames(fp, lo, hi) }.take(10_000) {
        if rec.npcs >= MAX_FRAMES {
            break;
        }
        if ret != 0 && lookup_pc(ret - 1).is_some() {
            rec.pcs[rec.npcs] = ret;
            rec.npcs += 1;
        } else if rec.npcs > 0 && pc.is_none_or(|_| rec.npcs > 1) {
            // Left the wasm frames (reached the trampoline or host code).
            break;
        }
    }
}

/// A frame of a trap's backtrace.
#[derive(Clone, Debug)]
pub struct FrameInfo {
    pub module: Option<String>,
    pub func_index: u32,
    pub func_name: Option<String>,
    pub offset: u32,
    /// Source file and line, when the module had DWARF.
    pub source: Option<(String, u32)>,
}

impl std::fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.module {
            Some(m) => write!(f, "{m}!")?,
            None => write!(f, "<module>!")?,
        }
        match &self.func_name {
            Some(n) => write!(f, "{n}")?,
            None => write!(f, "<wasm function {}>", self.func_index)?,
        }
        match &self.source {
            Some((file, line)) => write!(f, " ({file}:{line})"),
            None => Ok(()),
        }
    }
}

/// Resolves the recorded PCs into frames (outside the signal handler).
pub fn symbolize(rec: &TrapRecord) -> Vec<FrameInfo> {
    rec.pcs[..rec.npcs]
        .iter()
        .enumerate()
        .filter_map(|(i, pc)| lookup_pc(if i == 0 { *pc } else { pc - 1 }))
        .map(|l| FrameInfo {
            module: l.code.meta.name.clone(),
            func_index: l.func_index,
            func_name: l.func_name().map(str::to_owned),
            offset: l.offset,
            source: l.source_line().map(|(file, line)| (file.to_owned(), line)),
        })
        .collect()
}
