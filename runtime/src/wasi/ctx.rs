//! The per-instance WASI state: arguments, environment and the descriptor table, plus the
//! builder the embedder configures it with.
//!
//! Guest descriptors are numbers in our own table, never host numbers: 0–2 are the configured
//! stdio host descriptors (borrowed, never closed by us), 3.. the preopened directories in the
//! order they were added, then whatever the guest opens. Each entry carries WASI rights, which
//! we derive from what the descriptor is, the grant it was reached through and the host open
//! mode, never from the rights the guest asked for (as wasmtime); the lookup helpers here are
//! the single place where they are checked.

use super::embedded::EmbeddedFd;
use super::errno::{cvt, Errno};
use super::host::fstat;
use super::readdir::DirStream;
use super::types::{filetype, rights};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// A node of a directory tree embedded in the executable (`embedded.rs`): no host
    /// descriptor at all. Its calls branch off before any host call; one that did not would
    /// get descriptor -1, and so `EBADF`, never someone else's file.
    Embedded(EmbeddedFd),
}

#[derive(Debug)]
pub(crate) struct FdEntry {
    pub host: HostFd,
    pub filetype: u8,
    /// What the descriptor may do. Derived by us from what it is, the grant it was reached
    /// through and the host open mode ([`grant_rights`]), never from the rights the guest asked
    /// for (wasmtime ignores those too); the guest can only narrow it (`fd_fdstat_set_rights`).
    /// Atomic because threads share the entry ([`FdTable`]).
    base: AtomicU64,
    /// The most a descriptor opened through this one (a directory) can get.
    inheriting: AtomicU64,
    /// Guest-visible name of a preopened directory.
    pub preopen: Option<Vec<u8>>,
    /// The access of the grant this descriptor was reached through.
    pub access: DirAccess,
    /// `(st_dev, st_ino)` of the preopened directory this descriptor was reached through: how
    /// far up a symlink the guest creates may point.
    pub grant_root: Option<(u64, u64)>,
    /// `fd_readdir`'s stream on this directory, kept between calls (locked: threads share
    /// the entry).
    pub dir_stream: Mutex<Option<DirStream>>,
}

impl FdEntry {
    pub fn base(&self) -> u64 {
        self.base.load(Ordering::Relaxed)
    }

    pub fn inheriting(&self) -> u64 {
        self.inheriting.load(Ordering::Relaxed)
    }

