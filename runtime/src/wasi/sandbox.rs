//! SANDBOX-CRITICAL: resolution of guest paths beneath a directory descriptor.
//!
//! Everything the guest names by path goes through this file, and nothing here may ever yield a
//! host object outside the directory the path is relative to (a preopen or a directory opened
//! from one): not through `..`, absolute paths, absolute or relative symlinks, chains of
//! symlinks, or a symlink swapped in while we resolve. Escapes fail with [`Errno::ESCAPE`].
//!
//! * [`open_beneath`] opens a path with Linux `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`,
//!   where the kernel itself enforces the rule. On kernels without `openat2` (`ENOSYS`), under
//!   seccomp sandboxes that deny it (`EPERM`), and when renames keep it retrying (`EAGAIN`), it
//!   walks the path one component at a time with `O_PATH | O_NOFOLLOW`, keeping its own stack
//!   of directory descriptors so that `..` never climbs above the root, and expanding each
//!   symlink itself (absolute targets are escapes), as cap-std does.
//! * [`open_parent`] resolves all but the last component with [`open_beneath`] and returns the
//!   parent directory plus the final name, for the `*at` syscalls (`mkdirat`, `unlinkat`, ...).
//!   The name is a single component, never `..` (that case becomes the parent's parent and `.`).
//!   When asked to follow, it expands a final symlink by re-resolving `parent/target` from the
//!   root, so the result is again beneath it. Callers must then act with `AT_SYMLINK_NOFOLLOW`
//!   (or a call that never follows), so a symlink swapped in afterwards is not followed either.
//! * [`check_symlink_target`] keeps the guest from creating symlinks that point out (absolute,
//!   or climbing above the grant), which host tools working in the directory would follow.

use super::errno::{cvt, Errno};
use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Linux's limit on symlinks followed in one resolution.
const MAX_SYMLINKS: usize = 40;

/// `openat2` retries after `EAGAIN`, which it returns when a concurrent rename might have let
/// `..` escape; after that many the call fails with `EAGAIN`.
const OPENAT2_RETRIES: usize = 16;

/// Set once `openat2` returned `ENOSYS`, so we stop trying it.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

