//! The WASI errno values and the one table mapping host (Linux) errors onto them.
//!
//! Errno numbering is identical in `wasi_snapshot_preview1` and `wasi_unstable`, so both module
//! flavors share this file. Every host error reaching the guest goes through [`Errno::from_raw`].

use std::io;

/// A WASI `errno` (a `u16` in the witx). `Errno::SUCCESS` is never used as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub u16);

impl Errno {
    pub const SUCCESS: Errno = Errno(0);
    pub const TOOBIG: Errno = Errno(1);
    pub const ACCES: Errno = Errno(2);
    pub const ADDRINUSE: Errno = Errno(3);
    pub const ADDRNOTAVAIL: Errno = Errno(4);
    pub const AFNOSUPPORT: Errno = Errno(5);
    pub const AGAIN: Errno = Errno(6);
    pub const ALREADY: Errno = Errno(7);
    pub const BADF: Errno = Errno(8);
    pub const BADMSG: Errno = Errno(9);
    pub const BUSY: Errno = Errno(10);
    pub const CANCELED: Errno = Errno(11);
    pub const CHILD: Errno = Errno(12);
    pub const CONNABORTED: Errno = Errno(13);
    pub const CONNREFUSED: Errno = Errno(14);
    pub const CONNRESET: Errno = Errno(15);
    pub const DEADLK: Errno = Errno(16);
    pub const DESTADDRREQ: Errno = Errno(17);
    pub const DOM: Errno = Errno(18);
    pub const DQUOT: Errno = Errno(19);
    pub const EXIST: Errno = Errno(20);
    pub const FAULT: Errno = Errno(21);
    pub const FBIG: Errno = Errno(22);
    pub const HOSTUNREACH: Errno = Errno(23);
    pub const IDRM: Errno = Errno(24);
    pub const ILSEQ: Errno = Errno(25);
    pub const INPROGRESS: Errno = Errno(26);
    pub const INTR: Errno = Errno(27);
    pub const INVAL: Errno = Errno(28);
    pub const IO: Errno = Errno(29);
    pub const ISCONN: Errno = Errno(30);
    pub const ISDIR: Errno = Errno(31);
    pub const LOOP: Errno = Errno(32);
    pub const MFILE: Errno = Errno(33);
    pub const MLINK: Errno = Errno(34);
    pub const MSGSIZE: Errno = Errno(35);
    pub const MULTIHOP: Errno = Errno(36);
    pub const NAMETOOLONG: Errno = Errno(37);
    pub const NETDOWN: Errno = Errno(38);
    pub const NETRESET: Errno = Errno(39);
    pub const NETUNREACH: Errno = Errno(40);
    pub const NFILE: Errno = Errno(41);
    pub const NOBUFS: Errno = Errno(42);
    pub const NODEV: Errno = Errno(43);
    pub const NOENT: Errno = Errno(44);
    pub const NOEXEC: Errno = Errno(45);
    pub const NOLCK: Errno = Errno(46);
    pub const NOLINK: Errno = Errno(47);
    pub const NOMEM: Errno = Errno(48);
    pub const NOMSG: Errno = Errno(49);
    pub const NOPROTOOPT: Errno = Errno(50);
    pub const NOSPC: Errno = Errno(51);
    pub const NOSYS: Errno = Errno(52);
    pub const NOTCONN: Errno = Errno(53);
    pub const NOTDIR: Errno = Errno(54);
    pub const NOTEMPTY: Errno = Errno(55);
    pub const NOTRECOVERABLE: Errno = Errno(56);
    pub const NOTSOCK: Errno = Errno(57);
    pub const NOTSUP: Errno = Errno(58);
    pub const NOTTY: Errno = Errno(59);
    pub const NXIO: Errno = Errno(60);
    pub const OVERFLOW: Errno = Errno(61);
    pub const OWNERDEAD: Errno = Errno(62);
    pub const PERM: Errno = Errno(63);
    pub const PIPE: Errno = Errno(64);
    pub const PROTO: Errno = Errno(65);
    pub const PROTONOSUPPORT: Errno = Errno(66);
    pub const PROTOTYPE: Errno = Errno(67);
    pub const RANGE: Errno = Errno(68);
    pub const ROFS: Errno = Errno(69);
    pub const SPIPE: Errno = Errno(70);
    pub const SRCH: Errno = Errno(71);
    pub const STALE: Errno = Errno(72);
    pub const TIMEDOUT: Errno = Errno(73);
    pub const TXTBSY: Errno = Errno(74);
    pub const XDEV: Errno = Errno(75);
    pub const NOTCAPABLE: Errno = Errno(76);

