//! `fd_readdir`'s directory streams: one host stream per directory descriptor, kept between
//! calls, so that each call costs time in proportion to what it returns, not to the size of the
//! directory (a listing is one pass over it, whatever the guest's buffer size).
//!
//! Cookies are positions, numbered as wasmtime does: 0 is `.`, 1 is `..`, and n ≥ 2 the
//! (n−2)th entry the host lists. A call whose cookie is where the stream stands (the next call
//! of a listing, or the retry of an entry that did not fit in the buffer) just continues; a
//! cookie further on skips forward, an earlier one re-reads from the start. A cookie below 2
//! starts a new listing, so a directory listed again shows what it holds now. Entries are
//! read with `getdents64` on a descriptor of our own, so that nothing else moves its offset.

use super::ctx::mode_filetype;
use super::errno::{cvt, Errno};
use super::host::{fstat, fstatat, retry};
use super::types::{self, filetype};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Bytes asked of `getdents64` at a time (a few hundred entries).
const BUF_SIZE: usize = 16 * 1024;

/// Offsets in a `linux_dirent64`: `d_ino: u64 @0, d_off: i64 @8, d_reclen: u16 @16, d_type: u8
/// @18`, then the NUL-terminated name.
const RECLEN_AT: usize = 16;
const TYPE_AT: usize = 18;
const NAME_AT: usize = 19;

/// One directory entry as `fd_readdir` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DirEntry {
    name: Vec<u8>,
    ino: u64,
    ty: u8,
}

/// The open listing of one directory.
#[derive(Debug)]
pub(crate) struct DirStream {
    /// Our own open file description of the directory: its offset is ours alone.
    fd: OwnedFd,
    /// The directory's own inode, reported for `.` and for `..` (so that nothing about the
    /// parent of a preopen leaks), as wasmtime does.
    ino: u64,
    /// Records returned by the last `getdents64`; `buf[at..len]` are not consumed yet. Freed at
    /// the end of the directory.
    buf: Vec<u8>,
    at: usize,
    len: usize,
    /// The cookie of the entry [`Self::next_entry`] returns next (≥ 2).
    next: u64,
    /// That entry, when it was read but given back (it did not fit in the guest's buffer).
    peeked: Option<DirEntry>,
}