#[cfg(test)]
thread_local! {
    /// Lets tests run every scenario through the component walker as well.
    static FORCE_WALK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Test-only: resolve on this thread with the fallback walker instead of `openat2`.
#[cfg(test)]
pub(crate) fn force_walk(on: bool) {
    FORCE_WALK.with(|c| c.set(on));
}

fn use_openat2() -> bool {
    #[cfg(test)]
    if FORCE_WALK.with(|c| c.get()) {
        return false;
    }
    !NO_OPENAT2.load(Ordering::Relaxed)
}

/// A directory to act in: the caller's descriptor, or one we opened while resolving.
pub(crate) enum Dir<'a> {
    Borrowed(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl Dir<'_> {
    pub(crate) fn raw(&self) -> RawFd {
        match self {
            Dir::Borrowed(fd) => fd.as_raw_fd(),
            Dir::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

/// The result of [`open_parent`]: act on `name` inside `dir`.
pub(crate) struct Parent<'a> {
    pub dir: Dir<'a>,
    /// One path component: no `/`, never `..`, `.` when the path named the directory itself.
    pub name: CString,
    /// The guest path ended in `/`: the object must be a directory.
    pub trailing_slash: bool,
}

/// Rejects paths that can never be resolved beneath a directory, before touching the host.
pub(crate) fn check_path(path: &[u8]) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    if path.contains(&0) {
        return Err(Errno::INVAL);
    }
    if path[0] == b'/' {
        return Err(Errno::ESCAPE);
    }
    Ok(())
}

fn cstring(bytes: &[u8]) -> Result<CString, Errno> {
    CString::new(bytes).map_err(|_| Errno::INVAL)
}

/// Opens `path` beneath `root` with open(2) `flags` (`O_NOFOLLOW` = do not follow a final
/// symlink; `O_CLOEXEC` is always added).
pub(crate) fn open_beneath(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    check_path(path)?;
    let flags = flags | libc::O_CLOEXEC;
    if use_openat2() {
        match openat2_beneath(root.as_raw_fd(), &cstring(path)?, flags, mode) {
            Ok(fd) => return Ok(fd),
            Err(e) => match after_openat2(e) {
                Openat2Failed::Answer(errno) => return Err(errno),
                Openat2Failed::Walk => {}
                Openat2Failed::WalkFromNowOn => NO_OPENAT2.store(true, Ordering::Relaxed),
            },
        }
    }
    open_walk(root, path, flags, mode)
}

/// What [`open_beneath`] does after `openat2` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Openat2Failed {
    /// That is the outcome.
    Answer(Errno),
    /// Resolve this path with the component walk instead.
    Walk,
    /// The kernel has no `openat2`: walk, now and from now on.
    WalkFromNowOn,
}

/// The decision for `openat2`'s host errno `e`, as cap-std makes it.
pub(crate) fn after_openat2(e: i32) -> Openat2Failed {
    match e {
        libc::ENOSYS => Openat2Failed::WalkFromNowOn,
        // Seccomp sandboxes (systemd, container runtimes) deny syscalls they do not know with
        // EPERM. A real EPERM (O_NOATIME, a file seal) comes back from the walk as well.
        libc::EPERM => Openat2Failed::Walk,
        // Still racing renames after our retries: the walk needs no help from the kernel to
        // stay beneath the root, so it can answer.
        libc::EAGAIN => Openat2Failed::Walk,
        // RESOLVE_BENEATH reports an escape as EXDEV (we never ask for RESOLVE_NO_XDEV).
        libc::EXDEV => Openat2Failed::Answer(Errno::ESCAPE),
        e => Openat2Failed::Answer(Errno::from_raw(e)),
    }
}

#[cfg(test)]
thread_local! {
    /// Lets tests make `openat2` fail with a given errno, as a seccomp sandbox would.
    static OPENAT2_FAILS_WITH: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

/// Test-only: on this thread, `openat2` fails with `errno` (`None`: the real call again).
#[cfg(test)]
pub(crate) fn simulate_openat2_failure(errno: Option<i32>) {
    OPENAT2_FAILS_WITH.with(|c| c.set(errno));
}

/// `openat2` with `RESOLVE_BENEATH`; the error is the raw host errno.
fn openat2_beneath(dir: RawFd, path: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, i32> {
    #[cfg(test)]
    if let Some(e) = OPENAT2_FAILS_WITH.with(|c| c.get()) {
        return Err(e);
    }
    // SAFETY: open_how is a plain C struct; all-zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u32 as u64;
    // openat2 rejects a mode without O_CREAT/O_TMPFILE.
    // (O_TMPFILE contains the O_DIRECTORY bit, so test it as a whole.)
    if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        how.mode = mode as u64;
    }
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    let mut retries = 0;
    loop {
        // SAFETY: valid C string and open_how, size passed alongside.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            // SAFETY: the kernel just gave us this descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        match e {
            // Opening a FIFO blocks until its other end opens: a timeout must end that.
            libc::EINTR if !crate::traps::interrupt::pending() => continue,
            libc::EAGAIN if retries < OPENAT2_RETRIES => retries += 1,
            _ => return Err(e),
        }
    }
}

fn openat(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    loop {
        // SAFETY: valid C string; the result is checked.
        let r = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) };
        if r >= 0 {
            // SAFETY: fresh descriptor from the kernel.
            return Ok(unsafe { OwnedFd::from_raw_fd(r) });
        }
        let e = Errno::last();
        if e != Errno::INTR || crate::traps::interrupt::pending() {
            return Err(e);
        }
    }
}

