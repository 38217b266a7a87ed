//! The `path_*` functions: operations on a path relative to a directory descriptor.
//!
//! Same shape as `fd.rs`: decode, look the directory up with the rights needed, read the guest
//! path, resolve it with `sandbox.rs` (never any other way), act with an `*at` call that does
//! not follow the final component, map the errno. A trailing `/` means "must be a directory"
//! and, for calls that look at an existing object, "follow a final symlink", as in POSIX.

use super::ctx::{DirAccess, FdEntry, WasiCtx};
use super::embedded;
use super::errno::{cvt, Errno};
use super::host::{fstatat, retry, stat_to_filestat, timespecs};
use super::memory::GuestMemory;
use super::sandbox::{self, Parent};
use super::types::{fdflags, lookupflags, oflags, rights, Flavor};
use super::{done, WasiExit};
use std::ffi::CString;
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

/// Copies a guest path out of memory. WASI paths are UTF-8 strings (`EILSEQ` otherwise).
fn guest_path(mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let bytes = mem.string(ptr, len)?;
    std::str::from_utf8(&bytes).map_err(|_| Errno::ILSEQ)?;
    Ok(bytes)
}

fn follows(flags: u32, path: &[u8]) -> bool {
    flags & lookupflags::SYMLINK_FOLLOW != 0 || path.ends_with(b"/")
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// For a creating call given `name/`: the object cannot be created (there is no directory to
/// create), so report what POSIX does: `EEXIST` if something is there, else `ENOENT`.
fn trailing_slash_on_create(p: &Parent<'_>) -> Errno {
    match fstatat(p.dir.raw(), &p.name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(_) => Errno::EXIST,
        Err(_) => Errno::NOENT,
    }
}

pub fn path_open(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (dirfd, dirflags, ptr, len, oflags) = (
        a[0].as_u32(),
        a[1].as_u32(),
        a[2].as_u32(),
        a[3].as_u32(),
        a[4].as_u32(),
    );
    // The requested inheriting rights are ignored, as on wasmtime.
    let (base, fdflags, out) = (a[5].as_u64(), a[7].as_u32(), a[8].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        mem.check(out, 4)?;
        if oflags & !(oflags::ALL as u32) != 0 || fdflags & !(fdflags::ALL as u32) != 0 {
            return Err(Errno::INVAL);
        }
        let has = |f: u16| oflags & f as u32 != 0;
        if has(oflags::DIRECTORY) && (has(oflags::CREAT) || has(oflags::EXCL) || has(oflags::TRUNC))
        {
            return Err(Errno::INVAL);
        }
        let mut need = rights::PATH_OPEN;
        if has(oflags::CREAT) {
            need |= rights::PATH_CREATE_FILE;
        }
        if has(oflags::TRUNC) {
            need |= rights::PATH_FILESTAT_SET_SIZE;
        }
        let dir = ctx.dir(dirfd, need)?;
        // The requested rights only say how to open on the host, as on wasmtime: for writing
        // if they hold FD_WRITE or the call creates or truncates, for reading if they hold
        // FD_READ or it is not opened for writing. What the descriptor may then do follows
        // from that and the grant (`FdEntry::opened`), so a program asking for no rights at
        // all (wasmtime's own tests do) gets a working descriptor.
        let write = base & rights::FD_WRITE != 0 || has(oflags::CREAT) || has(oflags::TRUNC);
        let read = base & rights::FD_READ != 0 || !write;
        if write && dir.access == DirAccess::ReadOnly {
            return Err(Errno::PERM);
        }
        // A directory whose inheriting rights the guest narrowed hands down no more.
        let mode =
            (if read { rights::FD_READ } else { 0 }) | (if write { rights::FD_WRITE } else { 0 });
        if mode & !dir.inheriting() != 0 {
            return Err(Errno::NOTCAPABLE);
        }
        if let Some(emb) = dir.embedded() {
            let follow = dirflags & lookupflags::SYMLINK_FOLLOW != 0;
            let entry = embedded::open(&dir, emb, &path, follow, has(oflags::DIRECTORY))?;
            let new = ctx.fds.push(entry)?;
            return mem.write_u32(out as u64, new);
        }
        let mut flags = libc::O_NOCTTY
            | match (read, write) {
                (_, false) => libc::O_RDONLY,
                (false, true) => libc::O_WRONLY,
                (true, true) => libc::O_RDWR,
            };
        for (w, l) in [
            (oflags::CREAT, libc::O_CREAT),
            (oflags::DIRECTORY, libc::O_DIRECTORY),
            (oflags::EXCL, libc::O_EXCL),
            (oflags::TRUNC, libc::O_TRUNC),
        ] {
            if has(w) {
                flags |= l;
            }
        }
        for (w, l) in [
            (fdflags::APPEND, libc::O_APPEND),
            (fdflags::DSYNC, libc::O_DSYNC),
            (fdflags::NONBLOCK, libc::O_NONBLOCK),
            (fdflags::RSYNC, libc::O_RSYNC),
            (fdflags::SYNC, libc::O_SYNC),
        ] {
            if fdflags & w as u32 != 0 {
                flags |= l;
            }
        }
        if dirflags & lookupflags::SYMLINK_FOLLOW == 0 {
            flags |= libc::O_NOFOLLOW;
        }
        // Opening a directory for writing is the host's EISDIR, as in POSIX and on wasmtime.
        let fd = sandbox::open_beneath(dir.fd(), &path, flags, 0o666)?;
        let entry = FdEntry::opened(fd, &dir, read, write);
        let new = ctx.fds.push(entry)?;
        mem.write_u32(out as u64, new)
    })
}

