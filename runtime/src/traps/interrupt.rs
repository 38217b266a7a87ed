//! Stopping runaway wasm from another thread (`--timeout`): a watchdog thread signals the
//! thread running wasm with [`INTERRUPT_SIGNAL`] until it stops; the handler unwinds with
//! `Trap::Interrupted` when the signal lands in compiled wasm code and otherwise does nothing
//! (host code and builtins always return to wasm or finish, and the signal comes again 10 ms
//! later). Compiled code carries no checks for this, so a limit that is not used costs nothing.
//! Blocking WASI calls see `EINTR` (the handler is installed without `SA_RESTART`).

use super::{current_state, enter, walk_frames, TrapRecord, Unwind};
use crate::module::try_lookup_pc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use wasic_abi::Trap;

/// The signal the watchdog sends.
pub const INTERRUPT_SIGNAL: libc::c_int = libc::SIGUSR2;

fn ensure_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(INTERRUPT_SIGNAL, &sa, std::ptr::null_mut());
    });
}

unsafe extern "C" fn handler(
    _sig: libc::c_int,
    _info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    let state = current_state();
    if state.is_null() {
        return;
    }
    // SAFETY: x86_64 Linux ucontext; `state` is this thread's live innermost state.
    unsafe {
        let gregs = &mut (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs;
        let pc = gregs[libc::REG_RIP as usize] as usize;
        let sp = gregs[libc::REG_RSP as usize] as usize;
        let fp = gregs[libc::REG_RBP as usize] as usize;
        // Never block here: this signal may arrive while this very thread holds the registry.
        if try_lookup_pc(pc) != Some(true) {
            return;
        }
        let mut rec = TrapRecord::new(Trap::Interrupted);
        walk_frames(&mut rec, Some(pc), fp, sp, (*state).entry_sp);
        (*state).unwind = Some(Unwind::Trap(rec));
        gregs[libc::REG_RSP as usize] = (*state).saved_sp as i64;
        gregs[libc::REG_RIP as usize] = enter::wasic_unwind as *const () as usize as i64;
    }
}

/// Interrupts the thread that created it once `after` has passed, until dropped.
pub struct Watchdog {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Arms a watchdog for the calling thread.
    pub fn start(after: Duration) -> Watchdog {
        ensure_handler();
        // SAFETY: pthread_self has no preconditions; the id stays valid while the thread runs,
        // and the watchdog is stopped (joined) before the thread can end (see Drop).
        let target = unsafe { libc::pthread_self() };
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let thread = std::thread::Builder::new()
            .name("wasic-watchdog".into())
            .spawn(move || {
                let deadline = std::time::Instant::now() + after;
                while !d.load(Ordering::Acquire) {
                    let now = std::time::Instant::now();
                    if now < deadline {
                        std::thread::park_timeout((deadline - now).min(Duration::from_millis(50)));
                        continue;
                    }
                    unsafe { libc::pthread_kill(target, INTERRUPT_SIGNAL) };
                    std::thread::park_timeout(Duration::from_millis(10));
                }
            })
            .ok();
        Watchdog { done, thread }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
