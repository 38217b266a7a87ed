//! Directory trees embedded in the executable (`wasic build --embed-dir`), served as read-only
//! preopens: path resolution beneath a tree, and the read-side calls on its descriptors. The
//! layout is `wasic_abi::embed`; file bytes are read straight from it (the mapped executable).
//!
//! An embedded descriptor is an ordinary [`FdEntry`] whose host is `HostFd::Embedded`, with
//! the rights of a read-only grant ([`DirAccess::ReadOnly`]): every call that would change
//! something is refused by the rights check before it gets here, with the errno a read-only
//! `--dir` gives (`EPERM`, or `EBADF` for writing a file), so only looking up, reading and
//! listing remain. Resolution follows the host sandbox's rules: no absolute paths, no `..`
//! above the descriptor's directory, symlinks followed inside the tree only (an absolute
//! target or one climbing out is `EPERM`, as `Errno::ESCAPE`), at most 40 of them (`ELOOP`).

use super::ctx::FdEntry;
use super::errno::Errno;
use super::types::{self, filetype, Filestat};
use std::sync::atomic::{AtomicU64, Ordering};
use wasic_abi::embed::{Entry, Kind, Tree};

/// The `st_dev` reported for embedded files: no host device has it (Linux device numbers fit
/// in 32 bits), so inode numbers never collide with a host file's.
const EMBED_DEV: u64 = 0x7761_7369_6300_0000;

/// The longest name of one path component, as Linux's `NAME_MAX`.
const NAME_MAX: usize = 255;

/// How many symlinks one resolution may follow, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// An open embedded node: the tree, the node and (for files) the descriptor's position.
#[derive(Debug)]
pub(crate) struct EmbeddedFd {
    pub tree: Tree<'static>,
    pub node: u32,
    pos: AtomicU64,
}

impl EmbeddedFd {
    pub fn new(tree: Tree<'static>, node: u32) -> EmbeddedFd {
        EmbeddedFd {
            tree,
            node,
            pos: AtomicU64::new(0),
        }
    }

    pub fn entry(&self) -> Entry<'static> {
        self.tree.entry(self.node)
    }

    pub fn filetype(&self) -> u8 {
        kind_filetype(self.entry().kind)
    }

    pub fn filestat(&self) -> Filestat {
        filestat(&self.entry())
    }

    /// Reads into `bufs` (host iovecs into guest memory) at `at`, or at the position (which
    /// then advances); returns the bytes read.
    pub fn read(&self, bufs: &[libc::iovec], at: Option<u64>) -> Result<usize, Errno> {
        let e = self.entry();
        if e.kind == Kind::Directory {
            return Err(Errno::ISDIR);
        }
        let data = self.tree.contents(&e);
        let start = at.unwrap_or_else(|| self.pos.load(Ordering::Relaxed));
        let mut off = usize::try_from(start).unwrap_or(usize::MAX).min(data.len());
        let mut n = 0;
        for b in bufs {
            let take = b.iov_len.min(data.len() - off);
            // SAFETY: `iov_base` points at `iov_len` bytes of validated guest memory (raw:
            // other threads may use it), disjoint from the executable's read-only image.
            unsafe { std::ptr::copy_nonoverlapping(data[off..].as_ptr(), b.iov_base.cast(), take) };
            off += take;
            n += take;
            if take < b.iov_len {
                break;
            }
        }
        if at.is_none() {
            self.pos.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }

    /// `lseek`: `whence` is libc's; returns the new position.
    pub fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        let e = self.entry();
        if e.kind == Kind::Directory {
            // As for a host directory opened for reading, whose offset is the listing's.
            return Err(Errno::INVAL);
        }
        let base = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => self.pos.load(Ordering::Relaxed) as i64,
            libc::SEEK_END => e.size as i64,
            _ => return Err(Errno::INVAL),
        };
        let pos = base.checked_add(offset).ok_or(Errno::OVERFLOW)?;
        if pos < 0 {
            return Err(Errno::INVAL);
        }
        self.pos.store(pos as u64, Ordering::Relaxed);
        Ok(pos as u64)
    }

    /// Bytes left to read from the position (what `poll_oneoff` reports).
    pub fn remaining(&self) -> u64 {
        self.entry()
            .size
            .saturating_sub(self.pos.load(Ordering::Relaxed))
    }

    /// `fd_readdir`'s records from `cookie` on, cut at `cap` bytes: `.`, `..`, then the
    /// entries in name order; each record's `d_next` is the cookie of the one after it.
    pub fn readdir(&self, cookie: u64, cap: usize) -> Result<Vec<u8>, Errno> {
        let dir = self.entry();
        if dir.kind != Kind::Directory {
            return Err(Errno::NOTDIR);
        }
        let ino = ino(&dir);
        let mut out = Vec::new();
        let dots = [
            (&b"."[..], ino, filetype::DIRECTORY),
            (&b".."[..], ino, filetype::DIRECTORY),
        ];
        let entries = dots.into_iter().chain(
            self.tree
                .children(&dir)
                .map(|c| (c.name, self::ino(&c), kind_filetype(c.kind))),
        );
        for (i, (name, ino, ty)) in entries
            .enumerate()
            .skip(cookie.min(usize::MAX as u64) as usize)
        {
            if out.len() >= cap {
                break;
            }
            out.extend_from_slice(&types::encode_dirent(
                i as u64 + 1,
                ino,
                name.len() as u32,
                ty,
            ));
            out.extend_from_slice(name);
        }
        out.truncate(cap);
        Ok(out)
    }

    /// The target of a symlink (`EINVAL` for anything else, as `readlinkat`).
    pub fn readlink(&self) -> Result<&'static [u8], Errno> {
        let e = self.entry();
        if e.kind != Kind::Symlink {
            return Err(Errno::INVAL);
        }
        Ok(self.tree.contents(&e))
    }
}

