//! `poll_oneoff`: waiting for clocks and for descriptors to become readable or writable.
//!
//! Clock subscriptions become deadlines on the monotonic clock (absolute ones are converted
//! through their own clock). Regular files are always ready, as POSIX and wasmtime say; other
//! descriptors (stdin, pipes, sockets, terminals) are waited for with `ppoll`, whose timeout is
//! the earliest deadline; with clocks alone the thread sleeps in `clock_nanosleep`. Both return
//! `EINTR` to a signal: the wait then resumes for what is left, unless the guest's time is up
//! (`host::interrupted`). Events are reported in subscription order.

use super::clock::clock_ns;
use super::ctx::WasiCtx;
use super::errno::{cvt, Errno};
use super::host::interrupted;
use super::memory::GuestMemory;
use super::types::{self, clockid, eventtype, filetype, rights, Flavor};
use super::{done, WasiExit};
use std::os::fd::RawFd;
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

enum What {
    /// Fires when the monotonic clock reaches this many nanoseconds.
    Clock(u64),
    /// A regular file: ready at once.
    File { fd: RawFd, read: bool },
    /// Ready at once with this many bytes (a file embedded in the executable).
    Ready(u64),
    /// Index into the `pollfd` array.
    Stream { slot: usize, read: bool },
}

struct Sub {
    userdata: u64,
    ty: u8,
    what: What,
}

/// `ns` nanoseconds as a `timespec` (an absolute `CLOCK_MONOTONIC` time or a duration).
fn timespec(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000).min(i64::MAX as u64) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

/// Bytes between a regular file's position and its end.
fn file_remaining(fd: RawFd) -> u64 {
    // SAFETY: zeroed stat is valid; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let pos = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || pos < 0 {
        return 0;
    }
    (st.st_size as u64).saturating_sub(pos as u64)
}

fn decode(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    ptr: u64,
    flavor: Flavor,
    pollfds: &mut Vec<libc::pollfd>,
) -> Result<Sub, Errno> {
    let layout = flavor.subscription();
    let userdata = mem.read_u64(ptr)?;
    let ty = mem.read_u8(ptr + 8)?;
    let what = match ty {
        eventtype::CLOCK => {
            let id = mem.read_u32(ptr + layout.clock_id)?;
            let timeout = mem.read_u64(ptr + layout.clock_timeout)?;
            let flags = mem.read_u16(ptr + layout.clock_flags)?;
            // Like wasmtime, only the realtime and monotonic clocks can be waited for.
            if id != clockid::REALTIME && id != clockid::MONOTONIC {
                return Err(Errno::INVAL);
            }
            let rel = if flags & types::SUBCLOCKFLAGS_ABSTIME != 0 {
                timeout.saturating_sub(clock_ns(id)?)
            } else {
                timeout
            };
            What::Clock(clock_ns(clockid::MONOTONIC)?.saturating_add(rel))
        }
        eventtype::FD_READ | eventtype::FD_WRITE => {
            let fd = mem.read_u32(ptr + layout.fd)?;
            let e = ctx.file(fd, rights::POLL_FD_READWRITE)?;
            let read = ty == eventtype::FD_READ;
            if let Some(emb) = e.embedded() {
                What::Ready(if read { emb.remaining() } else { 0 })
            } else if e.filetype == filetype::REGULAR_FILE {
                What::File { fd: e.raw(), read }
            } else {
                let events = if read { libc::POLLIN } else { libc::POLLOUT };
                pollfds.push(libc::pollfd {
                    fd: e.raw(),
                    events,
                    revents: 0,
                });
                What::Stream {
                    slot: pollfds.len() - 1,
                    read,
                }
            }
        }
        _ => return Err(Errno::INVAL),
    };
    Ok(Sub { userdata, ty, what })
}