    /// Narrows the rights to `base` and `inheriting`, which must be subsets of the current
    /// ones (`ENOTCAPABLE` otherwise: rights only ever shrink). A compare-and-swap loop, so
    /// that two threads narrowing at once cannot widen what either left.
    pub fn narrow_rights(&self, base: u64, inheriting: u64) -> Result<(), Errno> {
        for (cell, want) in [(&self.base, base), (&self.inheriting, inheriting)] {
            cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                (want & !now == 0).then_some(want)
            })
            .map_err(|_| Errno::NOTCAPABLE)?;
        }
        Ok(())
    }

    pub fn raw(&self) -> RawFd {
        match &self.host {
            HostFd::Owned(fd) => fd.as_raw_fd(),
            HostFd::Borrowed(fd) => *fd,
            HostFd::Embedded(_) => -1,
        }
    }

    /// The embedded node behind this descriptor, if it is one.
    pub fn embedded(&self) -> Option<&EmbeddedFd> {
        match &self.host {
            HostFd::Embedded(e) => Some(e),
            _ => None,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open as long as the entry (owned) or the embedder
        // guarantees it (borrowed stdio).
        unsafe { BorrowedFd::borrow_raw(self.raw()) }
    }

    /// Stdio: a stream of the host process, whatever the host descriptor is (only stdio is
    /// borrowed).
    pub fn is_stdio(&self) -> bool {
        matches!(self.host, HostFd::Borrowed(_))
    }

    fn with(host: HostFd, filetype: u8, base: u64, inheriting: u64) -> FdEntry {
        FdEntry {
            host,
            filetype,
            base: AtomicU64::new(base),
            inheriting: AtomicU64::new(inheriting),
            preopen: None,
            access: DirAccess::ReadWrite,
            grant_root: None,
            dir_stream: Mutex::new(None),
        }
    }

    /// Builds an entry for a host descriptor, with every right its type allows (intersected
    /// with `base`/`inheriting`).
    pub fn new(host: HostFd, base: u64, inheriting: u64) -> FdEntry {
        let ft = match &host {
            HostFd::Owned(fd) => host_filetype(fd.as_raw_fd()),
            HostFd::Borrowed(fd) => host_filetype(*fd),
            HostFd::Embedded(e) => e.filetype(),
        };
        let (max_base, max_inh) = max_rights(ft);
        FdEntry::with(host, ft, base & max_base, inheriting & max_inh)
    }

    /// Guest descriptor `index` (0, 1 or 2) for the host's stdio descriptor `fd`. Like wasmtime,
    /// stdio is a stream to read (0) or write (1, 2), whatever the host descriptor is: a file
    /// redirected with `>>` cannot be truncated, re-timed or written at an offset, and a
    /// directory on stdin is no preopen. Its filetype is `CHARACTER_DEVICE` on a terminal and
    /// `UNKNOWN` otherwise, as on wasmtime. A socket stays a socket (the `sock_*` calls work on
    /// it), with the one direction.
    pub(crate) fn stdio(fd: RawFd, index: usize) -> FdEntry {
        let host = host_filetype(fd);
        let socket = host == filetype::SOCKET_STREAM || host == filetype::SOCKET_DGRAM;
        let (ft, base) = if socket {
            let other = if index == 0 {
                rights::FD_WRITE
            } else {
                rights::FD_READ
            };
            (host, rights::SOCKET & !other)
        } else {
            // SAFETY: isatty only inspects the descriptor.
            let tty = unsafe { libc::isatty(fd) } == 1;
            let ft = if tty {
                filetype::CHARACTER_DEVICE
            } else {
                filetype::UNKNOWN
            };
            (
                ft,
                if index == 0 {
                    rights::STDIN
                } else {
                    rights::STDOUT
                },
            )
        };
        FdEntry::with(HostFd::Borrowed(fd), ft, base, 0)
    }

    /// A preopened directory.
    fn preopened(p: Preopen) -> FdEntry {
        let (base, inheriting) = grant_rights(filetype::DIRECTORY, p.access, true, false);
        let mut e = FdEntry::with(p.host, filetype::DIRECTORY, base, inheriting);
        e.preopen = Some(p.name);
        e.access = p.access;
        e.grant_root = Some(p.root);
        e
    }

    /// A descriptor `path_open` opened through directory `parent`, for reading and/or writing.
    pub(crate) fn opened(fd: OwnedFd, parent: &FdEntry, read: bool, write: bool) -> FdEntry {
        let ft = host_filetype(fd.as_raw_fd());
        let (base, inheriting) = grant_rights(ft, parent.access, read, write);
        let mut e = FdEntry::with(
            HostFd::Owned(fd),
            ft,
            base & parent.inheriting(),
            inheriting & parent.inheriting(),
        );
        e.access = parent.access;
        e.grant_root = parent.grant_root;
        e
    }

    /// A node of an embedded tree `path_open` opened through `parent` (read-only).
    pub(crate) fn opened_embedded(node: EmbeddedFd, parent: &FdEntry) -> FdEntry {
        let ft = node.filetype();
        let (base, inheriting) = grant_rights(ft, DirAccess::ReadOnly, true, false);
        let mut e = FdEntry::with(
            HostFd::Embedded(node),
            ft,
            base & parent.inheriting(),
            inheriting & parent.inheriting(),
        );
        e.access = DirAccess::ReadOnly;
        e.grant_root = parent.grant_root;
        e
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

/// What a descriptor of type `ft` reached through a grant with `access` may do, opened on the
/// host for `read` and/or `write`: (base, inheriting). The host open mode decides reading and
/// writing (an open file description cannot do more); the grant decides whether anything may
/// change. A read-only directory still reports the full inheriting set, as wasmtime does: libc
/// then asks `path_open` for what the program wants (`O_RDWR`) and gets wasmtime's `EPERM`
/// instead of a descriptor silently opened read-only.
pub(crate) fn grant_rights(ft: u8, access: DirAccess, read: bool, write: bool) -> (u64, u64) {
    let (mut base, inheriting) = max_rights(ft);
    if ft != filetype::DIRECTORY {
        if !read {
            base &= !rights::FD_READ;
        }
        if !write {
            base &= !rights::FD_WRITE;
        }
    }
    if access == DirAccess::ReadOnly {
        base &= !rights::MUTATING;
    }
    (base, inheriting)
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
///
/// Threads of a wasi-threads program share one table, so it is behind a lock, held only to
/// find, add or remove an entry: every host call works on its own `Arc` of the entry, with no
/// lock, so a thread blocked in `fd_read` or `poll_oneoff` holds up nobody, and an entry
/// closed by one thread meanwhile (its host descriptor) stays open until the call using it
/// returns — the host descriptor number can never be reused under a running call.
#[derive(Debug, Default)]
pub(crate) struct FdTable(Mutex<Fds>);

#[derive(Debug, Default)]
struct Fds {
    used: BTreeMap<u32, Arc<FdEntry>>,
    free: BTreeSet<u32>,
}

impl FdTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Fds> {
        // A panic while holding the lock cannot leave the maps inconsistent (each operation
        // is one insert or remove), so a poisoned lock is still good.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every (number, entry address) pair: equal snapshots mean the same open entries.
    fn snapshot(&self) -> Vec<(u32, usize)> {
        let t = self.lock();
        t.used
            .iter()
            .map(|(fd, e)| (*fd, Arc::as_ptr(e) as usize))
            .collect()
    }

    pub fn get(&self, fd: u32) -> Option<Arc<FdEntry>> {
        self.lock().used.get(&fd).cloned()
    }

    pub fn push(&self, entry: FdEntry) -> Result<u32, Errno> {
        let mut t = self.lock();
        let fd = match t.free.pop_last() {
            Some(fd) => fd,
            None => match t.used.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::MFILE)?,
                None => 0,
            },
        };
        t.used.insert(fd, Arc::new(entry));
        Ok(fd)
    }

    pub fn remove(&self, fd: u32) -> Option<Arc<FdEntry>> {
        let mut t = self.lock();
        let e = t.used.remove(&fd)?;
        t.free.insert(fd);
        Some(e)
    }

    /// Moves `from` onto `to` (which must be open), closing what `to` was.
    pub fn renumber(&self, from: u32, to: u32) -> Result<(), Errno> {
        let mut t = self.lock();
        if !t.used.contains_key(&to) || !t.used.contains_key(&from) {
            return Err(Errno::BADF);
        }
        if from != to {
            let e = t.used.remove(&from).expect("checked above");
            t.free.insert(from);
            t.free.remove(&to);
            // What `to` was is closed once the lock is released (and any call using it ends).
            let old = t.used.insert(to, e);
            drop(t);
            drop(old);
        }
        Ok(())
    }
}

/// The state behind every WASI call of one instance, or of all the instances of a wasi-threads
/// program (one per thread): `Sync`, with the descriptor table under its own lock
/// ([`FdTable`]) and everything else fixed at creation.
#[derive(Debug)]
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    /// `NAME=value` strings.
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) fds: FdTable,
    /// The descriptors it was built with (number, entry address): see [`Self::is_pristine`].
    initial: Vec<(u32, usize)>,
}