fn kind_filetype(k: Kind) -> u8 {
    match k {
        Kind::Directory => filetype::DIRECTORY,
        Kind::File => filetype::REGULAR_FILE,
        Kind::Symlink => filetype::SYMBOLIC_LINK,
    }
}

/// Inode numbers of embedded nodes: far above any a host file system hands out, so that a
/// guest comparing `d_ino`s (which come without a device) never mistakes one for a host
/// file's.
const EMBED_INO_BASE: u64 = 1 << 62;

fn ino(e: &Entry<'_>) -> u64 {
    EMBED_INO_BASE + e.index as u64 + 1
}

fn filestat(e: &Entry<'_>) -> Filestat {
    Filestat {
        dev: EMBED_DEV,
        ino: ino(e),
        filetype: kind_filetype(e.kind),
        nlink: 1,
        size: e.size,
        atim: e.atim,
        mtim: e.mtim,
        ctim: e.ctim,
    }
}

/// Resolves `path` beneath directory `dir` of `tree`. A final symlink is followed when
/// `follow` (or when the path ends in `/`); a trailing `/` requires a directory.
pub(crate) fn resolve(
    tree: &Tree<'static>,
    dir: u32,
    path: &[u8],
    follow: bool,
) -> Result<u32, Errno> {
    // The host sandbox's first checks: empty, NUL, absolute; then the kernel's limits.
    super::sandbox::check_path(path)?;
    // (A name too long is found where the walk reaches it, as by the kernel: an error of a
    // component before it comes first.)
    if path.len() >= libc::PATH_MAX as usize {
        return Err(Errno::NAMETOOLONG);
    }
    let trailing_slash = path.ends_with(b"/");
    // The directories walked from `dir`: `..` pops, and may not pop `dir` itself.
    let mut stack = vec![dir];
    // Components still to resolve, last first.
    let mut todo: Vec<Vec<u8>> = components(path);
    let mut links = 0;
    let mut current = dir;
    while let Some(name) = todo.pop() {
        if name.len() > NAME_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        let last = todo.is_empty();
        let here = *stack.last().expect("never empty");
        match &name[..] {
            b"." => current = here,
            b".." => {
                if stack.len() == 1 {
                    return Err(Errno::ESCAPE);
                }
                stack.pop();
                current = *stack.last().expect("never empty");
            }
            _ => {
                let e = tree.lookup(&tree.entry(here), &name).ok_or(Errno::NOENT)?;
                match e.kind {
                    Kind::Directory => {
                        stack.push(e.index);
                        current = e.index;
                    }
                    Kind::Symlink if !last || follow || trailing_slash => {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return Err(Errno::LOOP);
                        }
                        let target = tree.contents(&e);
                        if target.is_empty() {
                            return Err(Errno::NOENT);
                        }
                        if target[0] == b'/' {
                            return Err(Errno::ESCAPE);
                        }
                        // The target's components, then what followed the link.
                        todo.extend(components(target));
                        // A link to `x/` keeps requiring a directory.
                        current = here;
                    }
                    _ if !last => return Err(Errno::NOTDIR),
                    _ => current = e.index,
                }
            }
        }
    }
    if trailing_slash && tree.entry(current).kind != Kind::Directory {
        return Err(Errno::NOTDIR);
    }
    Ok(current)
}

