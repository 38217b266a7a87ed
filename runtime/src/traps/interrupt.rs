//! Stopping a runaway guest from another thread (`--timeout`), wherever it is: in compiled
//! wasm code, blocked in a host call, or looping on host calls.
//!
//! A [`Watchdog`] guards the thread that starts it. When its time is up it first raises that
//! thread's pending-interrupt count (read with [`pending`]), then signals the thread with
//! [`INTERRUPT_SIGNAL`] every 10 ms until the watchdog is dropped. Where the signal lands:
//!
//! * in compiled wasm code: the handler unwinds with `Trap::Interrupted` right there. Compiled
//!   code carries no checks for this, so a limit that is not used costs nothing;
//! * in host code: the handler does nothing, and host code notices the pending interrupt
//!   itself. The handler is installed without `SA_RESTART`, so a blocking system call returns
//!   `EINTR`; WASI's retry loop (`wasi/host.rs`) then gives up instead of retrying, sleeps are
//!   `EINTR`-interruptible system calls, long host loops poll [`pending`], and every WASI call
//!   checks it on its way back to wasm and traps with `Trap::Interrupted` instead of returning
//!   (`exec/linking.rs`), so the guest never sees the `EINTR`.
//!
//! No wake-up is lost: the count is raised before the first signal, so a call that checked it
//! just before and then blocked is woken by one of the signals that keep coming. The count
//! belongs to the guarded thread only: other threads (other stores of an embedding) are never
//! affected by a watchdog that is not theirs.

use super::{current_state, enter, walk_frames, TrapRecord, Unwind};
use crate::module::try_lookup_pc;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use wasic_abi::Trap;

/// The signal the watchdog sends.
pub const INTERRUPT_SIGNAL: libc::c_int = libc::SIGUSR2;

/// How often an expired watchdog signals its thread again.
const RESIGNAL_INTERVAL: Duration = Duration::from_millis(10);

thread_local! {
    /// How many expired watchdogs guard this thread (watchdogs may nest).
    static PENDING: Arc<AtomicUsize> = Arc::new(AtomicUsize::new(0));
}

/// Whether a watchdog guarding the calling thread has expired: host code running for a guest
/// should give up and let the guest trap with `Trap::Interrupted`.
pub fn pending() -> bool {
    PENDING.with(|p| p.load(Ordering::Acquire) != 0)
}

fn ensure_handler() {
    static INSTALL: Once = Once::new();
    // SAFETY: installs a handler that only touches this thread's trap state (see `handler`).
    INSTALL.call_once(|| unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        // No SA_RESTART: a blocking system call must return EINTR (see the module comment).
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
            // Host code: it sees `pending()` (set before the first signal) itself.
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
///
/// Not `Send`: it must be dropped on the thread it guards, which therefore outlives it (the
/// watchdog signals that thread by its pthread id).
pub struct Watchdog {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<bool>>,
    pending: Arc<AtomicUsize>,
    _not_send: PhantomData<*const ()>,
}

impl Watchdog {
    /// Arms a watchdog for the calling thread.
    pub fn start(after: Duration) -> Watchdog {
        ensure_handler();
        // SAFETY: pthread_self has no preconditions; the id stays valid while the thread runs,
        // and the watchdog is stopped (joined) before the thread can end: it is not Send, so
        // it is dropped on this thread.
        let target = unsafe { libc::pthread_self() };
        let done = Arc::new(AtomicBool::new(false));
        let pending = PENDING.with(Arc::clone);
        let (d, p) = (done.clone(), pending.clone());
        let thread = std::thread::Builder::new()
            .name("wasic-watchdog".into())
            .spawn(move || {
                let deadline = std::time::Instant::now() + after;
                let mut fired = false;
                while !d.load(Ordering::Acquire) {
                    let now = std::time::Instant::now();
                    if now < deadline {
                        std::thread::park_timeout((deadline - now).min(Duration::from_millis(50)));
                        continue;
                    }
                    if !fired {
                        // Before the signal: whoever it wakes must see it.
                        p.fetch_add(1, Ordering::SeqCst);
                        fired = true;
                    }
                    // SAFETY: `target` is alive until `done` is set and this thread joined.
                    unsafe { libc::pthread_kill(target, INTERRUPT_SIGNAL) };
                    std::thread::park_timeout(RESIGNAL_INTERVAL);
                }
                fired
            })
            .ok();
        Watchdog {
            done,
            thread,
            pending,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            if t.join().unwrap_or(false) {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_raised_on_expiry_for_the_guarded_thread_only_and_cleared_on_drop() {
        let w = Watchdog::start(Duration::from_millis(20));
        let other = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            pending()
        });
        let start = std::time::Instant::now();
        while !pending() {
            assert!(start.elapsed() < Duration::from_secs(10), "never expired");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            !other.join().unwrap(),
            "another thread saw this thread's interrupt"
        );
        drop(w);
        assert!(!pending());
    }

    #[test]
    fn nested_watchdogs_keep_the_outer_expiry_pending() {
        let outer = Watchdog::start(Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(100));
        assert!(pending());
        let inner = Watchdog::start(Duration::from_secs(3600));
        drop(inner);
        assert!(
            pending(),
            "dropping a watchdog that never fired cleared another's"
        );
        drop(outer);
        assert!(!pending());
    }
}
