//! The WASI errno values and the one table mapping host (Linux) errors onto them.
//!
//! Errno numbering is identical in `wasi_snapshot_preview1` and `wasi_unstable`, so both module
//! flavors share this file. Every host error reaching the guest goes through [`Errno::from_raw`].
//!
//! Each errno is one line of the `errnos!` invocation below: its name, its WASI number and the
//! Linux errno that maps onto it. The constants, [`Errno::name`] and [`Errno::from_raw`] are
//! generated from that line, so a number cannot differ between them.

use std::io;

/// A WASI `errno` (a `u16` in the witx). `Errno::SUCCESS` is never used as an error.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub u16);

/// Defines the errno constants from one line per errno: `NAME = number [as "WITX NAME"] [,
/// LINUX_ERRNO];` (the witx name, upper-cased, is the constant's unless given: `2BIG` is no
/// identifier). Rows without a Linux errno are WASI's own.
macro_rules! errnos {
    ($( $(#[$doc:meta])* $c:ident = $n:literal $(as $witx:literal)? $(, $host:ident)?; )*) => {
        impl Errno {
            $( $(#[$doc])* pub const $c: Errno = Errno($n); )*

            /// The errno's C name (`"ENOENT"`, `"E2BIG"`), as wasi-libc spells it; `None` for a
            /// number WASI does not define.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $n => Some(concat!("E", errnos!(@witx $c $(, $witx)?))), )*
                    _ => None,
                }
            }

            /// Maps a raw Linux errno. Unknown values become `EIO` rather than leaking host
            /// numbers, and so does 0 (a failure that left no errno is no success).
            pub fn from_raw(e: i32) -> Errno {
                match e {
                    $( $( libc::$host => Errno::$c, )? )*
                    _ => Errno::IO,
                }
            }
        }

        /// Every row of the table: the errno, its witx name, its Linux errno.
        #[cfg(test)]
        const TABLE: &[(Errno, &str, Option<i32>)] = &[
            $( (Errno::$c, errnos!(@witx $c $(, $witx)?), errnos!(@host $($host)?)), )*
        ];
    };
    (@witx $c:ident) => { stringify!($c) };
    (@witx $c:ident, $witx:literal) => { $witx };
    (@host) => { None };
    (@host $host:ident) => { Some(libc::$host) };
}

errnos! {
    /// Never an error: a host errno of 0 on a failure maps to `IO`.
    SUCCESS = 0;
    TOOBIG = 1 as "2BIG", E2BIG;
    ACCES = 2, EACCES;
    ADDRINUSE = 3, EADDRINUSE;
    ADDRNOTAVAIL = 4, EADDRNOTAVAIL;
    AFNOSUPPORT = 5, EAFNOSUPPORT;
    AGAIN = 6, EAGAIN;
    ALREADY = 7, EALREADY;
    BADF = 8, EBADF;
    BADMSG = 9, EBADMSG;
    BUSY = 10, EBUSY;
    CANCELED = 11, ECANCELED;
    CHILD = 12, ECHILD;
    CONNABORTED = 13, ECONNABORTED;
    CONNREFUSED = 14, ECONNREFUSED;
    CONNRESET = 15, ECONNRESET;
    DEADLK = 16, EDEADLK;
    DESTADDRREQ = 17, EDESTADDRREQ;
    DOM = 18, EDOM;
    DQUOT = 19, EDQUOT;
    EXIST = 20, EEXIST;
    FAULT = 21, EFAULT;
    FBIG = 22, EFBIG;
    HOSTUNREACH = 23, EHOSTUNREACH;
    IDRM = 24, EIDRM;
    ILSEQ = 25, EILSEQ;
    INPROGRESS = 26, EINPROGRESS;
    INTR = 27, EINTR;
    INVAL = 28, EINVAL;
    IO = 29, EIO;
    ISCONN = 30, EISCONN;
    ISDIR = 31, EISDIR;
    LOOP = 32, ELOOP;
    MFILE = 33, EMFILE;
    MLINK = 34, EMLINK;
    MSGSIZE = 35, EMSGSIZE;
    MULTIHOP = 36, EMULTIHOP;
    NAMETOOLONG = 37, ENAMETOOLONG;
    NETDOWN = 38, ENETDOWN;
    NETRESET = 39, ENETRESET;
    NETUNREACH = 40, ENETUNREACH;
    NFILE = 41, ENFILE;
    NOBUFS = 42, ENOBUFS;
    NODEV = 43, ENODEV;
    NOENT = 44, ENOENT;
    NOEXEC = 45, ENOEXEC;
    NOLCK = 46, ENOLCK;
    NOLINK = 47, ENOLINK;
    NOMEM = 48, ENOMEM;
    NOMSG = 49, ENOMSG;
    NOPROTOOPT = 50, ENOPROTOOPT;
    NOSPC = 51, ENOSPC;
    NOSYS = 52, ENOSYS;
    NOTCONN = 53, ENOTCONN;
    NOTDIR = 54, ENOTDIR;
    NOTEMPTY = 55, ENOTEMPTY;
    NOTRECOVERABLE = 56, ENOTRECOVERABLE;
    NOTSOCK = 57, ENOTSOCK;
    // ENOTSUP == EOPNOTSUPP on Linux.
    NOTSUP = 58, EOPNOTSUPP;
    NOTTY = 59, ENOTTY;
    NXIO = 60, ENXIO;
    OVERFLOW = 61, EOVERFLOW;
    OWNERDEAD = 62, EOWNERDEAD;
    PERM = 63, EPERM;
    PIPE = 64, EPIPE;
    PROTO = 65, EPROTO;
    PROTONOSUPPORT = 66, EPROTONOSUPPORT;
    PROTOTYPE = 67, EPROTOTYPE;
    RANGE = 68, ERANGE;
    ROFS = 69, EROFS;
    SPIPE = 70, ESPIPE;
    SRCH = 71, ESRCH;
    STALE = 72, ESTALE;
    TIMEDOUT = 73, ETIMEDOUT;
    TXTBSY = 74, ETXTBSY;
    XDEV = 75, EXDEV;
    /// WASI's own: the descriptor lacks a right the call needs. No host error maps to it.
    NOTCAPABLE = 76;
}

impl Errno {
    /// What the guest gets when a path would leave its directory (`..` above the root, an
    /// absolute path, a symlink pointing out). wasmtime (cap-std) reports `EPERM`, so do we.
    pub const ESCAPE: Errno = Errno::PERM;

    /// The calling thread's `errno` after a failed libc call.
    pub fn last() -> Errno {
        Errno::from_raw(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

/// `ENOENT(44)`: failing assertions name the errno, not just its number.
impl std::fmt::Debug for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "Errno({})", self.0),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// wasi-libc's `wasi/api.h` is generated from the witx: the authority on errno numbers.
    const WASI_LIBC_API: &str = "/usr/include/wasm32-wasi/wasi/api.h";

    #[test]
    fn errno_names_and_numbers_are_those_of_wasi_libc() {
        let header = std::fs::read_to_string(WASI_LIBC_API).unwrap_or_else(|e| {
            panic!(
                "MISSING TOOL: cannot read {WASI_LIBC_API} ({e}): install wasi-libc \
                 (bash scripts/install-deps.sh)"
            )
        });
        // `#define __WASI_ERRNO_NOENT (UINT16_C(44))`
        let theirs: Vec<(String, u16)> = header
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("#define __WASI_ERRNO_")?;
                let (name, value) = rest.split_once(' ')?;
                let n = value
                    .trim()
                    .strip_prefix("(UINT16_C(")?
                    .strip_suffix("))")?;
                Some((name.to_string(), n.parse().unwrap()))
            })
            .collect();
        assert!(theirs.len() > 70, "no errnos found in {WASI_LIBC_API}");
        let ours: Vec<(String, u16)> = TABLE
            .iter()
            .map(|(e, witx, _)| (witx.to_string(), e.0))
            .collect();
        assert_eq!(ours, theirs);
        for (e, witx, _) in TABLE {
            assert_eq!(e.name(), Some(format!("E{witx}").as_str()));
        }
    }

    #[test]
    fn every_host_errno_maps_onto_its_own_row() {
        let mut hosts = std::collections::HashSet::new();
        for (e, _, host) in TABLE {
            if let Some(h) = host {
                assert!(hosts.insert(*h), "{e:?}: host errno {h} is in two rows");
                assert_eq!(Errno::from_raw(*h), *e);
            }
        }
        // Linux aliases land on the row of the errno they alias.
        assert_eq!(Errno::from_raw(libc::EWOULDBLOCK), Errno::AGAIN);
        assert_eq!(Errno::from_raw(libc::ENOTSUP), Errno::NOTSUP);
        assert_eq!(Errno::from_raw(libc::EDEADLOCK), Errno::DEADLK);
    }

    #[test]
    fn host_errnos_without_a_row_and_zero_become_eio() {
        for raw in [0, libc::ERFKILL, libc::EHWPOISON, -1, 4096] {
            assert_eq!(Errno::from_raw(raw), Errno::IO, "{raw}");
        }
    }

    #[test]
    fn errnos_debug_print_their_names() {
        assert_eq!(format!("{:?}", Errno::NOENT), "ENOENT(44)");
        assert_eq!(format!("{:?}", Errno::TOOBIG), "E2BIG(1)");
        assert_eq!(format!("{:?}", Errno(500)), "Errno(500)");
    }
}