/// The non-empty components of `path`, last first (a stack).
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(<[u8]>::to_vec)
        .collect()
}

/// `path_open` beneath an embedded directory, read-only (the caller refused writing,
/// creating and truncating): `directory` is `O_DIRECTORY`, `follow` the lookup flag.
pub(crate) fn open(
    dir: &FdEntry,
    emb: &EmbeddedFd,
    path: &[u8],
    follow: bool,
    directory: bool,
) -> Result<FdEntry, Errno> {
    let node = resolve(&emb.tree, emb.node, path, follow)?;
    let e = emb.tree.entry(node);
    match e.kind {
        // A final symlink not followed: `O_DIRECTORY` is checked first, as by Linux.
        Kind::Symlink | Kind::File if directory => return Err(Errno::NOTDIR),
        // `O_NOFOLLOW` on a final symlink.
        Kind::Symlink => return Err(Errno::LOOP),
        _ => {}
    }
    Ok(FdEntry::opened_embedded(
        EmbeddedFd::new(emb.tree, node),
        dir,
    ))
}

/// `path_filestat_get` beneath an embedded directory.
pub(crate) fn path_filestat(
    emb: &EmbeddedFd,
    path: &[u8],
    follow: bool,
) -> Result<Filestat, Errno> {
    let node = resolve(&emb.tree, emb.node, path, follow)?;
    Ok(filestat(&emb.tree.entry(node)))
}

/// `path_readlink` beneath an embedded directory.
pub(crate) fn path_readlink(emb: &EmbeddedFd, path: &[u8]) -> Result<&'static [u8], Errno> {
    // As on the host: a trailing `/` follows the final link, and then whatever it names is
    // not a link (`EINVAL`), directory or not.
    let trimmed = path
        .iter()
        .rposition(|b| *b != b'/')
        .map_or(path, |i| &path[..=i]);
    let node = resolve(&emb.tree, emb.node, trimmed, trimmed.len() < path.len())?;
    EmbeddedFd::new(emb.tree, node).readlink()
}

/// Reads the host directory tree at `path` into a [`WriteNode`] for
/// [`wasic_abi::embed::TreeWriter`]: files, directories and symlinks (stored as links, not
/// followed) with their permissions and timestamps. Anything else (a FIFO, a socket, a
/// device) is an error naming it.
pub fn read_host_tree(
    path: &std::path::Path,
) -> Result<wasic_abi::embed::WriteNode, std::io::Error> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use wasic_abi::embed::{Node, WriteNode};
    let meta = std::fs::symlink_metadata(path)?;
    let ns = |s: i64, n: i64| super::host::timestamp(s, n);
    let node = |kind| Node {
        kind,
        mode: meta.mode() & 0o7777,
        atim: ns(meta.atime(), meta.atime_nsec()),
        mtim: ns(meta.mtime(), meta.mtime_nsec()),
        ctim: ns(meta.ctime(), meta.ctime_nsec()),
    };
    let name = path
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    let ft = meta.file_type();
    let (node, contents, children) = if ft.is_dir() {
        let mut children = Vec::new();
        for entry in std::fs::read_dir(path)? {
            children.push(read_host_tree(&entry?.path())?);
        }
        (node(Kind::Directory), vec![], children)
    } else if ft.is_file() {
        (node(Kind::File), std::fs::read(path)?, vec![])
    } else if ft.is_symlink() {
        let target = std::fs::read_link(path)?;
        (
            node(Kind::Symlink),
            target.as_os_str().as_bytes().to_vec(),
            vec![],
        )
    } else {
        return Err(std::io::Error::other(format!(
            "{}: not a regular file, directory or symlink",
            path.display()
        )));
    };
    Ok(WriteNode {
        name,
        node,
        contents,
        children,
    })
}