/// The event for `sub` if it is ready now.
fn event(sub: &Sub, now: u64, pollfds: &[libc::pollfd]) -> Option<[u8; 32]> {
    let ev = |error: Errno, nbytes: u64, flags: u16| {
        Some(types::encode_event(
            sub.userdata,
            error.0,
            sub.ty,
            nbytes,
            flags,
        ))
    };
    match sub.what {
        What::Clock(deadline) => (deadline <= now)
            .then(|| ev(Errno::SUCCESS, 0, 0))
            .flatten(),
        What::File { fd, read } => ev(Errno::SUCCESS, if read { file_remaining(fd) } else { 0 }, 0),
        What::Ready(nbytes) => ev(Errno::SUCCESS, nbytes, 0),
        What::Stream { slot, read } => {
            let p = &pollfds[slot];
            let hup = if p.revents & libc::POLLHUP != 0 {
                types::EVENTRWFLAGS_HANGUP
            } else {
                0
            };
            if p.revents & libc::POLLNVAL != 0 {
                ev(Errno::BADF, 0, 0)
            } else if p.revents & libc::POLLERR != 0 {
                ev(Errno::IO, 0, hup)
            } else if p.revents != 0 {
                let mut n: libc::c_int = 0;
                // SAFETY: FIONREAD writes one int; failure just means "unknown" (0).
                if read && unsafe { libc::ioctl(p.fd, libc::FIONREAD, &mut n) } != 0 {
                    n = 0;
                }
                ev(Errno::SUCCESS, n.max(0) as u64, hup)
            } else {
                None
            }
        }
    }
}

fn poll(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw], flavor: Flavor) -> Ret {
    let (in_ptr, out_ptr, nsubs, nevents_ptr) =
        (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    done(a, || {
        // Sleeping forever on nothing is not supported (wasmtime: EINVAL too).
        if nsubs == 0 {
            return Err(Errno::INVAL);
        }
        let bytes = |size: u32| u32::try_from(nsubs as u64 * size as u64).map_err(|_| Errno::FAULT);
        mem.check(in_ptr, bytes(flavor.subscription().size)?)?;
        mem.check(out_ptr, bytes(types::EVENT_SIZE)?)?;
        mem.check(nevents_ptr, 4)?;
        let mut pollfds = Vec::new();
        let subs = (0..nsubs)
            .map(|i| {
                let at = GuestMemory::elem(in_ptr, i, flavor.subscription().size);
                decode(ctx, mem, at, flavor, &mut pollfds)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let events = loop {
            let now = clock_ns(clockid::MONOTONIC)?;
            let ready: Vec<[u8; 32]> = subs
                .iter()
                .filter_map(|s| event(s, now, &pollfds))
                .collect();
            if !ready.is_empty() {
                break ready;
            }
            let wait = subs
                .iter()
                .filter_map(|s| match s.what {
                    What::Clock(d) => Some(d.saturating_sub(now)),
                    _ => None,
                })
                .min();
            let r = if pollfds.is_empty() {
                // Only clocks, none expired: sleep until the first one. clock_nanosleep (not
                // std's sleep, which resumes after signals) returns EINTR to a timeout.
                let deadline = now.saturating_add(wait.unwrap_or(0));
                let ts = timespec(deadline);
                // SAFETY: `ts` is a valid timespec; no remainder is asked for.
                match unsafe {
                    libc::clock_nanosleep(
                        libc::CLOCK_MONOTONIC,
                        libc::TIMER_ABSTIME,
                        &ts,
                        std::ptr::null_mut(),
                    )
                } {
                    0 => Ok(()),
                    e => Err(Errno::from_raw(e)),
                }
            } else {
                let ts = wait.map(timespec);
                let ts_ptr = ts
                    .as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec);
                for p in &mut pollfds {
                    p.revents = 0;
                }
                // SAFETY: pollfds is a valid array of its length; ts_ptr is null or valid.
                cvt(unsafe {
                    libc::ppoll(
                        pollfds.as_mut_ptr(),
                        pollfds.len() as libc::nfds_t,
                        ts_ptr,
                        std::ptr::null(),
                    )
                })
                .map(drop)
            };
            match r {
                // A signal: give up if the guest's time is up, else wait again for what is
                // left (the loop recomputes the timeout from the clock).
                Err(Errno::INTR) => interrupted()?,
                r => r?,
            }
        };
        for (i, ev) in events.iter().enumerate() {
            mem.write_bytes(GuestMemory::elem(out_ptr, i as u32, types::EVENT_SIZE), ev)?;
        }
        mem.write_u32(nevents_ptr as u64, events.len() as u32)
    })
}

pub fn poll_oneoff(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    poll(ctx, mem, a, Flavor::Preview1)
}

pub fn poll_oneoff_unstable(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    poll(ctx, mem, a, Flavor::Unstable)
}
