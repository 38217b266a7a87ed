//! The `fd_*` functions: operations on an open descriptor.
//!
//! Each function has the same shape: decode the arguments, look the descriptor up with the
//! rights it needs (`WasiCtx::entry`/`file`/`dir`), validate guest pointers, act with one host
//! call, map the host errno and write the results back.

use super::ctx::{HostFd, WasiCtx};
use super::errno::{cvt, Errno};
use super::host::{fstat, retry, stat_to_filestat, timespecs};
use super::memory::GuestMemory;
use super::readdir::DirStream;
use super::types::{self, fdflags, rights, Flavor};
use super::{done, WasiExit};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

pub fn fd_advise(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, offset, len, advice) = (a[0].as_u32(), a[1].as_i64(), a[2].as_i64(), a[3].as_u32());
    done(a, || {
        let e = ctx.file(fd, rights::FD_ADVISE)?;
        let advice = match advice {
            0 => libc::POSIX_FADV_NORMAL,
            1 => libc::POSIX_FADV_SEQUENTIAL,
            2 => libc::POSIX_FADV_RANDOM,
            3 => libc::POSIX_FADV_WILLNEED,
            4 => libc::POSIX_FADV_DONTNEED,
            5 => libc::POSIX_FADV_NOREUSE,
            _ => return Err(Errno::INVAL),
        };
        if e.embedded().is_some() {
            return Ok(());
        }
        // posix_fadvise returns the error instead of setting errno.
        match unsafe { libc::posix_fadvise(e.raw(), offset, len, advice) } {
            0 => Ok(()),
            err => Err(Errno::from_raw(err)),
        }
    })
}

pub fn fd_allocate(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, offset, len) = (a[0].as_u32(), a[1].as_i64(), a[2].as_i64());
    done(a, || {
        let e = ctx.file(fd, rights::FD_ALLOCATE)?;
        match unsafe { libc::posix_fallocate(e.raw(), offset, len) } {
            0 => Ok(()),
            err => Err(Errno::from_raw(err)),
        }
    })
}

pub fn fd_close(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let fd = a[0].as_u32();
    // Dropping the entry closes an owned host descriptor; borrowed stdio stays open.
    done(a, || ctx.fds.remove(fd).map(drop).ok_or(Errno::BADF))
}

pub fn fd_datasync(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let fd = a[0].as_u32();
    done(a, || {
        let e = ctx.entry(fd, rights::FD_DATASYNC)?;
        if e.embedded().is_some() {
            return Ok(());
        }
        retry(|| unsafe { libc::fdatasync(e.raw()) }).map(drop)
    })
}

pub fn fd_sync(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let fd = a[0].as_u32();
    done(a, || {
        let e = ctx.entry(fd, rights::FD_SYNC)?;
        if e.embedded().is_some() {
            return Ok(());
        }
        retry(|| unsafe { libc::fsync(e.raw()) }).map(drop)
    })
}

fn fdstat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw], flavor: Flavor) -> Ret {
    let (fd, ptr) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = ctx.entry(fd, 0)?;
        // An embedded node has no host flags: none are set.
        let fl = match e.embedded() {
            Some(_) => 0,
            None => cvt(unsafe { libc::fcntl(e.raw(), libc::F_GETFL) })?,
        };
        let mut flags = 0;
        if fl & libc::O_APPEND != 0 {
            flags |= fdflags::APPEND;
        }
        if fl & libc::O_NONBLOCK != 0 {
            flags |= fdflags::NONBLOCK;
        }
        // O_SYNC includes the O_DSYNC bit on Linux, and O_RSYNC equals O_SYNC.
        if fl & libc::O_SYNC == libc::O_SYNC {
            flags |= fdflags::SYNC;
        } else if fl & libc::O_DSYNC != 0 {
            flags |= fdflags::DSYNC;
        }
        let stat = types::encode_fdstat(
            e.filetype,
            flags,
            flavor.mask_rights(e.base()),
            flavor.mask_rights(e.inheriting()),
        );
        mem.write_bytes(ptr as u64, &stat)
    })
}

pub fn fd_fdstat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    fdstat_get(ctx, mem, a, Flavor::Preview1)
}

pub fn fd_fdstat_get_unstable(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    fdstat_get(ctx, mem, a, Flavor::Unstable)
}

