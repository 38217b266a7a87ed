//! The parking lot behind `memory.atomic.wait32/64` and `memory.atomic.notify` (threads
//! proposal), called by the builtins in `builtins.rs` once compiled code has checked the
//! address (`compiler/src/translate/atomics.rs`).
//!
//! Waiters are keyed by the *native* address of the waited-on cell. A shared memory is one
//! mapping whichever store or thread uses it, so the native address names the cell across all
//! of them, and two different memories can never collide.
//!
//! Addresses hash into a fixed array of buckets, each a mutex over its waiters and a condition
//! variable. The waiter compares the memory's value with the expected one *under the bucket's
//! lock*, and a notifier takes the same lock, so a notify that follows a store of the new value
//! cannot fall between the comparison and the sleep (the lost-wakeup race a futex avoids the
//! same way). `notify` marks up to `count` waiters of its address as woken, oldest first, and
//! wakes the bucket's condition variable; every sleeper rechecks its own mark, so waiters of
//! other addresses in the bucket merely wake spuriously.
//!
//! A sleeper also wakes every [`POLL`] to ask `interrupted()` (the `--timeout` watchdog's
//! pending interrupt, `traps/interrupt.rs`): a condition-variable wait does not return on a
//! signal, so this is how a guest stuck in a wait is still stopped.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What `memory.atomic.wait*` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum WaitResult {
    /// Woken by a `notify`.
    Ok = 0,
    /// The value was not the expected one; the thread did not sleep.
    NotEqual = 1,
    /// The timeout ran out.
    TimedOut = 2,
}

/// One sleeping thread.
struct Waiter {
    addr: usize,
    /// Unique among the bucket's waiters: how a sleeper finds its own entry.
    ticket: u64,
    woken: bool,
}

#[derive(Default)]
struct Waiters {
    list: Vec<Waiter>,
    next_ticket: u64,
}

struct Bucket {
    waiters: Mutex<Waiters>,
    cv: Condvar,
}

impl Bucket {
    const fn new() -> Bucket {
        Bucket {
            waiters: Mutex::new(Waiters {
                list: Vec::new(),
                next_ticket: 0,
            }),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // The lists stay consistent even if a holder panicked (every update is one push, one
        // remove or flag writes), so a poisoned lock is still usable.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How often a sleeper checks for an interrupt.
const POLL: Duration = Duration::from_millis(10);

const BUCKETS: usize = 64;
static LOT: [Bucket; BUCKETS] = [const { Bucket::new() }; BUCKETS];

fn bucket(addr: usize) -> &'static Bucket {
    // Cells are at least 4-byte aligned; mix the higher bits in so neighbouring cells and
    // cells a page apart spread over the buckets.
    let h = (addr >> 2).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
    &LOT[h >> (usize::BITS - BUCKETS.trailing_zeros())]
}

/// Sleeps on `addr` if `matches()` (the comparison with the expected value, made under the
/// bucket's lock) holds, until notified or until `timeout` (`None`: forever) runs out; `None`
/// when `interrupted()` became true first.
pub fn wait(
    addr: usize,
    matches: impl FnOnce() -> bool,
    timeout: Option<Duration>,
    interrupted: impl Fn() -> bool,
) -> Option<WaitResult> {
    let b = bucket(addr);
    let mut w = b.lock();
    if !matches() {
        return Some(WaitResult::NotEqual);
    }
    let ticket = w.next_ticket;
    w.next_ticket += 1;
    w.list.push(Waiter {
        addr,
        ticket,
        woken: false,
    });
    // A timeout too far away to represent is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let pos = w
            .list
            .iter()
            .position(|x| x.ticket == ticket)
            .expect("a waiter's entry stays until it leaves");
        if w.list[pos].woken {
            w.list.remove(pos);
            return Some(WaitResult::Ok);
        }
        if interrupted() {
            w.list.remove(pos);
            return None;
        }
        let now = Instant::now();
        let slice = match deadline {
            None => POLL,
            Some(d) if now >= d => {
                w.list.remove(pos);
                return Some(WaitResult::TimedOut);
            }
            Some(d) => (d - now).min(POLL),
        };
        w =
            b.cv.wait_timeout(w, slice)
                .unwrap_or_else(|e| e.into_inner())
                .0;
    }
}

/// Wakes at most `count` threads waiting on `addr`, oldest first; returns how many.
pub fn notify(addr: usize, count: u32) -> u32 {
    let b = bucket(addr);
    let mut w = b.lock();
    let mut woken = 0;
    for x in w.list.iter_mut() {
        if woken == count {
            break;
        }
        if x.addr == addr && !x.woken {
            x.woken = true;
            woken += 1;
        }
    }
    drop(w);
    if woken > 0 {
        b.cv.notify_all();
    }
    woken
}

/// The `memory.atomic.wait*` timeout operand: nanoseconds as an i64, negative for none.
pub fn timeout_of(ns: u64) -> Option<Duration> {
    let ns = ns as i64;
    (ns >= 0).then(|| Duration::from_nanos(ns as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn wait_returns_not_equal_without_sleeping_and_times_out() {
        let cell = 0u32;
        let addr = &cell as *const u32 as usize;
        let never = || false;
        assert_eq!(
            wait(addr, || false, None, never),
            Some(WaitResult::NotEqual)
        );
        let t = Instant::now();
        let r = wait(addr, || true, Some(Duration::from_millis(20)), never);
        assert_eq!(r, Some(WaitResult::TimedOut));
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(notify(addr, 1), 0, "a timed-out waiter is gone");
    }

    #[test]
    fn an_interrupt_ends_a_wait_without_timeout() {
        let cell = 0u32;
        let addr = &cell as *const u32 as usize;
        let t = Instant::now();
        let asked = std::cell::Cell::new(0);
        let interrupted = || {
            asked.set(asked.get() + 1);
            asked.get() > 3
        };
        assert_eq!(wait(addr, || true, None, interrupted), None);
        assert!(t.elapsed() >= 2 * POLL, "{:?}", t.elapsed());
        assert_eq!(notify(addr, 1), 0, "an interrupted waiter is gone");
    }

    #[test]
    fn notify_wakes_at_most_count_waiters_of_its_address() {
        let cell = Arc::new(AtomicU32::new(0));
        let addr = Arc::as_ptr(&cell) as usize;
        let started = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let started = started.clone();
                std::thread::spawn(move || {
                    wait(
                        addr,
                        || {
                            started.fetch_add(1, Ordering::SeqCst);
                            true
                        },
                        Some(Duration::from_secs(10)),
                        || false,
                    )
                })
            })
            .collect();
        // `matches` runs under the lock, so once all three ran they are all registered.
        while started.load(Ordering::SeqCst) < 3 {
            std::thread::yield_now();
        }
        assert_eq!(notify(addr + 4, 10), 0, "another address wakes nobody");
        assert_eq!(notify(addr, 2), 2);
        assert_eq!(notify(addr, 5), 1);
        for t in threads {
            assert_eq!(t.join().unwrap(), Some(WaitResult::Ok));
        }
        assert_eq!(timeout_of(u64::MAX), None);
        assert_eq!(timeout_of(5), Some(Duration::from_nanos(5)));
    }
}