/// Contents of the symlink `name` in `dir` (`name` may be empty for an `O_PATH` link fd).
fn readlinkat(dir: RawFd, name: &CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buffer and length match.
        let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let n = cvt(n)? as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 16 {
            return Err(Errno::NAMETOOLONG);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// Public for the syscalls: the target of a symlink, or `EINVAL` if `name` is not one.
pub(crate) fn read_link(dir: RawFd, name: &CStr) -> Result<Vec<u8>, Errno> {
    readlinkat(dir, name)
}

fn fstat_mode(fd: RawFd) -> Result<u32, Errno> {
    // SAFETY: zeroed stat is valid; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_mode & libc::S_IFMT)
}

/// Pushes the components of `path` in front of `queue` (dropping empty ones and `.`).
fn push_front_components(queue: &mut VecDeque<Vec<u8>>, path: &[u8]) {
    for c in path.split(|&b| b == b'/').rev() {
        if !c.is_empty() && c != b"." {
            queue.push_front(c.to_vec());
        }
    }
}

/// The fallback resolver: one component at a time, never letting the kernel follow a symlink
/// or a `..` on our behalf.
fn open_walk(root: BorrowedFd<'_>, path: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    // O_CREAT | O_EXCL never follows a final symlink (POSIX; openat2 agrees).
    let excl = libc::O_CREAT | libc::O_EXCL;
    let follow_last = flags & libc::O_NOFOLLOW == 0 && flags & excl != excl;
    // Directories entered so far below the root; `..` pops, and popping the root is an escape.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut queue = VecDeque::new();
    push_front_components(&mut queue, path);
    let mut must_dir = path.ends_with(b"/");
    let mut links = 0;
    // Flags for the final open: never follow (we expanded any symlink ourselves; one swapped in
    // since then makes the open fail with ELOOP instead of being followed).
    let final_flags =
        |must_dir: bool| flags | libc::O_NOFOLLOW | if must_dir { libc::O_DIRECTORY } else { 0 };
    while let Some(c) = queue.pop_front() {
        let cur = stack.last().map_or(root.as_raw_fd(), |f| f.as_raw_fd());
        let last = queue.is_empty();
        if c == b".." {
            if stack.pop().is_none() {
                return Err(Errno::ESCAPE);
            }
            continue;
        }
        let name = cstring(&c)?;
        if last && !follow_last && !must_dir {
            return openat(cur, &name, final_flags(false), mode);
        }
        // Open the entry itself, without following it, to see what it is.
        let fd = match openat(cur, &name, libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if last => return openat(cur, &name, final_flags(must_dir), mode),
            Err(e) => return Err(e),
        };
        match fstat_mode(fd.as_raw_fd())? {
            libc::S_IFLNK => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP);
                }
                let target = readlinkat(fd.as_raw_fd(), c"")?;
                if target.first() == Some(&b'/') {
                    return Err(Errno::ESCAPE);
                }
                if target.is_empty() {
                    return Err(Errno::NOENT);
                }
                if last && target.ends_with(b"/") {
                    must_dir = true;
                }
                push_front_components(&mut queue, &target);
            }
            libc::S_IFDIR if !last => stack.push(fd),
            _ if !last => return Err(Errno::NOTDIR),
            _ => return openat(cur, &name, final_flags(must_dir), mode),
        }
    }
    // The path named a directory we hold (or the root itself): open it with the caller's flags.
    let cur = stack.last().map_or(root.as_raw_fd(), |f| f.as_raw_fd());
    openat(cur, c".", flags, mode)
}

