//! The per-instance WASI state: arguments, environment and the descriptor table, plus the
//! builder the embedder configures it with.
//!
//! Guest descriptors are numbers in our own table, never host numbers: 0–2 are the configured
//! stdio host descriptors (borrowed, never closed by us), 3.. the preopened directories in the
//! order they were added, then whatever the guest opens. Each entry carries WASI rights; the
//! lookup helpers here are the single place where rights are checked.

use super::errno::{cvt, Errno};
use super::types::{filetype, rights};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Errors configuring a [`WasiCtx`].
#[derive(Debug, thiserror::Error)]
pub enum WasiError {
    #[error("cannot preopen directory {path}: {source}")]
    Preopen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} contains a NUL byte")]
    Nul(String),
    #[error("environment variable name {0:?} is empty or contains '='")]
    EnvName(String),
}

/// The host descriptor behind a guest descriptor.
#[derive(Debug)]
pub(crate) enum HostFd {
    /// Opened by us; closed when the entry goes away.
    Owned(OwnedFd),
    /// Stdio supplied by the embedder; stays open when the guest closes it.
    Borrowed(RawFd),
}

#[derive(Debug)]
pub(crate) struct FdEntry {
    pub host: HostFd,
    pub filetype: u8,
    pub base: u64,
    pub inheriting: u64,
    /// Guest-visible name of a preopened directory.
    pub preopen: Option<Vec<u8>>,
}

impl FdEntry {
    pub fn raw(&self) -> RawFd {
        match &self.host {
            HostFd::Owned(fd) => fd.as_raw_fd(),
            HostFd::Borrowed(fd) => *fd,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open as long as the entry (owned) or the embedder
        // guarantees it (borrowed stdio).
        unsafe { BorrowedFd::borrow_raw(self.raw()) }
    }

    /// Builds an entry for a host descriptor, with every right its type allows (intersected
    /// with `base`/`inheriting`).
    pub fn new(host: HostFd, base: u64, inheriting: u64) -> FdEntry {
        let ft = host_filetype(match &host {
            HostFd::Owned(fd) => fd.as_raw_fd(),
            HostFd::Borrowed(fd) => *fd,
        });
        let (max_base, max_inh) = max_rights(ft);
        FdEntry {
            host,
            filetype: ft,
            base: base & max_base,
            inheriting: inheriting & max_inh,
            preopen: None,
        }
    }
}

/// The most a descriptor of type `ft` can do: (base, inheriting).
pub(crate) fn max_rights(ft: u8) -> (u64, u64) {
    match ft {
        filetype::DIRECTORY => (rights::DIR, rights::DIR_INHERITING),
        filetype::REGULAR_FILE => (rights::FILE, 0),
        filetype::SOCKET_STREAM | filetype::SOCKET_DGRAM => (rights::SOCKET, 0),
        filetype::BLOCK_DEVICE => (rights::FILE, 0),
        _ => (rights::STREAM, 0),
    }
}

/// The WASI filetype of an open host descriptor (FIFOs are `unknown`, as on wasmtime: preview 1
/// has no FIFO type).
pub(crate) fn host_filetype(fd: RawFd) -> u8 {
    // SAFETY: zeroed stat is valid; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return filetype::UNKNOWN;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => {
            let mut ty: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: out-pointers of the right size.
            let r = unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_TYPE,
                    (&mut ty as *mut i32).cast(),
                    &mut len,
                )
            };
            if r == 0 && ty == libc::SOCK_DGRAM {
                filetype::SOCKET_DGRAM
            } else {
                filetype::SOCKET_STREAM
            }
        }
        mode => mode_filetype(mode),
    }
}

