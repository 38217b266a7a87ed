//! Host-call helpers shared by the syscall files: the `EINTR` retry loop and the check of a
//! pending interrupt, `stat` and its conversion to a WASI filestat, and WASI timestamps to
//! `timespec`s.

use super::ctx::mode_filetype;
use super::errno::{cvt, Errno};
use super::types::{fstflags, Filestat};
use std::ffi::CStr;
use std::os::fd::RawFd;

/// Runs a host call, retrying on `EINTR` (a signal aimed at the host must not surface as a
/// spurious guest error) unless the guest's time is up (see [`interrupted`]).
pub(crate) fn retry<T: Default + PartialOrd + Copy>(mut f: impl FnMut() -> T) -> Result<T, Errno> {
    loop {
        match cvt(f()) {
            Err(Errno::INTR) => interrupted()?,
            r => return r,
        }
    }
}

/// `Err(EINTR)` when the watchdog guarding this thread has expired: the call gives up, and
/// the WASI layer turns that into the "interrupted" trap before the guest could see the errno
/// (`exec/linking.rs`). Blocking or long-running host code calls it after every `EINTR` and
/// every round of work.
pub(crate) fn interrupted() -> Result<(), Errno> {
    if crate::traps::interrupt::pending() {
        Err(Errno::INTR)
    } else {
        Ok(())
    }
}

pub(crate) fn timestamp(sec: i64, nsec: i64) -> u64 {
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

pub(crate) fn stat_to_filestat(st: &libc::stat) -> Filestat {
    Filestat {
        dev: st.st_dev,
        ino: st.st_ino,
        filetype: mode_filetype(st.st_mode & libc::S_IFMT),
        nlink: st.st_nlink,
        size: st.st_size as u64,
        atim: timestamp(st.st_atime, st.st_atime_nsec),
        mtim: timestamp(st.st_mtime, st.st_mtime_nsec),
        ctim: timestamp(st.st_ctime, st.st_ctime_nsec),
    }
}

pub(crate) fn fstatat(dir: RawFd, name: &CStr, flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: zeroed stat is valid; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

pub(crate) fn fstat(fd: RawFd) -> Result<libc::stat, Errno> {
    fstatat(fd, c"", libc::AT_EMPTY_PATH)
}

/// The `timespec` pair of `utimensat`/`futimens` for WASI timestamps and `fstflags`.
pub(crate) fn timespecs(atim: u64, mtim: u64, fst: u32) -> Result<[libc::timespec; 2], Errno> {
    if fst & !(fstflags::ALL as u32) != 0 {
        return Err(Errno::INVAL);
    }
    let one = |ts: u64, set: u16, now: u16| {
        let (set, now) = (fst & set as u32 != 0, fst & now as u32 != 0);
        match (set, now) {
            (true, true) => Err(Errno::INVAL),
            (false, true) => Ok(libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            }),
            (false, false) => Ok(libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            }),
            (true, false) => Ok(libc::timespec {
                tv_sec: (ts / 1_000_000_000) as libc::time_t,
                tv_nsec: (ts % 1_000_000_000) as libc::c_long,
            }),
        }
    };
    Ok([
        one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ])
}