pub fn fd_fdstat_set_flags(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, flags) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = ctx.entry(fd, rights::FD_FDSTAT_SET_FLAGS)?;
        // Stdio descriptors are shared with the host process (and its terminal): like
        // wasmtime, their flags are not the guest's to change.
        if matches!(e.host, HostFd::Borrowed(_)) {
            return Err(Errno::BADF);
        }
        // Nothing beneath a read-only embedded tree changes, its flags neither.
        if e.embedded().is_some() {
            return Err(Errno::PERM);
        }
        // Like wasmtime, only APPEND and NONBLOCK can change after opening.
        if flags & !(fdflags::APPEND | fdflags::NONBLOCK) as u32 != 0 {
            return Err(Errno::INVAL);
        }
        let old = cvt(unsafe { libc::fcntl(e.raw(), libc::F_GETFL) })?;
        let mut new = old & !(libc::O_APPEND | libc::O_NONBLOCK);
        if flags & fdflags::APPEND as u32 != 0 {
            new |= libc::O_APPEND;
        }
        if flags & fdflags::NONBLOCK as u32 != 0 {
            new |= libc::O_NONBLOCK;
        }
        cvt(unsafe { libc::fcntl(e.raw(), libc::F_SETFL, new) }).map(drop)
    })
}

pub fn fd_fdstat_set_rights(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, base, inheriting) = (a[0].as_u32(), a[1].as_u64(), a[2].as_u64());
    done(a, || {
        let e = ctx.fds.get(fd).ok_or(Errno::BADF)?;
        // Rights can only ever shrink.
        e.narrow_rights(base, inheriting)
    })
}

fn filestat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw], flavor: Flavor) -> Ret {
    let (fd, ptr) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = ctx.entry(fd, rights::FD_FILESTAT_GET)?;
        let mut st = match e.embedded() {
            Some(emb) => emb.filestat(),
            None => stat_to_filestat(&fstat(e.raw())?),
        };
        st.filetype = e.filetype;
        mem.write_bytes(ptr as u64, &st.encode(flavor))
    })
}

pub fn fd_filestat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    filestat_get(ctx, mem, a, Flavor::Preview1)
}

pub fn fd_filestat_get_unstable(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    filestat_get(ctx, mem, a, Flavor::Unstable)
}

pub fn fd_filestat_set_size(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, size) = (a[0].as_u32(), a[1].as_u64());
    done(a, || {
        let e = ctx.file(fd, rights::FD_FILESTAT_SET_SIZE)?;
        let size = i64::try_from(size).map_err(|_| Errno::INVAL)?;
        retry(|| unsafe { libc::ftruncate(e.raw(), size) }).map(drop)
    })
}

pub fn fd_filestat_set_times(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, atim, mtim, fst) = (a[0].as_u32(), a[1].as_u64(), a[2].as_u64(), a[3].as_u32());
    done(a, || {
        let e = ctx.entry(fd, rights::FD_FILESTAT_SET_TIMES)?;
        let times = timespecs(atim, mtim, fst)?;
        cvt(unsafe { libc::futimens(e.raw(), times.as_ptr()) }).map(drop)
    })
}

/// Which of the four data-transfer calls.
#[derive(Clone, Copy)]
enum Op {
    Read,
    Write,
    Pread(u64),
    Pwrite(u64),
}

/// Shared body of `fd_read`, `fd_write`, `fd_pread` and `fd_pwrite`.
fn transfer(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    op: Op,
    out_ptr: u32,
) -> Result<(), Errno> {
    let e = match op {
        Op::Read => ctx.entry(fd, rights::FD_READ)?,
        Op::Write => ctx.entry(fd, rights::FD_WRITE)?,
        Op::Pread(_) => ctx.file(fd, rights::FD_READ | rights::FD_SEEK)?,
        Op::Pwrite(_) => ctx.file(fd, rights::FD_WRITE | rights::FD_SEEK)?,
    };
    let ranges = mem.iovecs(iovs, iovs_len)?;
    mem.check(out_ptr, 4)?;
    let iov = mem.host_iovecs(&ranges);
    if let Some(emb) = e.embedded() {
        // Writing was refused by the rights check: an embedded file is only read.
        let at = match op {
            Op::Pread(o) => Some(o),
            _ => None,
        };
        let n = emb.read(&iov, at)?;
        return mem.write_u32(out_ptr as u64, n as u32);
    }
    let (raw, n) = (e.raw(), iov.len() as libc::c_int);
    let off = |o: u64| i64::try_from(o).map_err(|_| Errno::INVAL);
    // SAFETY: every iovec points into guest memory, bounds-checked above, and `mem` is
    // borrowed mutably for the duration of the call.
    let done = match op {
        Op::Read => retry(|| unsafe { libc::readv(raw, iov.as_ptr(), n) })?,
        Op::Write => retry(|| unsafe { libc::writev(raw, iov.as_ptr(), n) })?,
        Op::Pread(o) => {
            let o = off(o)?;
            retry(|| unsafe { libc::preadv(raw, iov.as_ptr(), n, o) })?
        }
        Op::Pwrite(o) => {
            let o = off(o)?;
            retry(|| unsafe { libc::pwritev(raw, iov.as_ptr(), n, o) })?
        }
    };
    mem.write_u32(out_ptr as u64, done as u32)
}