impl WasiCtx {
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// Whether the descriptor table is still the one the context was built with: no file
    /// opened and left open, nothing closed or renumbered. What a snapshot of the program
    /// (`wasic build --preinit`) needs, since open files cannot be carried into it.
    pub fn is_pristine(&self) -> bool {
        self.fds.snapshot() == self.initial
    }

    /// Looks `fd` up and checks it holds all of `need`. A missing read or write right is
    /// `EBADF` (what wasmtime answers for a descriptor not opened for it); any other missing
    /// right is `ENOTCAPABLE`.
    pub(crate) fn entry(&self, fd: u32, need: u64) -> Result<Arc<FdEntry>, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        check_rights(&e, need)?;
        Ok(e)
    }

    /// Like [`Self::entry`] for operations on file contents: a directory is `EBADF`.
    pub(crate) fn file(&self, fd: u32, need: u64) -> Result<Arc<FdEntry>, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        if e.filetype == filetype::DIRECTORY {
            return Err(Errno::BADF);
        }
        check_rights(&e, need)?;
        Ok(e)
    }

    /// Like [`Self::entry`] for path operations: the descriptor must be a directory
    /// (`ENOTDIR` otherwise, as `openat` on a file says).
    pub(crate) fn dir(&self, fd: u32, need: u64) -> Result<Arc<FdEntry>, Errno> {
        let e = self.fds.get(fd).ok_or(Errno::BADF)?;
        // Stdio is a stream, even when the host gave us a directory (wasmtime: EBADF).
        if e.is_stdio() {
            return Err(Errno::BADF);
        }
        if e.filetype != filetype::DIRECTORY {
            return Err(Errno::NOTDIR);
        }
        check_rights(&e, need)?;
        Ok(e)
    }
}

