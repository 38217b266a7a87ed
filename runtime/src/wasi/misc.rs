//! Arguments, environment, clocks, randomness, process control and sockets.
//!
//! Same shape as the other syscall files: decode, look up, check pointers, act, map errno.
//! Sockets only exist when the embedder hands one in as stdio; everything else is `ENOTSOCK`,
//! as on wasmtime.

use super::ctx::{FdEntry, HostFd, WasiCtx};
use super::errno::{cvt, Errno};
use super::fd::retry;
use super::memory::GuestMemory;
use super::types::{self, clockid, fdflags, filetype, rights};
use super::{done, WasiExit};
use std::os::fd::{FromRawFd, OwnedFd};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

/// Count and total size (each string plus its NUL) of a string list, as `u32`s.
fn sizes(list: &[Vec<u8>]) -> Result<(u32, u32), Errno> {
    let count = u32::try_from(list.len()).map_err(|_| Errno::OVERFLOW)?;
    let total: usize = list.iter().map(|s| s.len() + 1).sum();
    Ok((count, u32::try_from(total).map_err(|_| Errno::OVERFLOW)?))
}

/// Writes the `char*` array at `ptrs` and the NUL-terminated strings at `buf`.
fn write_strings(mem: &mut [u8], list: &[Vec<u8>], ptrs: u32, buf: u32) -> Result<(), Errno> {
    let mut mem = GuestMemory::new(mem);
    let (count, total) = sizes(list)?;
    mem.check(ptrs, count.checked_mul(4).ok_or(Errno::FAULT)?)?;
    mem.check(buf, total)?;
    let mut at = buf as u64;
    for (i, s) in list.iter().enumerate() {
        mem.write_u32(GuestMemory::elem(ptrs, i as u32, 4), at as u32)?;
        mem.write_bytes(at, s)?;
        mem.write_u8(at + s.len() as u64, 0)?;
        at += s.len() as u64 + 1;
    }
    Ok(())
}

fn write_sizes(
    mem: &mut [u8],
    list: &[Vec<u8>],
    count_ptr: u32,
    size_ptr: u32,
) -> Result<(), Errno> {
    let mut mem = GuestMemory::new(mem);
    let (count, total) = sizes(list)?;
    mem.check(count_ptr, 4)?;
    mem.check(size_ptr, 4)?;
    mem.write_u32(count_ptr as u64, count)?;
    mem.write_u32(size_ptr as u64, total)
}

pub fn args_get(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (ptrs, buf) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_strings(mem, &ctx.args, ptrs, buf))
}

pub fn args_sizes_get(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (count, size) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_sizes(mem, &ctx.args, count, size))
}

pub fn environ_get(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (ptrs, buf) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_strings(mem, &ctx.env, ptrs, buf))
}

pub fn environ_sizes_get(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (count, size) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_sizes(mem, &ctx.env, count, size))
}

fn host_clock(id: u32) -> Result<libc::clockid_t, Errno> {
    Ok(match id {
        clockid::REALTIME => libc::CLOCK_REALTIME,
        clockid::MONOTONIC => libc::CLOCK_MONOTONIC,
        clockid::PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        clockid::THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::INVAL),
    })
}

fn ns(ts: libc::timespec) -> Result<u64, Errno> {
    (ts.tv_sec as u64)
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(ts.tv_nsec as u64))
        .ok_or(Errno::OVERFLOW)
}

/// The current time of WASI clock `id` in nanoseconds.
pub(crate) fn clock_ns(id: u32) -> Result<u64, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    cvt(unsafe { libc::clock_gettime(host_clock(id)?, &mut ts) })?;
    ns(ts)
}

pub fn clock_res_get(_ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (id, out) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        cvt(unsafe { libc::clock_getres(host_clock(id)?, &mut ts) })?;
        GuestMemory::new(mem).write_u64(out as u64, ns(ts)?)
    })
}

pub fn clock_time_get(_ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    // The precision argument (a[1]) is a hint we cannot use.
    let (id, out) = (a[0].as_u32(), a[2].as_u32());
    done(a, || {
        GuestMemory::new(mem).write_u64(out as u64, clock_ns(id)?)
    })
}

pub fn random_get(_ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (buf, len) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let mut mem = GuestMemory::new(mem);
        let mut dst = mem.slice_mut(buf, len)?;
        // getrandom may return fewer bytes than asked (large requests, signals).
        while !dst.is_empty() {
            let n = retry(|| unsafe { libc::getrandom(dst.as_mut_ptr().cast(), dst.len(), 0) })?;
            dst = &mut dst[n as usize..];
        }
        Ok(())
    })
}

