//! The signal handler that turns faults in compiled wasm into traps.
//!
//! It allocates nothing, formats nothing and takes no lock but the code registry's read lock
//! (writers hold it only while loading or dropping modules, never while wasm runs). It finds the
//! trap from the faulting PC in the trap tables, records it in the thread's innermost
//! `CallThreadState`, and resumes at `wasic_unwind` with the stack pointer `wasic_enter` saved.
//! A fault on the guard region of the thread's wasm stack (`stack.rs`) is stack exhaustion
//! when compiled code made it; host code there has overflowed the stack it was given, which is
//! no trap. A fault that is not ours goes to the handler that was installed before.
//!
//! The handler runs on the thread's alternate signal stack ([`ensure_altstack`]): the fault
//! may be an exhausted stack.

use super::{current_state, enter, stack, walk_frames, TrapRecord};
use crate::module::{in_compiled_code, lookup_pc};
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

/// Size of the alternate signal stack we give threads that have none: the handler's own frames
/// (a `TrapRecord`, the registry lookup) and the kernel's signal frame with its large vector
/// register state.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// The alternate signal stack this thread got from [`ensure_altstack`], freed when the thread
/// ends.
struct AltStack(Option<crate::sys::Mmap>);

impl Drop for AltStack {
    fn drop(&mut self) {
        let Some(map) = self.0.take() else {
            return;
        };
        // SAFETY: queries and, if it is still ours, disables this thread's alternate stack; no
        // handler runs on it now (this is the thread's own exit path), so it may be unmapped.
        unsafe {
            let mut cur: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut cur) != 0 {
                std::mem::forget(map);
                return;
            }
            let ours = map.as_ptr().add(crate::sys::page_size()) as *mut libc::c_void;
            if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_sp == ours {
                let off = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: ALTSTACK_SIZE,
                };
                if libc::sigaltstack(&off, std::ptr::null_mut()) != 0 {
                    std::mem::forget(map);
                }
            }
        }
    }
}

thread_local! {
    static ALTSTACK_DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALTSTACK: std::cell::RefCell<AltStack> = const { std::cell::RefCell::new(AltStack(None)) };
}

/// Makes sure this thread has an alternate signal stack of at least `ALTSTACK_SIZE`, so that a
/// fault on an exhausted stack can still be handled. `main` of an executable has none; threads
/// started by Rust's std have a smaller one.
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
            ALTSTACK.with(|a| a.borrow_mut().0 = Some(map));
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
    let fault_addr = match sig {
        libc::SIGSEGV | libc::SIGBUS => Some(unsafe { (*info).si_addr() } as usize),
        _ => None,
    };
    let wasm_stack = stack::bounds();
    let on_guard = sig == libc::SIGSEGV && fault_addr.is_some_and(|a| wasm_stack.in_guard(a));
    // A signal the kernel could not deliver on the wasm stack (its handler was installed
    // without SA_ONSTACK and wasm had used nearly all the stack) comes back as this SIGSEGV:
    // wasm exhausted the stack the signal needed. The other signal is lost.
    let undeliverable = sig == libc::SIGSEGV
        && unsafe { (*info).si_code } == libc::SI_KERNEL
        && wasm_stack.near_guard(sp);
    let trap = if on_guard || undeliverable {
        // A frame of compiled code (a wasm function, or a trampoline or adapter between it and
        // the host) below the stack limit.
        if !in_compiled_code(pc) {
            if on_guard {
                report_host_overflow();
            }
            return false;
        }
        Trap::StackOverflow
    } else {
        let Some(found) = lookup_pc(pc) else {
            return false;
        };
        let Some(trap) = found.trap() else {
            return false;
        };
        trap
    };
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

/// Says why the process is about to die of a fault the default action reports only as
/// "Segmentation fault".
fn report_host_overflow() {
    const MSG: &[u8] = b"wasic: host code called from wasm exhausted the stack it runs on\n";
    // SAFETY: write(2) is async-signal-safe; the buffer is static.
    unsafe { libc::write(2, MSG.as_ptr() as *const libc::c_void, MSG.len()) };
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
