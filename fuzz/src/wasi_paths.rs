//! The WASI path-sandbox checker: a sequence of path operations (open/create, mkdir, rmdir,
//! unlink, rename, symlink, link, readlink, stat, set-times, plus reads and writes through the
//! descriptors opened) with fuzzer-chosen paths, run by calling wasic's WASI functions directly
//! (`fn(&WasiCtx, &mut GuestMemory, &mut [ValRaw])`, paths written into a `Vec<u8>` guest memory)
//! against a fresh preopened directory.
//!
//! The preopen sits four directories deep in a private tree with sentinel files and
//! directories at every level beside it, and starts with escape-prone symlinks (`..`, an
//! absolute link to a sentinel, a relative link out). After every run:
//! * nothing outside the preopen was created, removed or modified (a snapshot of the whole
//!   tree outside it, with inode, mode, size, link count, mtime, ctime, contents and link
//!   targets, must be unchanged);
//! * no descriptor the guest opened, no `path_filestat_get` and no `fd_readdir` entry (but
//!   `.` and `..`) ever showed an object outside the preopen (its inode is one of the outside
//!   tree or of its ancestors), and nothing the guest read contains the sentinels' marker
//!   (which the guest's own writes never contain).

use arbitrary::{Result as AResult, Unstructured};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wasic_abi::ValRaw;
use wasic_runtime::wasi::{self, WasiCtx, WasiFn};

/// Written into every sentinel file: a guest read that returns it has escaped.
pub const MARKER: &[u8] = b"WASIC-SENTINEL-4f1c";

/// Guest-memory layout.
const PATH1: u32 = 0x100;
const PATH2: u32 = 0x1100;
const OUT: u32 = 0x10;
const IOVEC: u32 = 0x2000;
const BUF: u32 = 0x3000;
const BUF_LEN: u32 = 0x1000;
const STAT: u32 = 0x2100;
const MEM_SIZE: usize = 0x5000;

const PATH_FOLLOW: u32 = 1;

fn function(name: &str) -> WasiFn {
    static FUNCS: OnceLock<HashMap<&'static str, WasiFn>> = OnceLock::new();
    FUNCS.get_or_init(|| {
        wasi::functions()
            .into_iter()
            .filter(|f| f.module == wasi::PREVIEW1)
            .map(|f| (f.name, f.func))
            .collect()
    })[name]
}

/// The private tree: `base/` holds `l1/l2/l3/pre` (the preopen) and sentinels at each level.
pub struct Tree {
    pub base: PathBuf,
    pub pre: PathBuf,
}

impl Tree {
    /// Makes the tree (once per process) under the system temp directory.
    pub fn get() -> &'static Tree {
        static TREE: OnceLock<Tree> = OnceLock::new();
        TREE.get_or_init(|| {
            let base = std::env::temp_dir().join(format!("wasic-fuzz-wasi-{}", std::process::id()));
            Tree::create(base).expect("create the sentinel tree")
        })
    }

    pub fn create(base: PathBuf) -> std::io::Result<Tree> {
        let _ = std::fs::remove_dir_all(&base);
        let mut dir = base.clone();
        for level in ["l1", "l2", "l3"] {
            std::fs::create_dir_all(dir.join("sentinel/sub"))?;
            let mut content = MARKER.to_vec();
            content.extend_from_slice(dir.to_string_lossy().as_bytes());
            std::fs::write(dir.join("sentinel/secret.txt"), &content)?;
            std::fs::write(dir.join("sentinel/sub/deep.txt"), &content)?;
            std::fs::write(dir.join("outside.txt"), &content)?;
            std::os::unix::fs::symlink("sentinel/secret.txt", dir.join("outside-link"))?;
            dir = dir.join(level);
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join("secret.txt"), MARKER)?;
        Ok(Tree {
            pre: dir.join("pre"),
            base,
        })
    }

    /// Empties the preopen and lays its starting content.
    fn reset_preopen(&self) -> std::io::Result<()> {
        if self.pre.exists() {
            std::fs::remove_dir_all(&self.pre)?;
        }
        let pre = &self.pre;
        std::fs::create_dir_all(pre.join("a/b"))?;
        std::fs::write(pre.join("f.txt"), b"inside")?;
        std::fs::write(pre.join("a/g.txt"), b"inside too")?;
        std::os::unix::fs::symlink("..", pre.join("up"))?;
        std::os::unix::fs::symlink("../secret.txt", pre.join("s"))?;
        std::os::unix::fs::symlink(self.base.join("sentinel"), pre.join("abs"))?;
        std::os::unix::fs::symlink("a/b", pre.join("ab"))?;
        std::os::unix::fs::symlink("../../up", pre.join("a/b/upup"))?;
        std::os::unix::fs::symlink("f.txt", pre.join("lf"))?;
        Ok(())
    }
}