pub fn path_create_directory(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        let dir = ctx.dir(fd, rights::PATH_CREATE_DIRECTORY)?;
        let p = sandbox::open_parent(dir.fd(), &path, false)?;
        cvt(unsafe { libc::mkdirat(p.dir.raw(), p.name.as_ptr(), 0o777) }).map(drop)
    })
}

fn filestat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw], flavor: Flavor) -> Ret {
    let (fd, flags, ptr, len, out) = (
        a[0].as_u32(),
        a[1].as_u32(),
        a[2].as_u32(),
        a[3].as_u32(),
        a[4].as_u32(),
    );
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        let dir = ctx.dir(fd, rights::PATH_FILESTAT_GET)?;
        if let Some(emb) = dir.embedded() {
            let st = embedded::path_filestat(emb, &path, follows(flags, &path))?;
            return mem.write_bytes(out as u64, &st.encode(flavor));
        }
        let p = sandbox::open_parent(dir.fd(), &path, follows(flags, &path))?;
        let st = fstatat(p.dir.raw(), &p.name, libc::AT_SYMLINK_NOFOLLOW)?;
        if p.trailing_slash && !is_dir(&st) {
            return Err(Errno::NOTDIR);
        }
        mem.write_bytes(out as u64, &stat_to_filestat(&st).encode(flavor))
    })
}

pub fn path_filestat_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    filestat_get(ctx, mem, a, Flavor::Preview1)
}

pub fn path_filestat_get_unstable(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &mut [ValRaw],
) -> Ret {
    filestat_get(ctx, mem, a, Flavor::Unstable)
}

pub fn path_filestat_set_times(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, flags, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    let (atim, mtim, fst) = (a[4].as_u64(), a[5].as_u64(), a[6].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        let dir = ctx.dir(fd, rights::PATH_FILESTAT_SET_TIMES)?;
        let times = timespecs(atim, mtim, fst)?;
        let p = sandbox::open_parent(dir.fd(), &path, follows(flags, &path))?;
        let flags = libc::AT_SYMLINK_NOFOLLOW;
        cvt(unsafe { libc::utimensat(p.dir.raw(), p.name.as_ptr(), times.as_ptr(), flags) })
            .map(drop)
    })
}

pub fn path_link(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (old_fd, old_flags, old_ptr, old_len) =
        (a[0].as_u32(), a[1].as_u32(), a[2].as_u32(), a[3].as_u32());
    let (new_fd, new_ptr, new_len) = (a[4].as_u32(), a[5].as_u32(), a[6].as_u32());
    done(a, || {
        let old = guest_path(mem, old_ptr, old_len)?;
        let new = guest_path(mem, new_ptr, new_len)?;
        let src_dir = ctx.dir(old_fd, rights::PATH_LINK_SOURCE)?;
        let dst_dir = ctx.dir(new_fd, rights::PATH_LINK_TARGET)?;
        let src = sandbox::open_parent(src_dir.fd(), &old, follows(old_flags, &old))?;
        let dst = sandbox::open_parent(dst_dir.fd(), &new, false)?;
        if src.trailing_slash
            && !is_dir(&fstatat(
                src.dir.raw(),
                &src.name,
                libc::AT_SYMLINK_NOFOLLOW,
            )?)
        {
            return Err(Errno::NOTDIR);
        }
        if dst.trailing_slash {
            return Err(trailing_slash_on_create(&dst));
        }
        // Flags 0: linkat never follows the source, whose symlinks we expanded ourselves.
        cvt(unsafe {
            libc::linkat(
                src.dir.raw(),
                src.name.as_ptr(),
                dst.dir.raw(),
                dst.name.as_ptr(),
                0,
            )
        })
        .map(drop)
    })
}