    /// What the guest gets when a path would leave its directory (`..` above the root, an
    /// absolute path, a symlink pointing out). wasmtime (cap-std) reports `EPERM`, so do we.
    pub const ESCAPE: Errno = Errno::PERM;

    /// Maps a raw Linux errno. Unknown values become `EIO` rather than leaking host numbers.
    pub fn from_raw(e: i32) -> Errno {
        use libc::*;
        let v = match e {
            0 => 0,
            E2BIG => 1,
            EACCES => 2,
            EADDRINUSE => 3,
            EADDRNOTAVAIL => 4,
            EAFNOSUPPORT => 5,
            EAGAIN => 6,
            EALREADY => 7,
            EBADF => 8,
            EBADMSG => 9,
            EBUSY => 10,
            ECANCELED => 11,
            ECHILD => 12,
            ECONNABORTED => 13,
            ECONNREFUSED => 14,
            ECONNRESET => 15,
            EDEADLK => 16,
            EDESTADDRREQ => 17,
            EDOM => 18,
            EDQUOT => 19,
            EEXIST => 20,
            EFAULT => 21,
            EFBIG => 22,
            EHOSTUNREACH => 23,
            EIDRM => 24,
            EILSEQ => 25,
            EINPROGRESS => 26,
            EINTR => 27,
            EINVAL => 28,
            EIO => 29,
            EISCONN => 30,
            EISDIR => 31,
            ELOOP => 32,
            EMFILE => 33,
            EMLINK => 34,
            EMSGSIZE => 35,
            EMULTIHOP => 36,
            ENAMETOOLONG => 37,
            ENETDOWN => 38,
            ENETRESET => 39,
            ENETUNREACH => 40,
            ENFILE => 41,
            ENOBUFS => 42,
            ENODEV => 43,
            ENOENT => 44,
            ENOEXEC => 45,
            ENOLCK => 46,
            ENOLINK => 47,
            ENOMEM => 48,
            ENOMSG => 49,
            ENOPROTOOPT => 50,
            ENOSPC => 51,
            ENOSYS => 52,
            ENOTCONN => 53,
            ENOTDIR => 54,
            ENOTEMPTY => 55,
            ENOTRECOVERABLE => 56,
            ENOTSOCK => 57,
            // ENOTSUP == EOPNOTSUPP on Linux.
            EOPNOTSUPP => 58,
            ENOTTY => 59,
            ENXIO => 60,
            EOVERFLOW => 61,
            EOWNERDEAD => 62,
            EPERM => 63,
            EPIPE => 64,
            EPROTO => 65,
            EPROTONOSUPPORT => 66,
            EPROTOTYPE => 67,
            ERANGE => 68,
            EROFS => 69,
            ESPIPE => 70,
            ESRCH => 71,
            ESTALE => 72,
            ETIMEDOUT => 73,
            ETXTBSY => 74,
            EXDEV => 75,
            _ => 29,
        };
        Errno(v)
    }

    /// The calling thread's `errno` after a failed libc call.
    pub fn last() -> Errno {
        Errno::from_raw(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        match e.raw_os_error() {
            Some(raw) => Errno::from_raw(raw),
            None => match e.kind() {
                io::ErrorKind::NotFound => Errno::NOENT,
                io::ErrorKind::PermissionDenied => Errno::ACCES,
                io::ErrorKind::InvalidInput => Errno::INVAL,
                io::ErrorKind::InvalidData => Errno::ILSEQ,
                io::ErrorKind::OutOfMemory => Errno::NOMEM,
                _ => Errno::IO,
            },
        }
    }
}

/// Turns a libc return value (`-1` = failure with `errno`) into a `Result`.
pub(crate) fn cvt<T: Default + PartialOrd + Copy>(ret: T) -> Result<T, Errno> {
    if ret < T::default() {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}