/// One object outside the preopen, as it must stay.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    ino: u64,
    mode: u32,
    size: u64,
    nlink: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    contents: Vec<u8>,
}

/// Everything under `base` except the preopen.
fn snapshot(base: &Path, pre: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![base.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p == pre {
            continue;
        }
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let contents = if md.file_type().is_file() {
            std::fs::read(&p).unwrap_or_default()
        } else if md.file_type().is_symlink() {
            std::fs::read_link(&p)
                .map(|t| t.into_os_string().into_encoded_bytes())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if md.file_type().is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                for e in rd.flatten() {
                    stack.push(e.path());
                }
            }
        }
        out.insert(
            p,
            Entry {
                ino: md.ino(),
                mode: md.mode(),
                size: md.size(),
                nlink: md.nlink(),
                mtime: (md.mtime(), md.mtime_nsec()),
                ctime: (md.ctime(), md.ctime_nsec()),
                contents,
            },
        );
    }
    out
}

/// Path bytes, shown as (lossy) text.
#[derive(Clone)]
pub struct P(pub Vec<u8>);

impl std::fmt::Debug for P {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl std::ops::Deref for P {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// A path operation.
#[derive(Debug, Clone)]
pub enum Op {
    Open {
        dir: u8,
        path: P,
        follow: bool,
        oflags: u16,
        fdflags: u16,
        rights: u64,
        write: Option<Vec<u8>>,
    },
    Mkdir(u8, P),
    Rmdir(u8, P),
    Unlink(u8, P),
    Rename(u8, P, u8, P),
    Symlink(P, u8, P),
    Link(u8, bool, P, u8, P),
    Readlink(u8, P),
    Stat(u8, bool, P),
    SetTimes(u8, bool, P),
    Close(u8),
}

const WORDS: &[&str] = &[
    "..",
    ".",
    "",
    "a",
    "b",
    "f.txt",
    "g.txt",
    "up",
    "s",
    "abs",
    "ab",
    "upup",
    "lf",
    "new",
    "n2",
    "sentinel",
    "secret.txt",
    "outside.txt",
    "outside-link",
    "sub",
    "deep.txt",
    "pre",
    "l3",
    "l2",
    "l1",
    "tmp",
    "etc",
    "proc",
    "self",
    "fd",
    "root",
];

fn arb_path(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    if u.ratio(1, 10)? {
        let n = u.int_in_range(0..=40)?;
        return Ok(u.bytes(n)?.to_vec());
    }
    let mut p = Vec::new();
    if u.ratio(1, 8)? {
        p.push(b'/');
    }
    let n = u.int_in_range(1..=6)?;
    for i in 0..n {
        if i > 0 {
            p.push(b'/');
            if u.ratio(1, 16)? {
                p.push(b'/');
            }
        }
        if u.ratio(1, 12)? {
            let s: &str = u.arbitrary()?;
            p.extend_from_slice(s.as_bytes());
        } else {
            p.extend_from_slice(u.choose(WORDS)?.as_bytes());
        }
    }
    if u.ratio(1, 6)? {
        p.push(b'/');
    }
    Ok(p)
}

fn arb_symlink_target(u: &mut Unstructured<'_>, tree: &Tree) -> AResult<Vec<u8>> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => tree
            .base
            .join("sentinel")
            .as_os_str()
            .as_encoded_bytes()
            .to_vec(),
        1 => tree.base.as_os_str().as_encoded_bytes().to_vec(),
        2 => b"/".to_vec(),
        _ => arb_path(u)?,
    })
}