pub fn fd_read(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, len, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    done(a, || transfer(ctx, mem, fd, iovs, len, Op::Read, out))
}

pub fn fd_write(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, len, out) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    done(a, || transfer(ctx, mem, fd, iovs, len, Op::Write, out))
}

pub fn fd_pread(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    let (offset, out) = (a[3].as_u64(), a[4].as_u32());
    done(a, || {
        transfer(ctx, mem, fd, iovs, len, Op::Pread(offset), out)
    })
}

pub fn fd_pwrite(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, iovs, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    let (offset, out) = (a[3].as_u64(), a[4].as_u32());
    done(a, || {
        transfer(ctx, mem, fd, iovs, len, Op::Pwrite(offset), out)
    })
}

pub fn fd_prestat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = ctx.fds.get(fd).ok_or(Errno::BADF)?;
        let name = e.preopen.as_ref().ok_or(Errno::BADF)?;
        let len = u32::try_from(name.len()).map_err(|_| Errno::OVERFLOW)?;
        mem.write_bytes(ptr as u64, &types::encode_prestat(len))
    })
}

pub fn fd_prestat_dir_name(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let e = ctx.fds.get(fd).ok_or(Errno::BADF)?;
        // wasmtime answers ENOTDIR for a descriptor that is not a preopen.
        let name = e.preopen.as_ref().ok_or(Errno::NOTDIR)?;
        if name.len() > len as usize {
            return Err(Errno::NAMETOOLONG);
        }
        mem.write_bytes(ptr as u64, name)
    })
}

pub fn fd_readdir(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, buf, buf_len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    let (cookie, out) = (a[3].as_u64(), a[4].as_u32());
    done(a, || {
        let e = ctx.fds.get(fd).ok_or(Errno::BADF)?;
        if e.filetype != types::filetype::DIRECTORY {
            return Err(Errno::BADF);
        }
        ctx.entry(fd, rights::FD_READDIR)?;
        let dst = mem.range(buf, buf_len)?;
        mem.check(out, 4)?;
        if let Some(emb) = e.embedded() {
            let bytes = emb.readdir(cookie, dst.len())?;
            mem.write_bytes(buf as u64, &bytes)?;
            return mem.write_u32(out as u64, bytes.len() as u32);
        }
        // The stream stays open between calls, so that a listing is one pass.
        let mut stream = e.dir_stream.lock().unwrap_or_else(|p| p.into_inner());
        let stream = match stream.as_mut() {
            Some(s) => s,
            None => stream.insert(DirStream::open(e.raw())?),
        };
        let bytes = stream.read(cookie, dst.len())?;
        mem.write_bytes(buf as u64, &bytes)?;
        mem.write_u32(out as u64, bytes.len() as u32)
    })
}

pub fn fd_renumber(ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (from, to) = (a[0].as_u32(), a[1].as_u32());
    done(a, || ctx.fds.renumber(from, to))
}

fn seek(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw], flavor: Flavor) -> Ret {
    let (fd, offset, whence, out) = (a[0].as_u32(), a[1].as_i64(), a[2].as_u32(), a[3].as_u32());
    done(a, || {
        let whence = types::whence_to_libc(flavor, whence).ok_or(Errno::INVAL)?;
        // Asking for the current position only needs the weaker FD_TELL right.
        let need = if offset == 0 && whence == libc::SEEK_CUR {
            rights::FD_TELL
        } else {
            rights::FD_SEEK
        };
        let e = ctx.file(fd, need)?;
        mem.check(out, 8)?;
        let pos = match e.embedded() {
            Some(emb) => emb.seek(offset, whence)? as i64,
            None => cvt(unsafe { libc::lseek(e.raw(), offset, whence) })?,
        };
        mem.write_u64(out as u64, pos as u64)
    })
}

pub fn fd_seek(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    seek(ctx, mem, a, Flavor::Preview1)
}

pub fn fd_seek_unstable(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    seek(ctx, mem, a, Flavor::Unstable)
}

pub fn fd_tell(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, out) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let e = ctx.file(fd, rights::FD_TELL)?;
        mem.check(out, 8)?;
        let pos = match e.embedded() {
            Some(emb) => emb.seek(0, libc::SEEK_CUR)? as i64,
            None => cvt(unsafe { libc::lseek(e.raw(), 0, libc::SEEK_CUR) })?,
        };
        mem.write_u64(out as u64, pos as u64)
    })
}
