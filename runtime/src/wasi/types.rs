//! Constants and struct layouts of the WASI witx, for both module flavors.
//!
//! `wasi_snapshot_preview1` and `wasi_unstable` (snapshot 0) agree on almost everything; the
//! differences (seek `whence` numbering, `filestat` with a `u32` nlink, the `subscription_clock`
//! with an extra `identifier`, no `sock_accept` right) are all expressed through [`Flavor`] here,
//! so the syscall code never hardcodes an offset.

/// Which of the two WASI module names a call came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `wasi_snapshot_preview1`.
    Preview1,
    /// `wasi_unstable`, a.k.a. snapshot 0.
    Unstable,
}

pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    /// Preview 1 only; snapshot 0 has 29 rights.
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Every right snapshot 0 knows.
    pub const ALL_UNSTABLE: u64 = (1 << 29) - 1;

    /// Rights a regular file can ever have.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// Rights a directory can ever have.
    pub const DIR: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_DATASYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;

    /// What a directory may pass on to descriptors opened through it.
    pub const DIR_INHERITING: u64 = DIR | FILE;

    /// Rights that change something: file contents, sizes or times, or what a directory
    /// holds. A read-only grant withholds exactly these from everything reached through it.
    pub const MUTATING: u64 = FD_WRITE
        | FD_ALLOCATE
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;

    /// Character devices and FIFOs opened beneath a grant. Seek/tell are granted so that
    /// `lseek` on them fails with the host's `ESPIPE`, as on wasmtime, not `ENOTCAPABLE`.
    pub const STREAM: u64 = FD_READ
        | FD_WRITE
        | FD_SEEK
        | FD_TELL
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | FD_SYNC
        | FD_DATASYNC
        | POLL_FD_READWRITE;

    /// Stdin, whatever the host descriptor is (file, terminal, pipe, directory): a stream to
    /// read, as on wasmtime. No seek/tell (wasi-libc's `isatty` needs their absence on a
    /// terminal, and a stdio file's offset is shared with the host), nothing that changes the
    /// host object.
    pub const STDIN: u64 = FD_READ | FD_FILESTAT_GET | POLL_FD_READWRITE;

    /// Stdout and stderr: a stream to write (appending, if the host opened it so).
    pub const STDOUT: u64 = FD_WRITE | FD_FILESTAT_GET | POLL_FD_READWRITE;

    pub const SOCKET: u64 = FD_READ
        | FD_WRITE
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE
        | SOCK_SHUTDOWN
        | SOCK_ACCEPT;
}

pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = (1 << 5) - 1;
}

pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = (1 << 4) - 1;
}

pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
    pub const ALL: u16 = (1 << 4) - 1;
}

pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

pub const EVENTRWFLAGS_HANGUP: u16 = 1;
pub const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
pub const RIFLAGS_RECV_PEEK: u16 = 1;
pub const RIFLAGS_RECV_WAITALL: u16 = 2;
pub const ROFLAGS_RECV_DATA_TRUNCATED: u16 = 1;
pub const SDFLAGS_RD: u8 = 1;
pub const SDFLAGS_WR: u8 = 2;
pub const PREOPENTYPE_DIR: u8 = 0;

/// `whence` of `fd_seek`: the two flavors number the same three values differently.
pub fn whence_to_libc(flavor: Flavor, whence: u32) -> Option<i32> {
    match (flavor, whence) {
        (Flavor::Preview1, 0) | (Flavor::Unstable, 2) => Some(libc::SEEK_SET),
        (Flavor::Preview1, 1) | (Flavor::Unstable, 0) => Some(libc::SEEK_CUR),
        (Flavor::Preview1, 2) | (Flavor::Unstable, 1) => Some(libc::SEEK_END),
        _ => None,
    }
}

/// `dirent`: `d_next: u64 @0, d_ino: u64 @8, d_namlen: u32 @16, d_type: u8 @20`, 24 bytes (both
/// flavors), followed by the name.
pub const DIRENT_SIZE: usize = 24;