impl Op {
    fn arbitrary(u: &mut Unstructured<'_>, tree: &Tree) -> AResult<Op> {
        let dir = |u: &mut Unstructured<'_>| -> AResult<u8> {
            Ok(if u.ratio(3, 4)? { 0 } else { u.arbitrary()? })
        };
        Ok(match u.int_in_range(0..=10u8)? {
            0 | 1 => {
                let rights = *u.choose(&[
                    !0u64,
                    1 << 1,                // read
                    1 << 6,                // write
                    (1 << 1) | (1 << 6),   // read + write
                    (1 << 14) | (1 << 13), // readdir + path_open
                    0,
                ])?;
                Op::Open {
                    dir: dir(u)?,
                    path: P(arb_path(u)?),
                    follow: u.arbitrary()?,
                    oflags: u.int_in_range(0..=15)?,
                    fdflags: if u.ratio(1, 4)? { 1 } else { 0 },
                    rights,
                    write: if u.ratio(1, 3)? {
                        let n = u.int_in_range(0..=64)?;
                        let bytes = u.bytes(n)?;
                        // The guest may not forge the marker of the files it must not read.
                        Some(if bytes.windows(MARKER.len()).any(|w| w == MARKER) {
                            Vec::new()
                        } else {
                            bytes.to_vec()
                        })
                    } else {
                        None
                    },
                }
            }
            2 => Op::Mkdir(dir(u)?, P(arb_path(u)?)),
            3 => Op::Rmdir(dir(u)?, P(arb_path(u)?)),
            4 => Op::Unlink(dir(u)?, P(arb_path(u)?)),
            5 => Op::Rename(dir(u)?, P(arb_path(u)?), dir(u)?, P(arb_path(u)?)),
            6 => Op::Symlink(P(arb_symlink_target(u, tree)?), dir(u)?, P(arb_path(u)?)),
            7 => Op::Link(
                dir(u)?,
                u.arbitrary()?,
                P(arb_path(u)?),
                dir(u)?,
                P(arb_path(u)?),
            ),
            8 => Op::Readlink(dir(u)?, P(arb_path(u)?)),
            9 => Op::Stat(dir(u)?, u.arbitrary()?, P(arb_path(u)?)),
            _ => {
                if u.ratio(1, 2)? {
                    Op::SetTimes(dir(u)?, u.arbitrary()?, P(arb_path(u)?))
                } else {
                    Op::Close(u.arbitrary()?)
                }
            }
        })
    }
}

/// A guest: context, memory, the directory descriptors it holds.
struct Guest {
    ctx: WasiCtx,
    mem: Vec<u8>,
    /// Descriptors opened so far (3 = the preopen).
    fds: Vec<u32>,
    /// Inodes outside the preopen (the tree and its ancestors).
    outside: HashSet<(u64, u64)>,
    /// What went wrong.
    violations: Vec<String>,
    pub trace: Vec<String>,
}

impl Guest {
    fn call(&mut self, name: &str, args: &[ValRaw]) -> i32 {
        let mut cells = args.to_vec();
        if cells.is_empty() {
            cells.push(ValRaw::from_i32(0));
        }
        match function(name)(
            &self.ctx,
            &mut wasi::GuestMemory::new(&mut self.mem),
            &mut cells,
        ) {
            Ok(()) => cells[0].as_i32(),
            Err(e) => {
                self.violations
                    .push(format!("{name} did not return: {e:?}"));
                -1
            }
        }
    }