pub fn proc_exit(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    Err(WasiExit::Exit(a[0].as_i32()))
}

pub fn proc_raise(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    // Signals do not exist for a WASI guest; wasmtime answers ENOTSUP as well.
    done(a, || Err(Errno::NOTSUP))
}

pub fn sched_yield(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    done(a, || cvt(unsafe { libc::sched_yield() }).map(drop))
}

/// Looks up a socket descriptor: `EBADF` if unknown, `ENOTSOCK` if not a socket.
fn socket(ctx: &WasiCtx, fd: u32, need: u64) -> Result<&FdEntry, Errno> {
    let e = ctx.entry(fd, 0)?;
    if e.filetype != filetype::SOCKET_STREAM && e.filetype != filetype::SOCKET_DGRAM {
        return Err(Errno::NOTSOCK);
    }
    ctx.entry(fd, need)
}

pub fn sock_accept(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (fd, flags, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::SOCK_ACCEPT)?;
        if flags & !(fdflags::NONBLOCK as u32) != 0 {
            return Err(Errno::INVAL);
        }
        let mut mem = GuestMemory::new(mem);
        mem.check(out, 4)?;
        let nonblock = if flags != 0 { libc::SOCK_NONBLOCK } else { 0 };
        let raw = retry(|| unsafe {
            libc::accept4(
                e.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | nonblock,
            )
        })?;
        // SAFETY: fresh descriptor from accept4.
        let host = HostFd::Owned(unsafe { OwnedFd::from_raw_fd(raw) });
        let new = ctx.fds.push(FdEntry::new(host, rights::SOCKET, 0))?;
        mem.write_u32(out as u64, new)
    })
}

pub fn sock_recv(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, iovs_len, ri_flags) =
        (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    let (len_out, flags_out) = (a[4].as_u32(), a[5].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::FD_READ)?;
        let known = (types::RIFLAGS_RECV_PEEK | types::RIFLAGS_RECV_WAITALL) as u32;
        if ri_flags & !known != 0 {
            return Err(Errno::INVAL);
        }
        let mut flags = 0;
        if ri_flags & types::RIFLAGS_RECV_PEEK as u32 != 0 {
            flags |= libc::MSG_PEEK;
        }
        if ri_flags & types::RIFLAGS_RECV_WAITALL as u32 != 0 {
            flags |= libc::MSG_WAITALL;
        }
        let mut mem = GuestMemory::new(mem);
        let ranges = mem.iovecs(iovs, iovs_len)?;
        mem.check(len_out, 4)?;
        mem.check(flags_out, 2)?;
        let mut iov = mem.host_iovecs(&ranges);
        // SAFETY: zeroed msghdr is valid; iovecs point into bounds-checked guest memory.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len();
        let n = retry(|| unsafe { libc::recvmsg(e.raw(), &mut msg, flags) })?;
        let ro = if msg.msg_flags & libc::MSG_TRUNC != 0 {
            types::ROFLAGS_RECV_DATA_TRUNCATED
        } else {
            0
        };
        mem.write_u32(len_out as u64, n as u32)?;
        mem.write_u16(flags_out as u64, ro)
    })
}

pub fn sock_send(ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, iovs_len, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[4].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::FD_WRITE)?;
        let mut mem = GuestMemory::new(mem);
        let ranges = mem.iovecs(iovs, iovs_len)?;
        mem.check(out, 4)?;
        let mut iov = mem.host_iovecs(&ranges);
        // SAFETY: as in sock_recv. MSG_NOSIGNAL: a closed peer is EPIPE, not a host SIGPIPE.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len();
        let n = retry(|| unsafe { libc::sendmsg(e.raw(), &msg, libc::MSG_NOSIGNAL) })?;
        mem.write_u32(out as u64, n as u32)
    })
}

pub fn sock_shutdown(ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (fd, how) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::SOCK_SHUTDOWN)?;
        let how = match how {
            h if h == types::SDFLAGS_RD as u32 => libc::SHUT_RD,
            h if h == types::SDFLAGS_WR as u32 => libc::SHUT_WR,
            h if h == (types::SDFLAGS_RD | types::SDFLAGS_WR) as u32 => libc::SHUT_RDWR,
            _ => return Err(Errno::INVAL),
        };
        cvt(unsafe { libc::shutdown(e.raw(), how) }).map(drop)
    })
}