pub fn path_readlink(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    let (buf, buf_len, out) = (a[3].as_u32(), a[4].as_u32(), a[5].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        mem.check(buf, buf_len)?;
        mem.check(out, 4)?;
        let dir = ctx.dir(fd, rights::PATH_READLINK)?;
        let mut target = match dir.embedded() {
            Some(emb) => embedded::path_readlink(emb, &path)?.to_vec(),
            None => {
                let p = sandbox::open_parent(dir.fd(), &path, follows(0, &path))?;
                sandbox::read_link(p.dir.raw(), &p.name)?
            }
        };
        // Like readlink(2) and wasmtime: silently truncated to the buffer.
        target.truncate(buf_len as usize);
        mem.write_bytes(buf as u64, &target)?;
        mem.write_u32(out as u64, target.len() as u32)
    })
}

pub fn path_remove_directory(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        let dir = ctx.dir(fd, rights::PATH_REMOVE_DIRECTORY)?;
        let p = sandbox::open_parent(dir.fd(), &path, false)?;
        cvt(unsafe { libc::unlinkat(p.dir.raw(), p.name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    })
}

pub fn path_rename(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (old_fd, old_ptr, old_len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    let (new_fd, new_ptr, new_len) = (a[3].as_u32(), a[4].as_u32(), a[5].as_u32());
    done(a, || {
        let old = guest_path(mem, old_ptr, old_len)?;
        let new = guest_path(mem, new_ptr, new_len)?;
        let src_dir = ctx.dir(old_fd, rights::PATH_RENAME_SOURCE)?;
        let dst_dir = ctx.dir(new_fd, rights::PATH_RENAME_TARGET)?;
        let src = sandbox::open_parent(src_dir.fd(), &old, false)?;
        let dst = sandbox::open_parent(dst_dir.fd(), &new, false)?;
        if (src.trailing_slash || dst.trailing_slash)
            && !is_dir(&fstatat(
                src.dir.raw(),
                &src.name,
                libc::AT_SYMLINK_NOFOLLOW,
            )?)
        {
            return Err(Errno::NOTDIR);
        }
        cvt(unsafe {
            libc::renameat(
                src.dir.raw(),
                src.name.as_ptr(),
                dst.dir.raw(),
                dst.name.as_ptr(),
            )
        })
        .map(drop)
    })
}

pub fn path_symlink(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (old_ptr, old_len, fd, new_ptr, new_len) = (
        a[0].as_u32(),
        a[1].as_u32(),
        a[2].as_u32(),
        a[3].as_u32(),
        a[4].as_u32(),
    );
    done(a, || {
        let target = guest_path(mem, old_ptr, old_len)?;
        let new = guest_path(mem, new_ptr, new_len)?;
        let dir = ctx.dir(fd, rights::PATH_SYMLINK)?;
        let dst = sandbox::open_parent(dir.fd(), &new, false)?;
        if dst.trailing_slash {
            return Err(trailing_slash_on_create(&dst));
        }
        // The sandbox never follows a link out, but host tools would: no links pointing out.
        sandbox::check_symlink_target(&target, dst.dir.raw(), dir.grant_root)?;
        let target = CString::new(target).map_err(|_| Errno::INVAL)?;
        cvt(unsafe { libc::symlinkat(target.as_ptr(), dst.dir.raw(), dst.name.as_ptr()) }).map(drop)
    })
}

pub fn path_unlink_file(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (fd, ptr, len) = (a[0].as_u32(), a[1].as_u32(), a[2].as_u32());
    done(a, || {
        let path = guest_path(mem, ptr, len)?;
        let dir = ctx.dir(fd, rights::PATH_UNLINK_FILE)?;
        let p = sandbox::open_parent(dir.fd(), &path, false)?;
        if p.trailing_slash {
            let st = fstatat(p.dir.raw(), &p.name, libc::AT_SYMLINK_NOFOLLOW)?;
            return Err(if is_dir(&st) {
                Errno::ISDIR
            } else {
                Errno::NOTDIR
            });
        }
        retry(|| unsafe { libc::unlinkat(p.dir.raw(), p.name.as_ptr(), 0) }).map(drop)
    })
}