pub fn encode_dirent(next: u64, ino: u64, namlen: u32, ty: u8) -> [u8; DIRENT_SIZE] {
    let mut b = [0u8; DIRENT_SIZE];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = ty;
    b
}

/// A `filestat` before encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    /// Preview 1: `dev@0 ino@8 filetype@16 nlink:u64@24 size@32 atim@40 mtim@48 ctim@56` (64
    /// bytes). Snapshot 0: `dev@0 ino@8 filetype@16 nlink:u32@20 size@24 atim@32 mtim@40
    /// ctim@48` (56 bytes).
    pub fn encode(&self, flavor: Flavor) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&self.dev.to_le_bytes());
        b.extend_from_slice(&self.ino.to_le_bytes());
        b.push(self.filetype);
        match flavor {
            Flavor::Preview1 => {
                b.extend_from_slice(&[0; 7]);
                b.extend_from_slice(&self.nlink.to_le_bytes());
            }
            Flavor::Unstable => {
                b.extend_from_slice(&[0; 3]);
                b.extend_from_slice(&(self.nlink.min(u32::MAX as u64) as u32).to_le_bytes());
            }
        }
        for v in [self.size, self.atim, self.mtim, self.ctim] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }
}

/// `fdstat`: `fs_filetype: u8 @0, fs_flags: u16 @2, fs_rights_base @8, fs_rights_inheriting
/// @16`, 24 bytes (both flavors).
pub fn encode_fdstat(filetype: u8, flags: u16, base: u64, inheriting: u64) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[0] = filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&base.to_le_bytes());
    b[16..24].copy_from_slice(&inheriting.to_le_bytes());
    b
}

/// `subscription` layout: `userdata: u64 @0, tag: u8 @8`, then the union at 16.
pub struct SubscriptionLayout {
    pub size: u32,
    pub clock_id: u64,
    pub clock_timeout: u64,
    pub clock_flags: u64,
    pub fd: u64,
}

impl Flavor {
    /// Preview 1's `subscription_clock` is `id@16 timeout@24 precision@32 flags@40` (48 bytes
    /// in all); snapshot 0 puts a `u64 identifier` first: `id@24 timeout@32 precision@40
    /// flags@48` (56 bytes). `subscription_fd_readwrite` is `fd@16` in both.
    pub fn subscription(self) -> SubscriptionLayout {
        match self {
            Flavor::Preview1 => SubscriptionLayout {
                size: 48,
                clock_id: 16,
                clock_timeout: 24,
                clock_flags: 40,
                fd: 16,
            },
            Flavor::Unstable => SubscriptionLayout {
                size: 56,
                clock_id: 24,
                clock_timeout: 32,
                clock_flags: 48,
                fd: 16,
            },
        }
    }

    /// Rights as this flavor can express them.
    pub fn mask_rights(self, r: u64) -> u64 {
        match self {
            Flavor::Preview1 => r,
            Flavor::Unstable => r & rights::ALL_UNSTABLE,
        }
    }
}

/// `event`: `userdata: u64 @0, error: u16 @8, type: u8 @10, fd_readwrite.nbytes: u64 @16,
/// fd_readwrite.flags: u16 @24`, 32 bytes (both flavors).
pub const EVENT_SIZE: u32 = 32;

pub fn encode_event(userdata: u64, error: u16, ty: u8, nbytes: u64, flags: u16) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&userdata.to_le_bytes());
    b[8..10].copy_from_slice(&error.to_le_bytes());
    b[10] = ty;
    b[16..24].copy_from_slice(&nbytes.to_le_bytes());
    b[24..26].copy_from_slice(&flags.to_le_bytes());
    b
}

/// `prestat`: `tag: u8 @0, pr_name_len: u32 @4`, 8 bytes.
pub fn encode_prestat(name_len: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = PREOPENTYPE_DIR;
    b[4..8].copy_from_slice(&name_len.to_le_bytes());
    b
}