/// The errno for a call `e` lacks rights for, as wasmtime answers it: not open for reading
/// or writing is `EBADF` (the host's answer); on stdio, positioning is `ESPIPE` and anything
/// else `EBADF`; a change beneath a read-only grant is `EPERM`. Only a right the guest gave up
/// itself (`fd_fdstat_set_rights`) is `ENOTCAPABLE`.
fn check_rights(e: &FdEntry, need: u64) -> Result<(), Errno> {
    let missing = need & !e.base();
    if missing == 0 {
        Ok(())
    } else if missing & (rights::FD_READ | rights::FD_WRITE) != 0 {
        Err(Errno::BADF)
    } else if e.is_stdio() {
        if missing & (rights::FD_SEEK | rights::FD_TELL) != 0 {
            Err(Errno::SPIPE)
        } else {
            Err(Errno::BADF)
        }
    } else if e.access == DirAccess::ReadOnly && missing & rights::MUTATING != 0 {
        Err(Errno::PERM)
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
    /// directory fails with `EPERM`, as beneath wasmtime's read-only preopens (writing through a
    /// descriptor opened for reading is the host's `EBADF`) (`--dir HOST::GUEST:ro`).
    ReadOnly,
}

/// A directory opened by [`WasiCtxBuilder::preopen_dir_with`].
#[derive(Debug)]
struct Preopen {
    host: HostFd,
    name: Vec<u8>,
    access: DirAccess,
    /// Its `(st_dev, st_ino)`.
    root: (u64, u64),
}

/// Configures a [`WasiCtx`]: arguments, environment, preopened directories and sockets, stdio.
#[derive(Debug)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    preopens: Vec<Preopen>,
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
        let st = fstat(fd.as_raw_fd()).map_err(|_| err(std::io::Error::last_os_error()))?;
        self.preopens.push(Preopen {
            host: HostFd::Owned(fd),
            name: guest_name.into().into_bytes(),
            access,
            root: (st.st_dev, st.st_ino),
        });
        Ok(self)
    }

    /// Preopens directory `node` of an embedded tree (`wasic build --embed-dir`) at
    /// `guest_name`, read-only, after the directories added before. Its bytes are read in
    /// place for as long as the program runs.
    pub fn preopen_embedded(
        mut self,
        tree: wasic_abi::embed::Tree<'static>,
        node: u32,
        guest_name: impl Into<String>,
    ) -> Self {
        let emb = EmbeddedFd::new(tree, node);
        let root = (emb.filestat().dev, emb.filestat().ino);
        self.preopens.push(Preopen {
            host: HostFd::Embedded(emb),
            name: guest_name.into().into_bytes(),
            access: DirAccess::ReadOnly,
            root,
        });
        self
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
        let fds = FdTable::default();
        for (i, &host) in self.stdio.iter().enumerate() {
            fds.push(FdEntry::stdio(host, i)).expect("fresh table");
        }
        for p in self.preopens {
            fds.push(FdEntry::preopened(p)).expect("fresh table");
        }
        for fd in self.listeners {
            fds.push(FdEntry::new(HostFd::Owned(fd), rights::SOCKET, 0))
                .expect("fresh table");
        }
        let initial = fds.snapshot();
        Ok(WasiCtx {
            args: self.args,
            env,
            fds,
            initial,
        })
    }
}