impl DirStream {
    /// Opens a stream on the directory `dir` (a fresh descriptor for it, at its start).
    pub fn open(dir: RawFd) -> Result<DirStream, Errno> {
        // SAFETY: a C string literal; the result is checked.
        let fd = retry(|| unsafe {
            libc::openat(
                dir,
                c".".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: a fresh descriptor from the kernel, owned from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let ino = fstat(fd.as_raw_fd())?.st_ino;
        Ok(DirStream {
            fd,
            ino,
            buf: Vec::new(),
            at: 0,
            len: 0,
            next: 2,
            peeked: None,
        })
    }

    /// The entries from `cookie` on, serialized as `fd_readdir` returns them into a buffer of
    /// `cap` bytes: a dirent header then the name, each; the last one cut off when the buffer
    /// is full (which tells the guest to ask for it again with a bigger buffer).
    pub fn read(&mut self, cookie: u64, cap: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        if cookie < 2 {
            self.rewind()?;
        }
        let mut c = cookie;
        while c < 2 && out.len() < cap {
            let name: &[u8] = if c == 0 { b"." } else { b".." };
            push(&mut out, c + 1, self.ino, filetype::DIRECTORY, name);
            c += 1;
        }
        if out.len() < cap {
            self.seek(c)?;
            while out.len() < cap {
                let Some(ent) = self.next_entry()? else {
                    break;
                };
                push(&mut out, self.next, ent.ino, ent.ty, &ent.name);
                if out.len() > cap {
                    self.unread(ent);
                }
            }
        }
        out.truncate(cap);
        Ok(out)
    }

    /// Back to the first entry, re-reading the directory from the host.
    fn rewind(&mut self) -> Result<(), Errno> {
        // SAFETY: plain lseek on our own descriptor.
        cvt(unsafe { libc::lseek(self.fd.as_raw_fd(), 0, libc::SEEK_SET) })?;
        self.at = 0;
        self.len = 0;
        self.next = 2;
        self.peeked = None;
        Ok(())
    }

    /// Positions the stream at cookie `c` (≥ 2), or at the end if the directory is shorter.
    fn seek(&mut self, c: u64) -> Result<(), Errno> {
        if c < self.next {
            self.rewind()?;
        }
        while self.next < c {
            if self.next_entry()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Gives back the entry [`Self::next_entry`] just returned.
    fn unread(&mut self, ent: DirEntry) {
        self.peeked = Some(ent);
        self.next -= 1;
    }

    /// The next entry (never `.` or `..`), or `None` at the end of the directory.
    fn next_entry(&mut self) -> Result<Option<DirEntry>, Errno> {
        if let Some(ent) = self.peeked.take() {
            self.next += 1;
            return Ok(Some(ent));
        }
        loop {
            if self.at >= self.len && !self.fill()? {
                return Ok(None);
            }
            let rec = &self.buf[self.at..self.len];
            let reclen = rec
                .get(RECLEN_AT..RECLEN_AT + 2)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize);
            if reclen <= NAME_AT || reclen > rec.len() {
                // The kernel never produces this; refuse rather than loop or misparse.
                return Err(Errno::IO);
            }
            let rec = &rec[..reclen];
            self.at += reclen;
            let ino = u64::from_le_bytes(rec[..8].try_into().expect("8 bytes"));
            let name = CStr::from_bytes_until_nul(&rec[NAME_AT..]).map_err(|_| Errno::IO)?;
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let ty = match rec[TYPE_AT] {
                libc::DT_REG => filetype::REGULAR_FILE,
                libc::DT_DIR => filetype::DIRECTORY,
                libc::DT_LNK => filetype::SYMBOLIC_LINK,
                libc::DT_CHR => filetype::CHARACTER_DEVICE,
                libc::DT_BLK => filetype::BLOCK_DEVICE,
                libc::DT_SOCK => filetype::SOCKET_STREAM,
                libc::DT_FIFO => filetype::UNKNOWN,
                // Some filesystems do not fill d_type: ask (without following).
                _ => match fstatat(self.fd.as_raw_fd(), name, libc::AT_SYMLINK_NOFOLLOW) {
                    Ok(st) => mode_filetype(st.st_mode & libc::S_IFMT),
                    Err(_) => filetype::UNKNOWN,
                },
            };
            self.next += 1;
            return Ok(Some(DirEntry {
                name: name.to_bytes().to_vec(),
                ino,
                ty,
            }));
        }
    }

    /// Reads the next batch of records; `false` at the end of the directory.
    fn fill(&mut self) -> Result<bool, Errno> {
        self.buf.resize(BUF_SIZE, 0);
        let (fd, ptr) = (self.fd.as_raw_fd(), self.buf.as_mut_ptr());
        // SAFETY: the buffer is valid for BUF_SIZE writable bytes.
        let n = retry(|| unsafe { libc::syscall(libc::SYS_getdents64, fd, ptr, BUF_SIZE) })?;
        self.at = 0;
        self.len = n as usize;
        if n == 0 {
            // The end: no need to hold the buffer any longer.
            self.buf = Vec::new();
        }
        Ok(n > 0)
    }
}

/// Appends one dirent (header, then name) to `out`.
fn push(out: &mut Vec<u8>, next: u64, ino: u64, ty: u8, name: &[u8]) {
    out.extend_from_slice(&types::encode_dirent(next, ino, name.len() as u32, ty));
    out.extend_from_slice(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bytes: &[u8]) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + types::DIRENT_SIZE <= bytes.len() {
            let next = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            let n = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap()) as usize;
            let start = at + types::DIRENT_SIZE;
            if start + n > bytes.len() {
                break;
            }
            out.push((bytes[start..start + n].to_vec(), next));
            at = start + n;
        }
        out
    }

    #[test]
    fn sequential_calls_continue_the_stream_and_other_cookies_reposition_it() {
        let t = super::super::tests::Tmp::new("dirstream");
        for i in 0..2000 {
            std::fs::write(t.join(&format!("entry-{i:05}")), b"").unwrap();
        }
        let dir = std::fs::File::open(&t.0).unwrap();
        let mut s = DirStream::open(dir.as_raw_fd()).unwrap();
        // A whole listing with a small buffer: every entry once, d_next counting up.
        let (mut all, mut cookie) = (Vec::new(), 0);
        loop {
            let bytes = s.read(cookie, 300).unwrap();
            let got = names(&bytes);
            if got.is_empty() {
                assert!(bytes.is_empty(), "an entry larger than the buffer");
                break;
            }
            for (name, next) in &got {
                assert_eq!(*next, all.len() as u64 + 1, "d_next of {name:?}");
                all.push(name.clone());
            }
            cookie = got.last().unwrap().1;
            if bytes.len() < 300 {
                break;
            }
        }
        assert_eq!(all.len(), 2002);
        assert_eq!(&all[..2], &[b".".to_vec(), b"..".to_vec()]);
        let mut sorted = all[2..].to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 2000, "every entry exactly once");
        // Jumping back and forth gives the same entries at the same cookies.
        for c in [1500u64, 3, 1999, 2, 1000, 0] {
            let got = names(&s.read(c, 100).unwrap());
            assert_eq!(got[0].0, all[c as usize], "cookie {c}");
            assert_eq!(got[0].1, c + 1);
        }
        // Past the end: nothing.
        assert!(s.read(5000, 4096).unwrap().is_empty());
        // A new listing sees an entry created since.
        std::fs::write(t.join("late"), b"").unwrap();
        let mut n = 0;
        let mut cookie = 0;
        loop {
            let got = names(&s.read(cookie, 65536).unwrap());
            if got.is_empty() {
                break;
            }
            n += got.iter().filter(|(name, _)| name == b"late").count();
            cookie = got.last().unwrap().1;
        }
        assert_eq!(n, 1);
    }
}