fn open_dir(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Errno> {
    open_beneath(root, path, libc::O_PATH | libc::O_DIRECTORY, 0)
}

/// Resolves `path` beneath `root` up to its last component; see the module documentation.
/// `follow`: expand a final symlink (repeatedly), staying beneath `root`.
pub(crate) fn open_parent<'a>(
    root: BorrowedFd<'a>,
    path: &[u8],
    follow: bool,
) -> Result<Parent<'a>, Errno> {
    let mut path = path.to_vec();
    for _ in 0..=MAX_SYMLINKS {
        check_path(&path)?;
        let trailing_slash = path.ends_with(b"/");
        let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let trimmed = &path[..end];
        let (dir_part, last) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (&trimmed[..0], trimmed),
        };
        let join = |tail: &[u8]| {
            let mut p = dir_part.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(tail);
            p
        };
        let (dir, name): (Dir<'a>, &[u8]) = if last == b".." {
            // Never hand `..` to an *at call: resolve it (beneath the root) and act on ".".
            (Dir::Owned(open_dir(root, &join(b".."))?), b".")
        } else if dir_part.is_empty() {
            (Dir::Borrowed(root), last)
        } else {
            (Dir::Owned(open_dir(root, dir_part)?), last)
        };
        let name = cstring(name)?;
        if follow && name.as_bytes() != b"." {
            match readlinkat(dir.raw(), &name) {
                Ok(target) => {
                    if target.first() == Some(&b'/') {
                        return Err(Errno::ESCAPE);
                    }
                    // The target is relative to the link's directory: resolve it from the root
                    // again, so the kernel (or the walker) checks every step once more.
                    let mut next = join(&target);
                    if trailing_slash && !next.ends_with(b"/") {
                        next.push(b'/');
                    }
                    path = next;
                    continue;
                }
                // Not a symlink, or nothing there yet: act on the name itself.
                Err(Errno::INVAL) | Err(Errno::NOENT) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(Parent {
            dir,
            name,
            trailing_slash,
        });
    }
    Err(Errno::LOOP)
}

/// Most `..` steps [`check_symlink_target`] takes looking for the grant's root.
const MAX_DEPTH: usize = 4096;

/// Refuses (with [`Errno::ESCAPE`]) a symlink target the guest may not store in a link whose
/// directory is `link_dir`: an absolute one (as cap-std and wasmtime do), or a relative one
/// that climbs above the grant's root (`grant_root`, a `(st_dev, st_ino)`), judged lexically
/// from the link's directory. The sandbox never follows such links out anyway; this keeps a
/// guest from planting them for host tools that would.
pub(crate) fn check_symlink_target(
    target: &[u8],
    link_dir: RawFd,
    grant_root: Option<(u64, u64)>,
) -> Result<(), Errno> {
    if target.first() == Some(&b'/') {
        return Err(Errno::ESCAPE);
    }
    let parts = || target.split(|&b| b == b'/');
    if !parts().any(|c| c == b"..") {
        return Ok(());
    }
    // Where the link is, in `..` steps below the root; unknown (no longer beneath it, as far
    // as we can tell) counts as the root itself.
    let mut depth = match grant_root {
        Some(root) => depth_below(link_dir, root)?.unwrap_or(0),
        None => 0,
    };
    for c in parts() {
        match c {
            b"" | b"." => {}
            b".." => depth = depth.checked_sub(1).ok_or(Errno::ESCAPE)?,
            _ => depth += 1,
        }
    }
    Ok(())
}

/// How many `..` steps lead from directory `dir` up to the directory identified by `root`, or
/// `None` if it is not an ancestor (within [`MAX_DEPTH`] steps). Only looks (`O_PATH`): the
/// directories above are never acted on.
fn depth_below(dir: RawFd, root: (u64, u64)) -> Result<Option<usize>, Errno> {
    let id = |fd: RawFd| -> Result<(u64, u64), Errno> {
        // SAFETY: zeroed stat is valid; fstat fills it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        cvt(unsafe { libc::fstat(fd, &mut st) })?;
        Ok((st.st_dev, st.st_ino))
    };
    let mut up: Option<OwnedFd> = None;
    let mut here = id(dir)?;
    for depth in 0..MAX_DEPTH {
        if here == root {
            return Ok(Some(depth));
        }
        let cur = up.as_ref().map_or(dir, |fd| fd.as_raw_fd());
        let parent = openat(cur, c"..", libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let above = id(parent.as_raw_fd())?;
        if above == here {
            // The host's `/`: its `..` is itself.
            return Ok(None);
        }
        here = above;
        up = Some(parent);
    }
    Ok(None)
}
