//! The signal handler that turns faults in compiled wasm into traps.
//!
//! It allocates nothing, formats nothing and takes no lock but the code registry's read lock
//! (writers hold it only while loading or dropping modules, never while wasm runs). It finds the
//! trap from the faulting PC in the trap tables, records it in the thread's innermost
//! `CallThreadState`, and resumes at `wasic_unwind` with the stack pointer `wasic_enter` saved.
//! A fault that is not ours goes to the handler that was installed before.

use super::{current_state, enter, walk_frames, TrapRecord};
use crate::module::lookup_pc;
use std::mem::MaybeUninit;
use std::sync::Once;
use wasic_abi::Trap;

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

static mut PREVIOUS: [MaybeUninit<libc::sigaction>; 4] = [MaybeUninit::uninit(); 4];
static INSTALL: Once = Once::new();

/// Installs the handler for all trap signals, once per process.
pub fn ensure_installed() {
    INSTALL.call_once(|| unsafe {
        for (i, sig) in SIGNALS.iter().enumerate() {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            let prev = &raw mut PREVIOUS[i];
            if libc::sigaction(*sig, &sa, (*prev).as_mut_ptr()) != 0 {
                panic!("wasic: cannot install the handler for signal {sig}");
            }
        }
    });
}

thread_local! {
    static ALTSTACK_DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Size of the alternate signal stack we give threads that have none.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// Makes sure this thread has an alternate signal stack, so that a fault on an exhausted stack
/// can still be handled. Threads started by Rust's std have one; `main` of an executable does
/// not. The stack is leaked: it must outlive any signal on this thread.
pub fn ensure_altstack() {
    if ALTSTACK_DONE.with(|d| d.replace(true)) {
        return;
    }
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut old) != 0 {
            return;
        }
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALTSTACK_SIZE {
            return;
        }
        let page = crate::sys::page_size();
        let Ok(map) = crate::sys::Mmap::read_write(ALTSTACK_SIZE + page) else {
            return;
        };
        // The lowest page stays a guard page.
        let _ = map.protect(0, page, libc::PROT_NONE);
        let st = libc::stack_t {
            ss_sp: map.as_ptr().add(page) as *mut libc::c_void,
            ss_flags: 0,
            ss_size: ALTSTACK_SIZE,
        };
        if libc::sigaltstack(&st, std::ptr::null_mut()) == 0 {
            std::mem::forget(map);
        }
    }
}

unsafe extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel hands us a valid siginfo and ucontext.
    unsafe {
        if !handle(sig, info, ctx) {
            chain(sig, info, ctx);
        }
    }
}

unsafe fn handle(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) -> bool {
    let state = current_state();
    if state.is_null() {
        return false;
    }
    let uc = ctx as *mut libc::ucontext_t;
    // SAFETY: x86_64 Linux ucontext layout.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let pc = gregs[libc::REG_RIP as usize] as usize;
    let sp = gregs[libc::REG_RSP as usize] as usize;
    let fp = gregs[libc::REG_RBP as usize] as usize;
    let Some(found) = lookup_pc(pc) else {
        return false;
    };
    let fault_addr = match sig {
        libc::SIGSEGV | libc::SIGBUS => Some(unsafe { (*info).si_addr() } as usize),
        _ => None,
    };
    let trap = match found.trap() {
        Some(t) => t,
        // No trap site: only a hit on the stack's guard page is expected here (a backstop;
        // the prologue check normally catches overflow first).
        None => match fault_addr {
            Some(a) if a < sp + 4096 && a + (1 << 20) > sp => Trap::StackOverflow,
            _ => return false,
        },
    };
    drop(found);
    // SAFETY: `state` is the live innermost state of this thread.
    unsafe {
        let mut rec = TrapRecord::new(trap);
        rec.fault_addr = if trap == Trap::MemoryOutOfBounds {
            fault_addr
        } else {
            None
        };
        walk_frames(&mut rec, Some(pc), fp, sp, (*state).entry_sp);
        (*state).unwind = Some(super::Unwind::Trap(rec));
        gregs[libc::REG_RSP as usize] = (*state).saved_sp as i64;
        gregs[libc::REG_RIP as usize] = enter::wasic_unwind as *const () as usize as i64;
    }
    true
}

unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|s| *s == sig) else {
        return;
    };
    // SAFETY: PREVIOUS[i] was written by sigaction before our handler could run.
    unsafe {
        let prev = (&raw const PREVIOUS[i]).read().assume_init();
        if prev.sa_flags & libc::SA_SIGINFO != 0 && prev.sa_sigaction > 1 {
            let f: unsafe extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(prev.sa_sigaction);
            f(sig, info, ctx);
        } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
            // Restore the default action; returning re-executes the faulting instruction,
            // which now kills the process as it would have without us.
            libc::signal(sig, libc::SIG_DFL);
        } else {
            let f: unsafe extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
            f(sig);
        }
    }
}