    fn dirfd(&self, pick: u8) -> u32 {
        if pick == 0 {
            3
        } else {
            self.fds[pick as usize % self.fds.len()]
        }
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> (ValRaw, ValRaw) {
        let bytes = &bytes[..bytes.len().min(0x1000)];
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        (ValRaw::from_u32(at), ValRaw::from_u32(bytes.len() as u32))
    }

    fn check_ino(&mut self, what: &str, dev: u64, ino: u64) {
        if self.outside.contains(&(dev, ino)) {
            self.violations.push(format!(
                "{what}: reached an object outside the preopen (inode {ino})"
            ));
        }
    }

    /// fd_filestat_get: dev and inode.
    fn fd_ino(&mut self, fd: u32) -> Option<(u64, u64)> {
        let e = self.call(
            "fd_filestat_get",
            &[ValRaw::from_u32(fd), ValRaw::from_u32(STAT)],
        );
        (e == 0).then(|| (self.u64_at(STAT), self.u64_at(STAT + 8)))
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.mem[at as usize..at as usize + 8].try_into().unwrap())
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn run(&mut self, op: &Op) {
        use ValRaw as R;
        let r = match op {
            Op::Open {
                dir,
                path,
                follow,
                oflags,
                fdflags,
                rights,
                write,
            } => {
                let d = self.dirfd(*dir);
                let (p, l) = self.put(PATH1, path);
                let e = self.call(
                    "path_open",
                    &[
                        R::from_u32(d),
                        R::from_u32(if *follow { PATH_FOLLOW } else { 0 }),
                        p,
                        l,
                        R::from_u32(*oflags as u32),
                        R::from_u64(*rights),
                        R::from_u64(*rights),
                        R::from_u32(*fdflags as u32),
                        R::from_u32(OUT),
                    ],
                );
                if e == 0 {
                    let fd = self.u32_at(OUT);
                    if let Some((dev, ino)) = self.fd_ino(fd) {
                        self.check_ino(&format!("path_open {:?}", show(path)), dev, ino);
                    }
                    self.fds.push(fd);
                    if let Some(bytes) = write {
                        let (bp, bl) = self.put(BUF, bytes);
                        self.mem[IOVEC as usize..IOVEC as usize + 4]
                            .copy_from_slice(&bp.as_u32().to_le_bytes());
                        self.mem[IOVEC as usize + 4..IOVEC as usize + 8]
                            .copy_from_slice(&bl.as_u32().to_le_bytes());
                        self.call(
                            "fd_write",
                            &[
                                R::from_u32(fd),
                                R::from_u32(IOVEC),
                                R::from_u32(1),
                                R::from_u32(OUT),
                            ],
                        );
                    }
                    self.mem[IOVEC as usize..IOVEC as usize + 4]
                        .copy_from_slice(&BUF.to_le_bytes());
                    self.mem[IOVEC as usize + 4..IOVEC as usize + 8]
                        .copy_from_slice(&BUF_LEN.to_le_bytes());
                    let re = self.call(
                        "fd_pread",
                        &[
                            R::from_u32(fd),
                            R::from_u32(IOVEC),
                            R::from_u32(1),
                            R::from_u64(0),
                            R::from_u32(OUT),
                        ],
                    );
                    if re == 0 {
                        let n = (self.u32_at(OUT) as usize).min(BUF_LEN as usize);
                        let got = &self.mem[BUF as usize..BUF as usize + n];
                        if got.windows(MARKER.len()).any(|w| w == MARKER) {
                            self.violations
                                .push(format!("path_open {:?} read a sentinel", show(path)));
                        }
                    }
                    // readdir of an escaped directory would show sentinel names.
                    let re = self.call(
                        "fd_readdir",
                        &[
                            R::from_u32(fd),
                            R::from_u32(BUF),
                            R::from_u32(BUF_LEN),
                            R::from_u64(0),
                            R::from_u32(OUT),
                        ],
                    );
                    if re == 0 {
                        let n = (self.u32_at(OUT) as usize).min(BUF_LEN as usize);
                        self.check_dirents(n, path);
                    }
                }
                e
            }
            Op::Mkdir(dir, path) => self.path_call("path_create_directory", *dir, path),
            Op::Rmdir(dir, path) => self.path_call("path_remove_directory", *dir, path),
            Op::Unlink(dir, path) => self.path_call("path_unlink_file", *dir, path),
            Op::Rename(d1, p1, d2, p2) => {
                let (d1, d2) = (self.dirfd(*d1), self.dirfd(*d2));
                let (a, b) = self.put(PATH1, p1);
                let (c, d) = self.put(PATH2, p2);
                self.call(
                    "path_rename",
                    &[R::from_u32(d1), a, b, R::from_u32(d2), c, d],
                )
            }
            Op::Symlink(target, dir, path) => {
                let d = self.dirfd(*dir);
                let (a, b) = self.put(PATH1, target);
                let (c, e) = self.put(PATH2, path);
                self.call("path_symlink", &[a, b, R::from_u32(d), c, e])
            }
            Op::Link(d1, follow, p1, d2, p2) => {
                let (d1, d2) = (self.dirfd(*d1), self.dirfd(*d2));
                let (a, b) = self.put(PATH1, p1);
                let (c, d) = self.put(PATH2, p2);
                let fl = R::from_u32(if *follow { PATH_FOLLOW } else { 0 });
                self.call(
                    "path_link",
                    &[R::from_u32(d1), fl, a, b, R::from_u32(d2), c, d],
                )
            }
            Op::Readlink(dir, path) => {
                let d = self.dirfd(*dir);
                let (a, b) = self.put(PATH1, path);
                self.call(
                    "path_readlink",
                    &[
                        R::from_u32(d),
                        a,
                        b,
                        R::from_u32(BUF),
                        R::from_u32(BUF_LEN),
                        R::from_u32(OUT),
                    ],
                )
            }
            Op::Stat(dir, follow, path) => {
                let d = self.dirfd(*dir);
                let (a, b) = self.put(PATH1, path);
                let fl = R::from_u32(if *follow { PATH_FOLLOW } else { 0 });
                let e = self.call(
                    "path_filestat_get",
                    &[R::from_u32(d), fl, a, b, R::from_u32(STAT)],
                );
                if e == 0 {
                    let (dev, ino) = (self.u64_at(STAT), self.u64_at(STAT + 8));
                    self.check_ino(&format!("path_filestat_get {:?}", show(path)), dev, ino);
                }
                e
            }
            Op::SetTimes(dir, follow, path) => {
                let d = self.dirfd(*dir);
                let (a, b) = self.put(PATH1, path);
                let fl = R::from_u32(if *follow { PATH_FOLLOW } else { 0 });
                // fst_flags = ATIM_NOW | MTIM_NOW
                self.call(
                    "path_filestat_set_times",
                    &[
                        R::from_u32(d),
                        fl,
                        a,
                        b,
                        R::from_u64(0),
                        R::from_u64(0),
                        R::from_u32(0b1010),
                    ],
                )
            }
            Op::Close(pick) => {
                if self.fds.len() > 1 {
                    let i = 1 + *pick as usize % (self.fds.len() - 1);
                    let fd = self.fds.remove(i);
                    self.call("fd_close", &[R::from_u32(fd)])
                } else {
                    0
                }
            }
        };
        self.trace.push(format!("{op:?} -> errno {r}"));
    }

    /// The entries `fd_readdir` wrote to `BUF` (`n` bytes): none but `.` and `..` may be an
    /// object outside the preopen (`..` of the preopen itself is its parent).
    fn check_dirents(&mut self, n: usize, path: &[u8]) {
        let mut at = 0usize;
        while at + 24 <= n {
            let base = BUF as usize + at;
            let ino = self.u64_at(base as u32 + 8);
            let namlen = self.u32_at(base as u32 + 16) as usize;
            let name_end = (at + 24 + namlen).min(n);
            let name = self.mem[base + 24..BUF as usize + name_end].to_vec();
            if name != b"." && name != b".." && self.outside.iter().any(|&(_, i)| i == ino) {
                self.violations.push(format!(
                    "fd_readdir of {:?} listed {:?}, an object outside the preopen (inode {ino})",
                    show(path),
                    show(&name)
                ));
            }
            at += 24 + namlen;
        }
    }

    fn path_call(&mut self, name: &str, dir: u8, path: &[u8]) -> i32 {
        let d = self.dirfd(dir);
        let (a, b) = self.put(PATH1, path);
        self.call(name, &[ValRaw::from_u32(d), a, b])
    }
}

fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn dev_ino(p: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Runs `ops` in a fresh preopen of `tree`; `Err` lists every sandbox violation.
pub fn run_ops(tree: &Tree, ops: &[Op]) -> Result<Vec<String>, String> {
    run_ops_in(tree, ops, |pre| {
        WasiCtx::builder()
            .preopen_dir(pre, ".")
            .expect("preopen")
            .build()
            .expect("ctx")
    })
}

/// [`run_ops`] with the context `ctx` makes for the preopen directory.
fn run_ops_in(
    tree: &Tree,
    ops: &[Op],
    ctx: impl FnOnce(&Path) -> WasiCtx,
) -> Result<Vec<String>, String> {
    tree.reset_preopen().expect("reset the preopen");
    let before = snapshot(&tree.base, &tree.pre);
    let mut outside: HashSet<(u64, u64)> = before.keys().filter_map(|p| dev_ino(p)).collect();
    let mut anc = tree.base.parent();
    while let Some(a) = anc {
        outside.extend(dev_ino(a));
        anc = a.parent();
    }
    let ctx = ctx(&tree.pre);
    let mut g = Guest {
        ctx,
        mem: vec![0; MEM_SIZE],
        fds: vec![3],
        outside,
        violations: Vec::new(),
        trace: Vec::new(),
    };
    for op in ops {
        g.run(op);
    }
    drop(g.ctx);
    let after = snapshot(&tree.base, &tree.pre);
    if before != after {
        for (p, e) in &before {
            match after.get(p) {
                None => g.violations.push(format!("{} was removed", p.display())),
                Some(a) if a != e => g
                    .violations
                    .push(format!("{} changed: {e:?} -> {a:?}", p.display())),
                _ => {}
            }
        }
        for p in after.keys() {
            if !before.contains_key(p) {
                g.violations.push(format!("{} was created", p.display()));
            }
        }
    }
    if g.violations.is_empty() {
        Ok(g.trace)
    } else {
        Err(format!(
            "SANDBOX VIOLATION:\n  {}\noperations:\n  {}",
            g.violations.join("\n  "),
            g.trace.join("\n  ")
        ))
    }
}

/// Decodes the operations of one fuzz input.
pub fn ops_of(data: &[u8], tree: &Tree) -> Vec<Op> {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 24 {
        match Op::arbitrary(&mut u, tree) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    ops
}

/// The `wasi_paths` fuzz target.
pub fn fuzz_one(data: &[u8]) {
    let tree = Tree::get();
    let ops = ops_of(data, tree);
    if let Err(msg) = run_ops(tree, &ops) {
        panic!("{msg}");
    }
}

/// The `embedded` fuzz target: the same operations against the preopen granted read-only and
/// against the same tree embedded (`wasic build --embed-dir`) must give the same errno, op by
/// op, and neither may break the sandbox.
pub fn fuzz_embedded(data: &[u8]) {
    let tree = Tree::get();
    let ops = ops_of(data, tree);
    let host = run_ops_in(tree, &ops, |pre| {
        WasiCtx::builder()
            .preopen_dir_with(pre, ".", wasi::DirAccess::ReadOnly)
            .expect("preopen")
            .build()
            .expect("ctx")
    });
    let embedded = run_ops_in(tree, &ops, |pre| {
        // The preopen's contents are the same for every input (its times are not compared).
        static IMAGE: OnceLock<&'static [u8]> = OnceLock::new();
        let image = IMAGE.get_or_init(|| {
            let mut w = wasic_abi::embed::TreeWriter::default();
            w.add_root(b".", wasi::read_host_tree(pre).expect("read the preopen"));
            Box::leak(w.finish().into_boxed_slice())
        });
        let tree = wasic_abi::embed::Tree::parse(image).expect("a valid image");
        WasiCtx::builder()
            .preopen_embedded(tree, 0, ".")
            .build()
            .expect("ctx")
    });
    match (host, embedded) {
        (Ok(h), Ok(e)) if h == e => {}
        (Ok(h), Ok(e)) => {
            let at = h.iter().zip(&e).position(|(a, b)| a != b).unwrap_or(h.len().min(e.len()));
            panic!(
                "EMBEDDED DIVERGES at op {at}:\n  read-only host: {}\n  embedded:       {}\nall (host):\n  {}",
                h.get(at).map_or("-", String::as_str),
                e.get(at).map_or("-", String::as_str),
                h.join("\n  ")
            );
        }
        (Err(msg), _) | (_, Err(msg)) => panic!("{msg}"),
    }
}
