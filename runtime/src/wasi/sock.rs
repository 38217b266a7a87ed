//! The `sock_*` functions: accept, receive, send and shut down on socket descriptors.
//!
//! Sockets only exist when the embedder hands one in (as stdio or a preopened listener);
//! everything else is `ENOTSOCK`, as on wasmtime.

use super::ctx::{FdEntry, HostFd, WasiCtx};
use super::errno::{cvt, Errno};
use super::host::retry;
use super::memory::GuestMemory;
use super::types::{self, fdflags, filetype, rights};
use super::{done, WasiExit};
use std::os::fd::{FromRawFd, OwnedFd};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

/// Looks up a socket descriptor: `EBADF` if unknown, `ENOTSOCK` if not a socket.
fn socket(ctx: &WasiCtx, fd: u32, need: u64) -> Result<std::sync::Arc<FdEntry>, Errno> {
    let e = ctx.entry(fd, 0)?;
    if e.filetype != filetype::SOCKET_STREAM && e.filetype != filetype::SOCKET_DGRAM {
        return Err(Errno::NOTSOCK);
    }
    ctx.entry(fd, need)
}

pub fn sock_accept(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, flags, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::SOCK_ACCEPT)?;
        if flags & !(fdflags::NONBLOCK as u32) != 0 {
            return Err(Errno::INVAL);
        }
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

pub fn sock_recv(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
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

pub fn sock_send(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, iovs_len, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[4].as_u32());
    done(a, || {
        let e = socket(ctx, fd, rights::FD_WRITE)?;
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

pub fn sock_shutdown(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
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