/// The WASI filetype for an `st_mode & S_IFMT`.
pub(crate) fn mode_filetype(fmt: u32) -> u8 {
    match fmt {
        libc::S_IFREG => filetype::REGULAR_FILE,
        libc::S_IFDIR => filetype::DIRECTORY,
        libc::S_IFLNK => filetype::SYMBOLIC_LINK,
        libc::S_IFCHR => filetype::CHARACTER_DEVICE,
        libc::S_IFBLK => filetype::BLOCK_DEVICE,
        libc::S_IFSOCK => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// Guest descriptor numbers. Freed numbers are reused highest-first, like wasmtime.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    used: BTreeMap<u32, FdEntry>,
    free: BTreeSet<u32>,
}

impl FdTable {
    pub fn get(&self, fd: u32) -> Option<&FdEntry> {
        self.used.get(&fd)
    }

    pub fn get_mut(&mut self, fd: u32) -> Option<&mut FdEntry> {
        self.used.get_mut(&fd)
    }

    pub fn push(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.used.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::MFILE)?,
                None => 0,
            },
        };
        self.used.insert(fd, entry);
        Ok(fd)
    }

    pub fn remove(&mut self, fd: u32) -> Option<FdEntry> {
        let e = self.used.remove(&fd)?;
        self.free.insert(fd);
        Some(e)
    }

    /// Moves `from` onto `to` (which must be open), closing what `to` was.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.used.contains_key(&to) || !self.used.contains_key(&from) {
            return Err(Errno::BADF);
        }
        if from != to {
            let e = self.used.remove(&from).expect("checked above");
            self.free.insert(from);
            self.free.remove(&to);
            self.used.insert(to, e);
        }
        Ok(())
    }
}

/// The state behind every WASI call of one instance.
#[derive(Debug)]
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    /// `NAME=value` strings.
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) fds: FdTable,
}

impl WasiCtx {
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// Looks `fd` up and checks it holds all of `need`. A missing read or write right is
    /// `EBADF` (what wasmtime answers for a descriptor not opened for it); any other missing
    /// right is `ENOTCAPABLE`.
    pub(crate) fn entry(&self, fd: u32, need: u64) -> Result<&FdEntry, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        check_rights(e, need)?;
        Ok(e)
    }

    /// Like [`Self::entry`] for operations on file contents: a directory is `EBADF`.
    pub(crate) fn file(&self, fd: u32, need: u64) -> Result<&FdEntry, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        if e.filetype == filetype::DIRECTORY {
            return Err(Errno::BADF);
        }
        check_rights(e, need)?;
        Ok(e)
    }

    /// Like [`Self::entry`] for path operations: the descriptor must be a directory
    /// (`ENOTDIR` otherwise, as `openat` on a file says).
    pub(crate) fn dir(&self, fd: u32, need: u64) -> Result<&FdEntry, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        if e.filetype != filetype::DIRECTORY {
            return Err(Errno::NOTDIR);
        }
        check_rights(e, need)?;
        Ok(e)
    }
}

fn check_rights(e: &FdEntry, need: u64) -> Result<(), Errno> {
    let missing = need & !e.base;
    if missing == 0 {
        Ok(())
    } else if missing & (rights::FD_READ | rights::FD_WRITE) != 0 {
        Err(Errno::BADF)
    } else {
        Err(Errno::NOTCAPABLE)
    }
}

/// What a preopened directory lets the guest do beneath it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DirAccess {
    /// Read, create, write, rename and delete (what `--dir HOST` grants).
    #[default]
    ReadWrite,
    /// Look up, read and list only: every call that would change something beneath the
    /// directory fails (`--dir HOST::GUEST:ro`).
    ReadOnly,
}

/// Configures a [`WasiCtx`]: arguments, environment, preopened directories and sockets, stdio.
#[derive(Debug)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    preopens: Vec<(OwnedFd, Vec<u8>, DirAccess)>,
    listeners: Vec<OwnedFd>,
    stdio: [RawFd; 3],
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiCtxBuilder {
    pub fn new() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            listeners: Vec::new(),
            stdio: [0, 1, 2],
        }
    }

    /// Appends arguments (`argv[0]` first): `String`s, `&str`s, `Vec<u8>`s, byte slices.
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_vec()));
        self
    }

    pub fn arg(self, arg: impl AsRef<[u8]>) -> Self {
        self.args([arg])
    }

    /// Adds one environment variable.
    pub fn env(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.env
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// Adds the host process's whole environment.
    pub fn inherit_env(mut self) -> Self {
        for (k, v) in std::env::vars_os() {
            self.env
                .push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
        self
    }

    /// Makes host directory `host_path` available to the guest as `guest_name` (the next
    /// descriptor from 3 on), read-write. Everything the guest does through it stays beneath it.
    pub fn preopen_dir(
        self,
        host_path: impl AsRef<Path>,
        guest_name: impl Into<String>,
    ) -> Result<Self, WasiError> {
        self.preopen_dir_with(host_path, guest_name, DirAccess::ReadWrite)
    }

    /// [`Self::preopen_dir`] with the given access: a [`DirAccess::ReadOnly`] grant lets the
    /// guest read beneath it but change nothing.
    pub fn preopen_dir_with(
        mut self,
        host_path: impl AsRef<Path>,
        guest_name: impl Into<String>,
        access: DirAccess,
    ) -> Result<Self, WasiError> {
        let path = host_path.as_ref();
        let err = |source| WasiError::Preopen {
            path: path.to_path_buf(),
            source,
        };
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| WasiError::Nul("preopen path".into()))?;
        // SAFETY: valid C string; result checked.
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })
        .map_err(|_| err(std::io::Error::last_os_error()))?;
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        self.preopens
            .push((fd, guest_name.into().into_bytes(), access));
        Ok(self)
    }

    /// Hands the guest a listening socket (wasmtime's `-S tcplisten`): it becomes the next
    /// descriptor after all preopened directories, whatever the order of the calls, and the
    /// guest may `sock_accept` on it. The context owns (and closes) it.
    pub fn preopen_listener(mut self, listener: OwnedFd) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Host descriptor to use as the guest's stdin (default 0). It is borrowed: it must stay
    /// open as long as the context, and the guest closing it does not close it.
    pub fn stdin(mut self, fd: RawFd) -> Self {
        self.stdio[0] = fd;
        self
    }

    pub fn stdout(mut self, fd: RawFd) -> Self {
        self.stdio[1] = fd;
        self
    }

    pub fn stderr(mut self, fd: RawFd) -> Self {
        self.stdio[2] = fd;
        self
    }

    pub fn build(self) -> Result<WasiCtx, WasiError> {
        for a in &self.args {
            if a.contains(&0) {
                return Err(WasiError::Nul(format!(
                    "argument {:?}",
                    String::from_utf8_lossy(a)
                )));
            }
        }
        let mut env = Vec::new();
        for (k, v) in self.env {
            let name = String::from_utf8_lossy(&k).into_owned();
            if k.is_empty() || k.contains(&b'=') {
                return Err(WasiError::EnvName(name));
            }
            if k.contains(&0) || v.contains(&0) {
                return Err(WasiError::Nul(format!("environment variable {name:?}")));
            }
            let mut kv = k;
            kv.push(b'=');
            kv.extend_from_slice(&v);
            env.push(kv);
        }
        let mut fds = FdTable::default();
        for (i, &host) in self.stdio.iter().enumerate() {
            // stdin is read-only, stdout/stderr write-only, whatever the host descriptor allows.
            let deny = if i == 0 {
                rights::FD_WRITE
            } else {
                rights::FD_READ
            };
            let mut e = FdEntry::new(HostFd::Borrowed(host), !0, 0);
            e.base &= !deny;
            fds.push(e).expect("fresh table");
        }
        for (fd, name, access) in self.preopens {
            let mut e = match access {
                DirAccess::ReadWrite => FdEntry::new(HostFd::Owned(fd), !0, !0),
                DirAccess::ReadOnly => FdEntry::new(
                    HostFd::Owned(fd),
                    rights::DIR_READ_ONLY,
                    rights::DIR_READ_ONLY | rights::FILE_READ_ONLY,
                ),
            };
            e.preopen = Some(name);
            fds.push(e).expect("fresh table");
        }
        for fd in self.listeners {
            fds.push(FdEntry::new(HostFd::Owned(fd), rights::SOCKET, 0))
                .expect("fresh table");
        }
        Ok(WasiCtx {
            args: self.args,
            env,
            fds,
        })
    }
}
