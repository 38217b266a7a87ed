//! Unit tests of the WASI functions, called directly with a `Vec<u8>` guest memory and
//! `ValRaw` cells against temporary directories, through the public [`functions`] table.

use super::types::rights;
use super::*;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(super) struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(tag: &str) -> Tmp {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("wasic-wasi-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(super) const OUT: u64 = 0x100;
pub(super) const IOV: u64 = 0x200;
pub(super) const PATH: u64 = 0x1000;
pub(super) const PATH2: u64 = 0x1800;
pub(super) const DATA: u64 = 0x3000;
pub(super) const BUF: u64 = 0x8000;
pub(super) const ALL: u64 = (1 << 30) - 1;
/// Every right but writing: what opening a directory may ask for (writing it is `EISDIR`).
pub(super) const DIR_RIGHTS: u64 = ALL & !rights::FD_WRITE;
pub(super) const PRE: u64 = 3;

pub(super) fn e(x: Errno) -> u16 {
    x.0
}

/// A context plus 64 KiB of guest memory, with helpers that lay arguments out in memory.
pub(super) struct H {
    pub ctx: std::sync::Arc<WasiCtx>,
    pub mem: Vec<u8>,
}

impl H {
    pub fn new(ctx: WasiCtx) -> H {
        H {
            ctx: std::sync::Arc::new(ctx),
            mem: vec![0; 65536],
        }
    }

    /// Another guest thread of the same program: the same context, its own memory.
    pub fn thread(&self) -> H {
        H {
            ctx: self.ctx.clone(),
            mem: vec![0; 65536],
        }
    }

    /// A context whose preopen (fd 3, "/sandbox") is `dir`.
    pub fn with_dir(dir: &Path) -> H {
        H::new(
            WasiCtxBuilder::new()
                .preopen_dir(dir, "/sandbox")
                .unwrap()
                .build()
                .unwrap(),
        )
    }

    pub fn call_in(&mut self, module: &str, name: &str, args: &[u64]) -> Result<u16, WasiExit> {
        let f = functions()
            .into_iter()
            .find(|f| f.module == module && f.name == name)
            .expect(name);
        assert_eq!(f.ty.params.len(), args.len(), "arity of {name}");
        let mut cells: Vec<ValRaw> = args.iter().map(|&v| ValRaw::from_u64(v)).collect();
        if cells.is_empty() {
            cells.push(ValRaw::default());
        }
        (f.func)(&self.ctx, &mut GuestMemory::new(&mut self.mem), &mut cells)?;
        Ok(cells[0].as_u32() as u16)
    }

    pub fn call(&mut self, name: &str, args: &[u64]) -> u16 {
        self.call_in(PREVIEW1, name, args).unwrap()
    }

    pub fn put(&mut self, at: u64, bytes: &[u8]) {
        self.mem[at as usize..][..bytes.len()].copy_from_slice(bytes);
    }
    pub fn bytes(&self, at: u64, len: usize) -> Vec<u8> {
        self.mem[at as usize..][..len].to_vec()
    }
    pub fn u16(&self, at: u64) -> u16 {
        u16::from_le_bytes(self.bytes(at, 2).try_into().unwrap())
    }
    pub fn u32(&self, at: u64) -> u32 {
        u32::from_le_bytes(self.bytes(at, 4).try_into().unwrap())
    }
    pub fn u64(&self, at: u64) -> u64 {
        u64::from_le_bytes(self.bytes(at, 8).try_into().unwrap())
    }

    pub fn path_at(&mut self, at: u64, p: &str) -> (u64, u64) {
        self.put(at, p.as_bytes());
        (at, p.len() as u64)
    }

    pub fn open_in(
        &mut self,
        dir: u64,
        p: &str,
        oflags: u16,
        base: u64,
        fdflags: u16,
        follow: bool,
    ) -> Result<u64, u16> {
        let (pp, pl) = self.path_at(PATH, p);
        let args = [
            dir,
            follow as u64,
            pp,
            pl,
            oflags as u64,
            base,
            base,
            fdflags as u64,
            OUT,
        ];
        match self.call("path_open", &args) {
            0 => Ok(self.u32(OUT) as u64),
            err => Err(err),
        }
    }

    pub fn open(&mut self, p: &str, oflags: u16, base: u64) -> Result<u64, u16> {
        self.open_in(PRE, p, oflags, base, 0, true)
    }

    /// `path_create_directory` / `path_remove_directory` / `path_unlink_file`.
    pub fn path1(&mut self, name: &str, dir: u64, p: &str) -> u16 {
        let (pp, pl) = self.path_at(PATH, p);
        self.call(name, &[dir, pp, pl])
    }

    pub fn rename(&mut self, from: &str, to: &str) -> u16 {
        let (a, al) = self.path_at(PATH, from);
        let (b, bl) = self.path_at(PATH2, to);
        self.call("path_rename", &[PRE, a, al, PRE, b, bl])
    }

    pub fn link(&mut self, from: &str, follow: bool, to: &str) -> u16 {
        let (a, al) = self.path_at(PATH, from);
        let (b, bl) = self.path_at(PATH2, to);
        self.call("path_link", &[PRE, follow as u64, a, al, PRE, b, bl])
    }

    pub fn symlink(&mut self, target: &str, at: &str) -> u16 {
        let (a, al) = self.path_at(PATH, target);
        let (b, bl) = self.path_at(PATH2, at);
        self.call("path_symlink", &[a, al, PRE, b, bl])
    }

    pub fn readlink(&mut self, p: &str, cap: u64) -> Result<Vec<u8>, u16> {
        let (pp, pl) = self.path_at(PATH, p);
        match self.call("path_readlink", &[PRE, pp, pl, DATA, cap, OUT]) {
            0 => Ok(self.bytes(DATA, self.u32(OUT) as usize)),
            err => Err(err),
        }
    }

    /// `path_filestat_get` → (filetype, size, nlink).
    pub fn stat(&mut self, p: &str, follow: bool) -> Result<(u8, u64, u64), u16> {
        let (pp, pl) = self.path_at(PATH, p);
        match self.call("path_filestat_get", &[PRE, follow as u64, pp, pl, BUF]) {
            0 => Ok((
                self.mem[BUF as usize + 16],
                self.u64(BUF + 32),
                self.u64(BUF + 24),
            )),
            err => Err(err),
        }
    }

    pub fn write(&mut self, fd: u64, data: &[u8]) -> Result<u32, u16> {
        self.put(DATA, data);
        self.put(IOV, &(DATA as u32).to_le_bytes());
        self.put(IOV + 4, &(data.len() as u32).to_le_bytes());
        match self.call("fd_write", &[fd, IOV, 1, OUT]) {
            0 => Ok(self.u32(OUT)),
            err => Err(err),
        }
    }

    pub fn read(&mut self, fd: u64, len: u32) -> Result<Vec<u8>, u16> {
        self.put(IOV, &(DATA as u32).to_le_bytes());
        self.put(IOV + 4, &len.to_le_bytes());
        match self.call("fd_read", &[fd, IOV, 1, OUT]) {
            0 => Ok(self.bytes(DATA, self.u32(OUT) as usize)),
            err => Err(err),
        }
    }

    pub fn seek(&mut self, fd: u64, off: i64, whence: u64) -> Result<u64, u16> {
        match self.call("fd_seek", &[fd, off as u64, whence, OUT]) {
            0 => Ok(self.u64(OUT)),
            err => Err(err),
        }
    }
}

#[test]
fn table_lists_every_function_for_both_modules_with_witx_types() {
    let fs = functions();
    let p1: Vec<_> = fs
        .iter()
        .filter(|f| f.module == "wasi_snapshot_preview1")
        .collect();
    let p0: Vec<_> = fs.iter().filter(|f| f.module == "wasi_unstable").collect();
    assert_eq!(p1.len(), 46);
    assert_eq!(p0.len(), 45);
    assert!(!p0.iter().any(|f| f.name == "sock_accept"));
    let ty = |m: &str, n: &str| {
        fs.iter()
            .find(|f| f.module == m && f.name == n)
            .unwrap()
            .ty
            .clone()
    };
    use wasic_abi::ValType::{I32, I64};
    let open = ty(PREVIEW1, "path_open");
    assert_eq!(
        open.params,
        vec![I32, I32, I32, I32, I32, I64, I64, I32, I32]
    );
    assert_eq!(open.results, vec![I32]);
    assert!(ty(UNSTABLE, "proc_exit").results.is_empty());
    assert_eq!(ty(UNSTABLE, "fd_seek").params, vec![I32, I64, I32, I32]);
    assert_eq!(ty(PREVIEW1, "sched_yield").params, vec![]);
}

#[test]
fn args_and_environ() {
    let ctx = WasiCtxBuilder::new()
        .args(["prog", "héllo"])
        .env("A", "1")
        .env("BB", "xy")
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    assert_eq!(h.call("args_sizes_get", &[OUT, OUT + 4]), 0);
    assert_eq!((h.u32(OUT), h.u32(OUT + 4)), (2, 5 + 7));
    assert_eq!(h.call("args_get", &[DATA, BUF]), 0);
    assert_eq!(h.u32(DATA) as u64, BUF);
    assert_eq!(h.u32(DATA + 4) as u64, BUF + 5);
    assert_eq!(h.bytes(BUF, 12), b"prog\0h\xc3\xa9llo\0");
    assert_eq!(h.call("environ_sizes_get", &[OUT, OUT + 4]), 0);
    assert_eq!((h.u32(OUT), h.u32(OUT + 4)), (2, 4 + 6));
    assert_eq!(h.call("environ_get", &[DATA, BUF]), 0);
    assert_eq!(h.bytes(BUF, 10), b"A=1\0BB=xy\0");
    // Pointers out of bounds, or a buffer running past the end.
    assert_eq!(h.call("args_get", &[65536, BUF]), e(Errno::FAULT));
    assert_eq!(h.call("args_get", &[DATA, 65530]), e(Errno::FAULT));
    assert_eq!(h.call("environ_sizes_get", &[OUT, 65534]), e(Errno::FAULT));
    assert!(WasiCtxBuilder::new().env("A=B", "x").build().is_err());
    assert!(WasiCtxBuilder::new().arg("a\0b").build().is_err());
    assert!(WasiCtxBuilder::new().inherit_env().build().is_ok());
}

#[test]
fn clocks_random_sched_proc() {
    let mut h = H::new(WasiCtxBuilder::new().build().unwrap());
    for id in 0..4 {
        assert_eq!(h.call("clock_res_get", &[id, OUT]), 0);
        assert!(h.u64(OUT) > 0);
        assert_eq!(h.call("clock_time_get", &[id, 1, OUT]), 0);
    }
    assert_eq!(h.call("clock_time_get", &[0, 0, OUT]), 0);
    assert!(h.u64(OUT) > 1_600_000_000_000_000_000);
    assert_eq!(h.call("clock_time_get", &[9, 0, OUT]), e(Errno::INVAL));
    assert_eq!(h.call("clock_res_get", &[9, OUT]), e(Errno::INVAL));
    assert_eq!(h.call("clock_time_get", &[1, 0, 65532]), e(Errno::FAULT));

    assert_eq!(h.call("random_get", &[DATA, 64]), 0);
    assert!(h.bytes(DATA, 64).iter().any(|&b| b != 0));
    assert_eq!(h.call("random_get", &[65536, 0]), 0);
    assert_eq!(h.call("random_get", &[65530, 7]), e(Errno::FAULT));
    assert_eq!(h.call("random_get", &[0xffff_fff0, 0x20]), e(Errno::FAULT));

    assert_eq!(h.call("sched_yield", &[]), 0);
    assert_eq!(h.call("proc_raise", &[6]), e(Errno::NOTSUP));
    assert_eq!(
        h.call_in(PREVIEW1, "proc_exit", &[3]),
        Err(WasiExit::Exit(3))
    );
    assert_eq!(
        h.call_in(UNSTABLE, "proc_exit", &[0]),
        Err(WasiExit::Exit(0))
    );

    // An empty memory (module without memory) is fine as long as nothing is dereferenced.
    let mut cells = [ValRaw::from_u32(0), ValRaw::from_u32(0)];
    let f = functions()
        .into_iter()
        .find(|f| f.name == "random_get")
        .unwrap();
    (f.func)(&h.ctx, &mut GuestMemory::new(&mut []), &mut cells).unwrap();
    assert_eq!(cells[0].as_u32(), 0);
    cells = [ValRaw::from_u32(0), ValRaw::from_u32(1)];
    (f.func)(&h.ctx, &mut GuestMemory::new(&mut []), &mut cells).unwrap();
    assert_eq!(cells[0].as_u32(), 21);
}

#[test]
fn preopens_and_stdio_fdstat() {
    let t = Tmp::new("pre");
    let t2 = Tmp::new("pre2");
    let ctx = WasiCtxBuilder::new()
        .preopen_dir(&t.0, "/sandbox")
        .unwrap()
        .preopen_dir(&t2.0, "data")
        .unwrap()
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    assert_eq!(h.call("fd_prestat_get", &[3, OUT]), 0);
    assert_eq!((h.mem[OUT as usize], h.u32(OUT + 4)), (0, 8));
    assert_eq!(h.call("fd_prestat_dir_name", &[3, DATA, 8]), 0);
    assert_eq!(h.bytes(DATA, 8), b"/sandbox");
    assert_eq!(h.call("fd_prestat_get", &[4, OUT]), 0);
    assert_eq!(h.u32(OUT + 4), 4);
    assert_eq!(
        h.call("fd_prestat_dir_name", &[4, DATA, 3]),
        e(Errno::NAMETOOLONG)
    );
    assert_eq!(h.call("fd_prestat_get", &[5, OUT]), e(Errno::BADF));
    assert_eq!(h.call("fd_prestat_get", &[1, OUT]), e(Errno::BADF));
    assert_eq!(
        h.call("fd_prestat_dir_name", &[1, DATA, 8]),
        e(Errno::NOTDIR)
    );
    assert_eq!(
        h.call("fd_prestat_dir_name", &[3, 65533, 8]),
        e(Errno::FAULT)
    );
    assert!(WasiCtxBuilder::new()
        .preopen_dir(t.join("missing"), "x")
        .is_err());

    assert_eq!(h.call("fd_fdstat_get", &[3, OUT]), 0);
    assert_eq!(h.mem[OUT as usize], 3, "directory");
    assert_eq!(h.u64(OUT + 8), rights::DIR);
    assert_eq!(h.u64(OUT + 16), rights::DIR_INHERITING);
    assert_eq!(h.call("fd_fdstat_get", &[0, OUT]), 0);
    assert_eq!(
        h.u64(OUT + 8) & rights::FD_WRITE,
        0,
        "stdin is not writable"
    );
    assert_eq!(h.call("fd_fdstat_get", &[1, OUT]), 0);
    assert_eq!(
        h.u64(OUT + 8) & rights::FD_READ,
        0,
        "stdout is not readable"
    );
    assert_eq!(h.call("fd_fdstat_get", &[77, OUT]), e(Errno::BADF));
    assert_eq!(h.call("fd_fdstat_get", &[3, 65530]), e(Errno::FAULT));
}

#[test]
fn file_io_seek_tell_and_stat() {
    let t = Tmp::new("io");
    let mut h = H::with_dir(&t.0);
    let fd = h.open("f.txt", 1 /* creat */, ALL).unwrap();
    assert!(fd > 3);
    assert_eq!(h.write(fd, b"hello world").unwrap(), 11);
    assert_eq!(fs::read(t.join("f.txt")).unwrap(), b"hello world");
    assert_eq!(h.call("fd_tell", &[fd, OUT]), 0);
    assert_eq!(h.u64(OUT), 11);
    assert_eq!(h.seek(fd, 6, 0), Ok(6));
    assert_eq!(h.read(fd, 100).unwrap(), b"world");
    assert_eq!(h.seek(fd, -5, 1), Ok(6));
    assert_eq!(h.seek(fd, -1, 2), Ok(10));
    assert_eq!(h.seek(fd, -100, 1), Err(e(Errno::INVAL)));
    assert_eq!(h.seek(fd, 0, 3), Err(e(Errno::INVAL)));
    // Snapshot 0 numbers whence differently: cur=0, end=1, set=2.
    assert_eq!(h.call_in(UNSTABLE, "fd_seek", &[fd, 2, 2, OUT]), Ok(0));
    assert_eq!(h.u64(OUT), 2);
    assert_eq!(h.call_in(UNSTABLE, "fd_seek", &[fd, 1, 0, OUT]), Ok(0));
    assert_eq!(h.u64(OUT), 3);
    assert_eq!(h.call_in(UNSTABLE, "fd_seek", &[fd, 0, 1, OUT]), Ok(0));
    assert_eq!(h.u64(OUT), 11);

    // Scatter/gather: two iovecs.
    h.put(DATA, b"ABCD");
    for (i, (p, l)) in [(DATA, 2u32), (DATA + 2, 2)].iter().enumerate() {
        h.put(IOV + 8 * i as u64, &(*p as u32).to_le_bytes());
        h.put(IOV + 8 * i as u64 + 4, &l.to_le_bytes());
    }
    assert_eq!(h.call("fd_pwrite", &[fd, IOV, 2, 0, OUT]), 0);
    assert_eq!(h.u32(OUT), 4);
    assert_eq!(fs::read(t.join("f.txt")).unwrap(), b"ABCDo world");
    h.put(DATA, b"....");
    assert_eq!(h.call("fd_pread", &[fd, IOV, 2, 7, OUT]), 0);
    assert_eq!((h.u32(OUT), h.bytes(DATA, 4)), (4, b"orld".to_vec()));
    assert_eq!(h.call("fd_tell", &[fd, OUT]), 0);
    assert_eq!(h.u64(OUT), 11, "pread/pwrite leave the position alone");

    assert_eq!(h.call("fd_filestat_get", &[fd, BUF]), 0);
    assert_eq!(h.mem[BUF as usize + 16], 4, "regular file");
    assert_eq!(h.u64(BUF + 24), 1, "nlink");
    assert_eq!(h.u64(BUF + 32), 11, "size");
    // Snapshot 0: nlink is a u32 at 20, size at 24.
    assert_eq!(h.call_in(UNSTABLE, "fd_filestat_get", &[fd, BUF]), Ok(0));
    assert_eq!((h.u32(BUF + 20), h.u64(BUF + 24)), (1, 11));
    assert_eq!(h.call("fd_filestat_set_size", &[fd, 3]), 0);
    assert_eq!(fs::read(t.join("f.txt")).unwrap(), b"ABC");
    assert_eq!(
        h.call(
            "fd_filestat_set_times",
            &[fd, 1_000_000_000, 2_000_000_007, 1 | 4]
        ),
        0
    );
    assert_eq!(h.call("fd_filestat_get", &[fd, BUF]), 0);
    assert_eq!(
        (h.u64(BUF + 40), h.u64(BUF + 48)),
        (1_000_000_000, 2_000_000_007)
    );
    assert_eq!(
        h.call("fd_filestat_set_times", &[fd, 0, 0, 1 | 2]),
        e(Errno::INVAL)
    );
    assert_eq!(h.call("fd_filestat_set_times", &[fd, 0, 0, 8]), 0);
    assert_eq!(h.call("fd_advise", &[fd, 0, 0, 1]), 0);
    assert_eq!(h.call("fd_advise", &[fd, 0, 0, 9]), e(Errno::INVAL));
    assert_eq!(h.call("fd_allocate", &[fd, 0, 100]), 0);
    assert_eq!(fs::metadata(t.join("f.txt")).unwrap().len(), 100);
    assert_eq!(h.call("fd_datasync", &[fd]), 0);
    assert_eq!(h.call("fd_sync", &[fd]), 0);
    assert_eq!(h.call("fd_close", &[fd]), 0);
    assert_eq!(h.call("fd_close", &[fd]), e(Errno::BADF));
    assert_eq!(h.read(fd, 1), Err(e(Errno::BADF)));
}

#[test]
fn efault_on_bad_pointers_and_lengths() {
    let t = Tmp::new("fault");
    let mut h = H::with_dir(&t.0);
    let fd = h.open("f", 1, ALL).unwrap();
    // iovec array out of bounds, iovec buffer out of bounds, overflowing ptr+len, result ptr.
    assert_eq!(h.call("fd_write", &[fd, 65532, 1, OUT]), e(Errno::FAULT));
    h.put(IOV, &65530u32.to_le_bytes());
    h.put(IOV + 4, &10u32.to_le_bytes());
    assert_eq!(h.call("fd_write", &[fd, IOV, 1, OUT]), e(Errno::FAULT));
    assert_eq!(h.call("fd_read", &[fd, IOV, 1, OUT]), e(Errno::FAULT));
    h.put(IOV, &0xffff_fff0u32.to_le_bytes());
    h.put(IOV + 4, &0x20u32.to_le_bytes());
    assert_eq!(h.call("fd_write", &[fd, IOV, 1, OUT]), e(Errno::FAULT));
    assert_eq!(
        h.call("fd_write", &[fd, IOV, 0x2000_0000, OUT]),
        e(Errno::FAULT)
    );
    h.put(IOV, &(DATA as u32).to_le_bytes());
    h.put(IOV + 4, &1u32.to_le_bytes());
    assert_eq!(h.call("fd_write", &[fd, IOV, 1, 65533]), e(Errno::FAULT));
    assert_eq!(
        fs::read(t.join("f")).unwrap(),
        b"",
        "nothing written on EFAULT"
    );
    assert_eq!(
        h.call("fd_pread", &[fd, IOV, 1, 0, 0xffff_ffff]),
        e(Errno::FAULT)
    );
    assert_eq!(h.call("fd_tell", &[fd, 65535]), e(Errno::FAULT));
    assert_eq!(h.call("fd_filestat_get", &[fd, 65500]), e(Errno::FAULT));
    assert_eq!(
        h.call("fd_readdir", &[PRE, 65000, 1000, 0, OUT]),
        e(Errno::FAULT)
    );
    assert_eq!(
        h.call(
            "path_open",
            &[PRE, 0, 0xffff_fff0, 0x20, 1, ALL, ALL, 0, OUT]
        ),
        e(Errno::FAULT)
    );
    // path_open with an unwritable result pointer must not leave a file behind.
    h.put(PATH, b"g");
    assert_eq!(
        h.call("path_open", &[PRE, 0, PATH, 1, 1, ALL, ALL, 0, 65535]),
        e(Errno::FAULT)
    );
    assert!(!t.join("g").exists());
    assert_eq!(
        h.call("path_create_directory", &[PRE, 65535, 2]),
        e(Errno::FAULT)
    );
    assert_eq!(
        h.call("path_readlink", &[PRE, PATH, 1, 65000, 1000, OUT]),
        e(Errno::FAULT)
    );
    assert_eq!(
        h.call("poll_oneoff", &[65500, BUF, 2, OUT]),
        e(Errno::FAULT)
    );
    assert_eq!(
        h.call("poll_oneoff", &[BUF, BUF, 0x1000_0000, OUT]),
        e(Errno::FAULT)
    );
    // Invalid UTF-8 in a path.
    h.put(PATH, b"\xff\xfe");
    assert_eq!(
        h.call("path_create_directory", &[PRE, PATH, 2]),
        e(Errno::ILSEQ)
    );
}

/// As on wasmtime, the rights a guest asks `path_open` for only choose the host open mode
/// (read, write): a descriptor can do what that mode and its grant allow, whatever else was
/// asked for. wasmtime's own test programs open directories with no rights and create files.
#[test]
fn requested_rights_choose_the_open_mode_and_nothing_else() {
    let t = Tmp::new("rights");
    fs::write(t.join("data"), b"data").unwrap();
    let mut h = H::with_dir(&t.0);
    let fdstat = |h: &mut H, fd: u64| {
        assert_eq!(h.call("fd_fdstat_get", &[fd, OUT]), 0);
        (h.mem[OUT as usize], h.u64(OUT + 8), h.u64(OUT + 16))
    };
    // A directory opened with no rights at all, and no inheriting rights.
    let dir = h.open_in(PRE, ".", 2 /* directory */, 0, 0, false).unwrap();
    let (ty, base, _) = fdstat(&mut h, dir);
    assert_eq!(
        (ty, base),
        (3, rights::DIR),
        "a directory with every directory right"
    );
    // Through it: create a file with no rights (opened for writing, as on wasmtime), write,
    // read back with just FD_READ, list, make and remove a directory, unlink.
    let f = h.open_in(dir, "new", 1 /* creat */, 0, 0, false).unwrap();
    assert_eq!(h.write(f, b"hello").unwrap(), 5);
    assert_eq!(h.read(f, 5), Err(e(Errno::BADF)), "opened for writing only");
    let (_, base, _) = fdstat(&mut h, f);
    assert_eq!(base, rights::FILE & !rights::FD_READ);
    let r = h.open_in(dir, "new", 0, rights::FD_READ, 0, false).unwrap();
    assert_eq!(h.read(r, 100).unwrap(), b"hello");
    assert_eq!(
        h.write(r, b"x"),
        Err(e(Errno::BADF)),
        "opened for reading only"
    );
    assert_eq!(h.seek(r, 1, 0), Ok(1), "seek without asking for FD_SEEK");
    assert_eq!(h.call("fd_filestat_get", &[r, BUF]), 0);
    assert_eq!(h.u64(BUF + 32), 5);
    let (_, base, _) = fdstat(&mut h, r);
    assert_eq!(base, rights::FILE & !rights::FD_WRITE);
    // ftruncate on a descriptor not open for writing: the host's answer.
    assert_eq!(h.call("fd_filestat_set_size", &[r, 0]), e(Errno::INVAL));
    assert_eq!(fs::read(t.join("new")).unwrap(), b"hello");
    let none = h.open_in(dir, "data", 0, 0, 0, false).unwrap();
    assert_eq!(
        h.read(none, 100).unwrap(),
        b"data",
        "no rights: opened for reading"
    );
    assert_eq!(h.call("fd_readdir", &[dir, BUF, 4096, 0, OUT]), 0);
    assert!(h.u32(OUT) > 0);
    assert_eq!(h.path1("path_create_directory", dir, "sub"), 0);
    let sub = h.open_in(dir, "sub", 2, 0, 0, false).unwrap();
    let g = h
        .open_in(sub, "g", 1 | 8 /* creat|trunc */, 0, 0, false)
        .unwrap();
    assert_eq!(h.write(g, b"deep").unwrap(), 4);
    assert_eq!(fs::read(t.join("sub/g")).unwrap(), b"deep");
    assert_eq!(h.path1("path_unlink_file", sub, "g"), 0);
    assert_eq!(h.path1("path_remove_directory", dir, "sub"), 0);
    assert_eq!(h.path1("path_unlink_file", dir, "new"), 0);
    assert!(!t.join("new").exists() && !t.join("sub").exists());

    // The guest may still give rights up itself, and then they are gone.
    let ro = h.open("data", 0, rights::FD_READ).unwrap();
    assert_eq!(h.call("fd_fdstat_set_rights", &[ro, rights::FD_SEEK, 0]), 0);
    assert_eq!(h.read(ro, 4), Err(e(Errno::BADF)));
    assert_eq!(
        h.call(
            "fd_fdstat_set_rights",
            &[ro, rights::FD_SEEK | rights::FD_READ, 0]
        ),
        e(Errno::NOTCAPABLE)
    );
    assert_eq!(fdstat(&mut h, ro).1, rights::FD_SEEK);
    // A directory whose rights were narrowed cannot create files, and what it opens gets at
    // most its inheriting rights.
    assert_eq!(
        h.call(
            "fd_fdstat_set_rights",
            &[PRE, rights::PATH_OPEN, rights::FD_READ]
        ),
        0
    );
    assert_eq!(h.open("new", 1, ALL), Err(e(Errno::NOTCAPABLE)));
    assert!(!t.join("new").exists());
    assert_eq!(
        h.open("data", 0, ALL),
        Err(e(Errno::NOTCAPABLE)),
        "asks to write"
    );
    let f = h.open("data", 0, rights::FD_READ).unwrap();
    assert_eq!(fdstat(&mut h, f).1, rights::FD_READ);
    assert_eq!(
        h.path1("path_create_directory", PRE, "d"),
        e(Errno::NOTCAPABLE)
    );
    // Path operations on a file descriptor.
    assert_eq!(h.path1("path_create_directory", f, "d"), e(Errno::NOTDIR));
    assert_eq!(h.call("fd_readdir", &[f, BUF, 100, 0, OUT]), e(Errno::BADF));
}

/// Opening a directory for writing is `EISDIR`, with or without `O_DIRECTORY`, as in POSIX and
/// on wasmtime (it used to be opened read-only instead).
#[test]
fn opening_a_directory_for_writing_is_eisdir() {
    let t = Tmp::new("isdir");
    fs::create_dir(t.join("sub")).unwrap();
    let mut h = H::with_dir(&t.0);
    for (p, oflags) in [(".", 2), (".", 0), ("sub", 2), ("sub", 0), ("sub/", 0)] {
        for want in [rights::FD_WRITE, rights::FD_READ | rights::FD_WRITE, ALL] {
            assert_eq!(
                h.open(p, oflags, want),
                Err(e(Errno::ISDIR)),
                "{p} oflags {oflags} rights {want:#x}"
            );
        }
        let d = h
            .open(p, oflags, rights::FD_READ | rights::FD_READDIR)
            .unwrap();
        assert_eq!(h.call("fd_fdstat_get", &[d, OUT]), 0);
        assert_eq!(h.mem[OUT as usize], 3);
    }
    assert_eq!(h.open("sub", 1 /* creat */, 0), Err(e(Errno::ISDIR)));
}

/// Stdio is a stream to read (0) or write (1, 2), as on wasmtime, whatever the host gave us:
/// an appended-to log file cannot be truncated, extended, written at an offset, re-timed or
/// repositioned, and a directory on stdin grants nothing.
#[test]
fn stdio_is_a_stream_whatever_the_host_descriptor_is() {
    use std::io::Write;
    let t = Tmp::new("stdio");
    fs::write(t.join("log"), b"earlier\n").unwrap();
    fs::write(t.join("input"), b"input data").unwrap();
    fs::create_dir(t.join("dir")).unwrap();
    fs::write(t.join("dir/keep"), b"keep").unwrap();
    let log = fs::OpenOptions::new()
        .append(true)
        .open(t.join("log"))
        .unwrap();
    let input = fs::File::open(t.join("input")).unwrap();
    let dir = fs::File::open(t.join("dir")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .stdin(dir.as_raw_fd())
        .stdout(log.as_raw_fd())
        .stderr(input.as_raw_fd())
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    let old = fs::metadata(t.join("log")).unwrap().modified().unwrap();
    for fd in [0, 1, 2] {
        assert_eq!(h.call("fd_fdstat_get", &[fd, OUT]), 0);
        let base = h.u64(OUT + 8);
        assert_eq!(
            h.mem[OUT as usize], 0,
            "fd {fd}: filetype unknown (no terminal)"
        );
        let want = if fd == 0 {
            rights::STDIN
        } else {
            rights::STDOUT
        };
        assert_eq!(base, want, "fd {fd}: stream rights only");
        assert_eq!(h.u64(OUT + 16), 0);
    }
    // fd 1 is the appended log: everything but appending fails as on wasmtime.
    assert_eq!(h.call("fd_filestat_set_size", &[1, 0]), e(Errno::BADF));
    assert_eq!(h.call("fd_allocate", &[1, 0, 4096]), e(Errno::BADF));
    assert_eq!(
        h.call("fd_filestat_set_times", &[1, 0, 0, 2 | 8]),
        e(Errno::BADF)
    );
    assert_eq!(h.seek(1, 0, 0), Err(e(Errno::SPIPE)));
    assert_eq!(h.call("fd_tell", &[1, OUT]), e(Errno::SPIPE));
    assert_eq!(h.call("fd_advise", &[1, 0, 0, 4]), e(Errno::BADF));
    assert_eq!(h.call("fd_datasync", &[1]), e(Errno::BADF));
    assert_eq!(h.call("fd_sync", &[1]), e(Errno::BADF));
    assert_eq!(h.call("fd_fdstat_set_flags", &[1, 0]), e(Errno::BADF));
    h.put(DATA, b"X");
    h.put(IOV, &(DATA as u32).to_le_bytes());
    h.put(IOV + 4, &1u32.to_le_bytes());
    assert_eq!(h.call("fd_pwrite", &[1, IOV, 1, 0, OUT]), e(Errno::SPIPE));
    assert_eq!(h.call("fd_pread", &[1, IOV, 1, 0, OUT]), e(Errno::BADF));
    assert_eq!(h.read(1, 4), Err(e(Errno::BADF)));
    assert_eq!(fs::read(t.join("log")).unwrap(), b"earlier\n");
    assert_eq!(
        fs::metadata(t.join("log")).unwrap().modified().unwrap(),
        old
    );
    assert_eq!(h.write(1, b"appended\n").unwrap(), 9);
    assert_eq!(fs::read(t.join("log")).unwrap(), b"earlier\nappended\n");
    // fd 2 here is a regular file opened for reading: no writing, no positioning.
    assert_eq!(h.write(2, b"x"), Err(e(Errno::BADF)));
    assert_eq!(h.call("fd_pread", &[2, IOV, 1, 0, OUT]), e(Errno::BADF));
    // fd 0 is a directory: no path call, no listing, no stat of names, no preopen.
    assert_eq!(h.open_in(0, "new", 1, ALL, 0, false), Err(e(Errno::BADF)));
    assert_eq!(
        h.open_in(0, "keep", 0, rights::FD_READ, 0, false),
        Err(e(Errno::BADF))
    );
    assert_eq!(
        h.path1("path_create_directory", 0, "newdir"),
        e(Errno::BADF)
    );
    assert_eq!(h.path1("path_unlink_file", 0, "keep"), e(Errno::BADF));
    assert_eq!(h.path1("path_remove_directory", 0, "keep"), e(Errno::BADF));
    assert_eq!(
        h.call("fd_readdir", &[0, BUF, 4096, 0, OUT]),
        e(Errno::BADF)
    );
    assert_eq!(h.call("fd_prestat_get", &[0, OUT]), e(Errno::BADF));
    assert_eq!(h.call("fd_pread", &[0, IOV, 1, 0, OUT]), e(Errno::SPIPE));
    assert_eq!(
        h.call("fd_filestat_set_times", &[0, 0, 0, 2 | 8]),
        e(Errno::BADF)
    );
    assert_eq!(
        fs::read_dir(t.join("dir")).unwrap().count(),
        1,
        "nothing created or removed in the directory on stdin"
    );
    assert!(t.join("dir/keep").exists());
    (&log).flush().unwrap();
}

/// A read-only grant (`DirAccess::ReadOnly`, wasmtime's `DirPerms::READ`/`FilePerms::READ`):
/// reading and listing work; every call that would change something through it, or through a
/// directory or file opened beneath it, fails with wasmtime's `EPERM` (writing a descriptor
/// that is only open for reading is the host's `EBADF`), and nothing changes on the host.
#[test]
fn read_only_grant_refuses_every_change_beneath_it() {
    let t = Tmp::new("ro");
    let rw = Tmp::new("ro-rw");
    fs::create_dir(t.join("sub")).unwrap();
    fs::write(t.join("sub/f"), b"content").unwrap();
    fs::write(t.join("g"), b"gee").unwrap();
    std::os::unix::fs::symlink("g", t.join("link")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopen_dir_with(&t.0, "/ro", DirAccess::ReadOnly)
        .unwrap()
        .preopen_dir(&rw.0, "/rw")
        .unwrap()
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    const RW: u64 = 4;
    let tree = |p: &Path| {
        let mut v = Vec::new();
        let mut todo = vec![p.to_path_buf()];
        while let Some(d) = todo.pop() {
            for ent in fs::read_dir(&d).unwrap() {
                let p = ent.unwrap().path();
                let md = fs::symlink_metadata(&p).unwrap();
                use std::os::unix::fs::MetadataExt;
                v.push((p.clone(), md.len(), md.mtime(), md.mtime_nsec(), md.nlink()));
                if md.is_dir() {
                    todo.push(p);
                }
            }
        }
        v.sort();
        v
    };
    let before = tree(&t.0);
    let perm = e(Errno::PERM);

    // Reading works.
    let sub = h.open("sub", 2, rights::FD_READ).unwrap();
    let f = h.open_in(sub, "f", 0, rights::FD_READ, 0, false).unwrap();
    assert_eq!(h.read(f, 100).unwrap(), b"content");
    assert_eq!(h.seek(f, 0, 0), Ok(0));
    assert_eq!(h.stat("sub/f", false), Ok((4, 7, 1)));
    assert_eq!(h.readlink("link", 10).unwrap(), b"g");
    assert_eq!(read_dir_names(&mut h, PRE, 4096).len(), 5);
    assert_eq!(read_dir_names(&mut h, sub, 4096).len(), 3);
    let via_link = h.open("link", 0, 0).unwrap();
    assert_eq!(h.read(via_link, 10).unwrap(), b"gee");
    // What fd_fdstat_get says: no right that changes anything, on the preopen and beneath.
    for fd in [PRE, sub, f] {
        assert_eq!(h.call("fd_fdstat_get", &[fd, OUT]), 0);
        assert_eq!(h.u64(OUT + 8) & rights::MUTATING, 0, "fd {fd}");
    }

    // Every change fails, through the preopen and through `sub`.
    for dir in [PRE, sub] {
        let p = |s: &str| {
            if dir == PRE {
                format!("sub/{s}")
            } else {
                s.to_string()
            }
        };
        assert_eq!(
            h.open_in(dir, &p("new"), 1, 0, 0, false),
            Err(perm),
            "create"
        );
        assert_eq!(
            h.open_in(dir, &p("f"), 1 | 4, 0, 0, false),
            Err(perm),
            "create excl"
        );
        assert_eq!(
            h.open_in(dir, &p("f"), 8, 0, 0, false),
            Err(perm),
            "truncate"
        );
        for want in [rights::FD_WRITE, rights::FD_READ | rights::FD_WRITE, ALL] {
            assert_eq!(
                h.open_in(dir, &p("f"), 0, want, 0, false),
                Err(perm),
                "write"
            );
        }
        assert_eq!(h.path1("path_create_directory", dir, &p("d")), perm);
        assert_eq!(h.path1("path_unlink_file", dir, &p("f")), perm);
        let (a, al) = h.path_at(PATH, &p("f"));
        let (b, bl) = h.path_at(PATH2, &p("f2"));
        assert_eq!(h.call("path_rename", &[dir, a, al, dir, b, bl]), perm);
        assert_eq!(h.call("path_link", &[dir, 0, a, al, dir, b, bl]), perm);
        assert_eq!(h.call("path_symlink", &[a, al, dir, b, bl]), perm);
        assert_eq!(
            h.call("path_filestat_set_times", &[dir, 0, a, al, 0, 0, 2 | 8]),
            perm
        );
        assert_eq!(h.call("fd_filestat_set_times", &[dir, 0, 0, 2 | 8]), perm);
    }
    assert_eq!(h.path1("path_remove_directory", PRE, "sub"), perm);
    // Across grants: out of the read-only one, into the read-write one.
    let (a, al) = h.path_at(PATH, "g");
    let (b, bl) = h.path_at(PATH2, "stolen");
    assert_eq!(h.call("path_rename", &[PRE, a, al, RW, b, bl]), perm);
    assert_eq!(h.call("path_link", &[PRE, 0, a, al, RW, b, bl]), perm);
    assert!(fs::read_dir(&rw.0).unwrap().next().is_none());
    // The file opened beneath it, for reading.
    assert_eq!(h.write(f, b"x"), Err(e(Errno::BADF)));
    h.put(IOV, &(DATA as u32).to_le_bytes());
    h.put(IOV + 4, &1u32.to_le_bytes());
    assert_eq!(h.call("fd_pwrite", &[f, IOV, 1, 0, OUT]), e(Errno::BADF));
    assert_eq!(h.call("fd_filestat_set_size", &[f, 0]), perm);
    assert_eq!(h.call("fd_allocate", &[f, 0, 4096]), perm);
    assert_eq!(h.call("fd_filestat_set_times", &[f, 0, 0, 2 | 8]), perm);
    assert_eq!(tree(&t.0), before, "the read-only grant changed");
    assert_eq!(fs::read(t.join("sub/f")).unwrap(), b"content");
    // The read-write grant next to it is unaffected.
    assert!(h.open_in(RW, "mine", 1, ALL, 0, false).is_ok());
}

#[test]
fn fdflags_renumber_and_stdio_writes() {
    let t = Tmp::new("flags");
    let out = fs::File::create(t.join("stdout")).unwrap();
    let ctx = WasiCtxBuilder::new()
        .stdout(out.as_raw_fd())
        .preopen_dir(&t.0, ".")
        .unwrap()
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    assert_eq!(h.write(1, b"to stdout\n").unwrap(), 10);
    assert_eq!(fs::read(t.join("stdout")).unwrap(), b"to stdout\n");
    assert_eq!(h.call("fd_close", &[1]), 0);
    assert_eq!(h.write(1, b"x"), Err(e(Errno::BADF)));
    drop(out);

    let fd = h.open("log", 1, ALL).unwrap();
    h.write(fd, b"abc").unwrap();
    h.seek(fd, 0, 0).unwrap();
    assert_eq!(h.call("fd_fdstat_set_flags", &[fd, 1 /* append */]), 0);
    assert_eq!(h.call("fd_fdstat_get", &[fd, OUT]), 0);
    assert_eq!(h.u16(OUT + 2), 1);
    h.write(fd, b"def").unwrap();
    assert_eq!(fs::read(t.join("log")).unwrap(), b"abcdef");
    assert_eq!(
        h.call("fd_fdstat_set_flags", &[fd, 16 /* sync */]),
        e(Errno::INVAL)
    );
    assert_eq!(
        h.call("fd_fdstat_set_flags", &[0, 4 /* nonblock */]),
        e(Errno::BADF)
    );
    let fd2 = h
        .open_in(PRE, "log2", 1, ALL, 1 | 2 /* append|dsync */, false)
        .unwrap();
    assert_eq!(h.call("fd_fdstat_get", &[fd2, OUT]), 0);
    assert_eq!(h.u16(OUT + 2), 1 | 2);

    // Renumber fd2 onto fd: fd now writes to log2.
    assert_eq!(h.call("fd_renumber", &[fd2, fd]), 0);
    h.write(fd, b"2").unwrap();
    assert_eq!(fs::read(t.join("log2")).unwrap(), b"2");
    assert_eq!(h.write(fd2, b"x"), Err(e(Errno::BADF)));
    assert_eq!(h.call("fd_renumber", &[fd, 99]), e(Errno::BADF));
    assert_eq!(h.call("fd_renumber", &[99, fd]), e(Errno::BADF));
    // Freed numbers are reused.
    assert_eq!(h.open("log", 0, ALL), Ok(fd2));
}

fn read_dir_names(h: &mut H, fd: u64, bufsize: u64) -> Vec<(String, u64, u8)> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        assert_eq!(h.call("fd_readdir", &[fd, BUF, bufsize, cookie, OUT]), 0);
        let used = h.u32(OUT) as u64;
        let mut at = 0;
        let mut progressed = false;
        while at + 24 <= used {
            let next = h.u64(BUF + at);
            let namlen = h.u32(BUF + at + 16) as u64;
            if at + 24 + namlen > used {
                break;
            }
            let name = String::from_utf8(h.bytes(BUF + at + 24, namlen as usize)).unwrap();
            out.push((name, next, h.mem[(BUF + at + 20) as usize]));
            cookie = next;
            at += 24 + namlen;
            progressed = true;
        }
        if used < bufsize {
            return out;
        }
        assert!(progressed, "buffer too small for one entry");
    }
}

#[test]
fn readdir_cookies_and_layout() {
    let t = Tmp::new("readdir");
    for n in ["alpha", "beta", "gamma_with_a_long_name"] {
        fs::write(t.join(n), b"").unwrap();
    }
    fs::create_dir(t.join("sub")).unwrap();
    std::os::unix::fs::symlink("alpha", t.join("link")).unwrap();
    let mut h = H::with_dir(&t.0);
    let all = read_dir_names(&mut h, PRE, 4096);
    let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(&names[..2], &[".", ".."]);
    let mut rest = names[2..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        ["alpha", "beta", "gamma_with_a_long_name", "link", "sub"]
    );
    for (i, (name, next, ty)) in all.iter().enumerate() {
        assert_eq!(*next, i as u64 + 1, "d_next of {name}");
        let want = match name.as_str() {
            "." | ".." | "sub" => 3,
            "link" => 7,
            _ => 4,
        };
        assert_eq!(*ty, want, "d_type of {name}");
    }
    // Small buffers: entries are truncated and re-read from the cookie.
    assert_eq!(read_dir_names(&mut h, PRE, 50), all);
    // The last entry is cut when the buffer is full: bufused == buf_len.
    assert_eq!(h.call("fd_readdir", &[PRE, BUF, 30, 0, OUT]), 0);
    assert_eq!(h.u32(OUT), 30);
    // A cookie past the end gives nothing.
    assert_eq!(h.call("fd_readdir", &[PRE, BUF, 4096, 1000, OUT]), 0);
    assert_eq!(h.u32(OUT), 0);
    // A directory opened through the preopen.
    let sub = h.open("sub", 2, DIR_RIGHTS).unwrap();
    assert_eq!(read_dir_names(&mut h, sub, 4096).len(), 2);
}

/// A listing is one pass over the directory: removing what was listed (as `rm -r` does while
/// it reads) neither skips nor repeats the rest (re-reading by position did skip), and a new
/// listing from cookie 0 shows what is there now.
#[test]
fn readdir_continues_while_the_guest_removes_what_it_listed() {
    let t = Tmp::new("readdir-rm");
    let n = 600;
    for i in 0..n {
        fs::write(t.join(&format!("file-{i:04}")), b"").unwrap();
    }
    let mut h = H::with_dir(&t.0);
    let (mut seen, mut cookie) = (Vec::new(), 0);
    loop {
        assert_eq!(h.call("fd_readdir", &[PRE, BUF, 256, cookie, OUT]), 0);
        let used = h.u32(OUT) as u64;
        let mut at = 0;
        while at + 24 <= used {
            let namlen = h.u32(BUF + at + 16) as u64;
            if at + 24 + namlen > used {
                break;
            }
            let name = String::from_utf8(h.bytes(BUF + at + 24, namlen as usize)).unwrap();
            cookie = h.u64(BUF + at);
            at += 24 + namlen;
            if name != "." && name != ".." {
                assert_eq!(h.path1("path_unlink_file", PRE, &name), 0);
                seen.push(name);
            }
        }
        if used < 256 {
            break;
        }
    }
    assert_eq!(seen.len(), n, "every file listed once");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "no file listed twice");
    assert_eq!(fs::read_dir(&t.0).unwrap().count(), 0);
    fs::write(t.join("new"), b"").unwrap();
    let names: Vec<String> = read_dir_names(&mut h, PRE, 4096)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    assert_eq!(names, [".", "..", "new"]);
}

#[test]
fn path_operations() {
    let t = Tmp::new("paths");
    let mut h = H::with_dir(&t.0);
    assert_eq!(h.path1("path_create_directory", PRE, "d"), 0);
    assert_eq!(h.path1("path_create_directory", PRE, "d/e/"), 0);
    assert!(t.join("d/e").is_dir());
    assert_eq!(h.path1("path_create_directory", PRE, "d"), e(Errno::EXIST));
    assert_eq!(h.path1("path_create_directory", PRE, ""), e(Errno::NOENT));
    assert_eq!(
        h.path1("path_remove_directory", PRE, "d"),
        e(Errno::NOTEMPTY)
    );
    assert_eq!(h.path1("path_unlink_file", PRE, "d"), e(Errno::ISDIR));
    assert_eq!(h.path1("path_remove_directory", PRE, "d/e"), 0);
    assert!(!t.join("d/e").exists());

    fs::write(t.join("d/f"), b"12345").unwrap();
    assert_eq!(h.path1("path_unlink_file", PRE, "d/f/"), e(Errno::NOTDIR));
    assert_eq!(
        h.path1("path_remove_directory", PRE, "d/f"),
        e(Errno::NOTDIR)
    );
    assert_eq!(h.stat("d/f", false), Ok((4, 5, 1)));
    assert_eq!(h.stat("d/f/", false), Err(e(Errno::NOTDIR)));
    assert_eq!(h.stat("d", false).unwrap().0, 3);
    assert_eq!(h.stat("nope", false), Err(e(Errno::NOENT)));
    // Snapshot 0 filestat layout.
    h.put(PATH, b"d/f");
    assert_eq!(
        h.call_in(UNSTABLE, "path_filestat_get", &[PRE, 0, PATH, 3, BUF]),
        Ok(0)
    );
    assert_eq!(
        (h.mem[BUF as usize + 16], h.u32(BUF + 20), h.u64(BUF + 24)),
        (4, 1, 5)
    );

    // Hard links.
    assert_eq!(h.link("d/f", false, "hard"), 0);
    assert_eq!(h.stat("hard", false).unwrap().2, 2);
    assert_eq!(h.link("d/f", false, "hard"), e(Errno::EXIST));
    assert_eq!(h.link("d/f", false, "x/"), e(Errno::NOENT));
    assert_eq!(h.link("d", false, "dirlink"), e(Errno::PERM));

    // Symlinks: creation, readlink (truncated), stat with and without following.
    assert_eq!(h.symlink("d/f", "sym"), 0);
    assert_eq!(h.readlink("sym", 100).unwrap(), b"d/f");
    assert_eq!(h.readlink("sym", 2).unwrap(), b"d/");
    assert_eq!(h.readlink("d/f", 100), Err(e(Errno::INVAL)));
    assert_eq!(h.stat("sym", false).unwrap().0, 7);
    assert_eq!(h.stat("sym", true), Ok((4, 5, 2)));
    assert_eq!(h.symlink("x", "sym"), e(Errno::EXIST));
    assert_eq!(h.symlink("x", "new/"), e(Errno::NOENT));
    assert_eq!(h.symlink("x", "d/"), e(Errno::EXIST));
    let fd = h.open("sym", 0, ALL).unwrap();
    assert_eq!(h.read(fd, 10).unwrap(), b"12345");
    assert_eq!(h.open_in(PRE, "sym", 0, ALL, 0, false), Err(e(Errno::LOOP)));
    assert_eq!(h.link("sym", true, "viafollow"), 0);
    assert_eq!(h.stat("viafollow", false).unwrap().0, 4);

    // Times, with and without following.
    h.put(PATH, b"sym");
    let set = [PRE, 1, PATH, 3, 5_000_000_000, 6_000_000_000, 1 | 4];
    assert_eq!(h.call("path_filestat_set_times", &set), 0);
    assert_eq!(h.call("path_filestat_get", &[PRE, 1, PATH, 3, BUF]), 0);
    assert_eq!(
        (h.u64(BUF + 40), h.u64(BUF + 48)),
        (5_000_000_000, 6_000_000_000)
    );
    assert_eq!(
        h.call("path_filestat_set_times", &[PRE, 0, PATH, 3, 0, 0, 2 | 8]),
        0
    );
    assert_eq!(
        h.call("path_filestat_set_times", &[PRE, 0, PATH, 3, 0, 0, 4 | 8]),
        e(Errno::INVAL)
    );

    // Renames.
    assert_eq!(h.rename("d/f", "g"), 0);
    assert!(t.join("g").exists() && !t.join("d/f").exists());
    assert_eq!(h.rename("g/", "h"), e(Errno::NOTDIR));
    assert_eq!(h.rename("g", "h/"), e(Errno::NOTDIR));
    assert_eq!(h.rename("d", "d2/"), 0);
    assert!(t.join("d2").is_dir());
    assert_eq!(h.rename("missing", "m2"), e(Errno::NOENT));
    assert_eq!(h.path1("path_unlink_file", PRE, "g"), 0);
    assert_eq!(h.path1("path_unlink_file", PRE, "g"), e(Errno::NOENT));

    // path_open flags.
    assert_eq!(
        h.open("hard", 1 | 4 /* creat|excl */, ALL),
        Err(e(Errno::EXIST))
    );
    assert_eq!(
        h.open("hard", 2 /* directory */, ALL),
        Err(e(Errno::NOTDIR))
    );
    let fd = h.open("hard", 8 /* trunc */, ALL).unwrap();
    assert_eq!(h.call("fd_filestat_get", &[fd, BUF]), 0);
    assert_eq!(h.u64(BUF + 32), 0);
    assert_eq!(h.open("hard", 0x10, ALL), Err(e(Errno::INVAL)));
    assert_eq!(h.open("nonexistent", 0, ALL), Err(e(Errno::NOENT)));
    let dfd = h.open("d2", 2, DIR_RIGHTS).unwrap();
    assert_eq!(h.call("fd_fdstat_get", &[dfd, OUT]), 0);
    assert_eq!(h.mem[OUT as usize], 3);
    assert_eq!(h.write(dfd, b"x"), Err(e(Errno::BADF)));
    assert_eq!(h.seek(dfd, 0, 0), Err(e(Errno::BADF)));
    assert_eq!(h.path1("path_create_directory", dfd, "inner"), 0);
    assert!(t.join("d2/inner").is_dir());
    let cur = h.open(".", 0, rights::FD_READ).unwrap();
    assert_eq!(h.call("fd_fdstat_get", &[cur, OUT]), 0);
    assert_eq!(h.mem[OUT as usize], 3);
}

/// A pipe whose ends are closed on drop.
struct Pipe(std::os::fd::OwnedFd, std::os::fd::OwnedFd);

fn pipe() -> Pipe {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe {
        Pipe(
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

/// Writes a preview 1 subscription at `at`.
fn sub_clock(h: &mut H, at: u64, userdata: u64, clock: u32, timeout: u64, flags: u16) {
    h.put(at, &[0; 48]);
    h.put(at, &userdata.to_le_bytes());
    h.mem[at as usize + 8] = 0;
    h.put(at + 16, &clock.to_le_bytes());
    h.put(at + 24, &timeout.to_le_bytes());
    h.put(at + 40, &flags.to_le_bytes());
}

fn sub_fd(h: &mut H, at: u64, userdata: u64, ty: u8, fd: u32) {
    h.put(at, &[0; 48]);
    h.put(at, &userdata.to_le_bytes());
    h.mem[at as usize + 8] = ty;
    h.put(at + 16, &fd.to_le_bytes());
}

#[test]
fn poll_oneoff_clocks_and_fds() {
    let t = Tmp::new("poll");
    let p = pipe();
    let ctx = WasiCtxBuilder::new()
        .stdin(p.0.as_raw_fd())
        .preopen_dir(&t.0, ".")
        .unwrap()
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    const EV: u64 = 0x6000;

    // A relative 20 ms timer.
    sub_clock(&mut h, BUF, 7, 1, 20_000_000, 0);
    let start = std::time::Instant::now();
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), 0);
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    assert_eq!(h.u32(OUT), 1);
    assert_eq!(
        (h.u64(EV), h.u16(EV + 8), h.mem[EV as usize + 10]),
        (7, 0, 0)
    );

    // An absolute realtime deadline in the past fires at once.
    sub_clock(&mut h, BUF, 8, 0, 1, 1);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), 0);
    assert_eq!((h.u32(OUT), h.u64(EV)), (1, 8));

    // Empty pipe + 10 ms timer: only the timer fires.
    sub_fd(&mut h, BUF, 1, 1, 0);
    sub_clock(&mut h, BUF + 48, 2, 1, 10_000_000, 0);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 2, OUT]), 0);
    assert_eq!((h.u32(OUT), h.u64(EV)), (1, 2));

    // Data in the pipe: readable, with the byte count.
    assert_eq!(
        unsafe { libc::write(p.1.as_raw_fd(), b"hey".as_ptr().cast(), 3) },
        3
    );
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 2, OUT]), 0);
    assert_eq!(h.u32(OUT), 1);
    assert_eq!(
        (h.u64(EV), h.mem[EV as usize + 10], h.u64(EV + 16)),
        (1, 1, 3)
    );
    assert_eq!(h.read(0, 10).unwrap(), b"hey");

    // Regular files are always ready, for reading and writing.
    fs::write(t.join("f"), b"12345").unwrap();
    let f = h.open("f", 0, ALL).unwrap();
    sub_fd(&mut h, BUF, 10, 1, f as u32);
    sub_fd(&mut h, BUF + 48, 11, 2, f as u32);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 2, OUT]), 0);
    assert_eq!(h.u32(OUT), 2);
    assert_eq!((h.u64(EV), h.u64(EV + 16)), (10, 5));
    assert_eq!((h.u64(EV + 32), h.mem[EV as usize + 32 + 10]), (11, 2));

    // Closed writer: readable with hangup.
    drop(p.1);
    sub_fd(&mut h, BUF, 3, 1, 0);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), 0);
    assert_eq!(h.u16(EV + 24), 1);

    // Errors: no subscriptions, bad fd, directory, bad tag, bad clock.
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 0, OUT]), e(Errno::INVAL));
    sub_fd(&mut h, BUF, 3, 1, 42);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), e(Errno::BADF));
    sub_fd(&mut h, BUF, 3, 1, 3);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), e(Errno::BADF));
    sub_fd(&mut h, BUF, 3, 9, 0);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), e(Errno::INVAL));
    sub_clock(&mut h, BUF, 3, 2, 0, 0);
    assert_eq!(h.call("poll_oneoff", &[BUF, EV, 1, OUT]), e(Errno::INVAL));

    // Snapshot 0: 56-byte subscriptions, clock fields after a u64 identifier.
    h.put(BUF, &[0; 112]);
    h.put(BUF, &5u64.to_le_bytes());
    h.put(BUF + 24, &1u32.to_le_bytes());
    h.put(BUF + 32, &1_000_000u64.to_le_bytes());
    h.put(BUF + 56, &6u64.to_le_bytes());
    h.put(BUF + 56 + 24, &1u32.to_le_bytes());
    h.put(BUF + 56 + 32, &u64::MAX.to_le_bytes());
    assert_eq!(
        h.call_in(UNSTABLE, "poll_oneoff", &[BUF, EV, 2, OUT]),
        Ok(0)
    );
    assert_eq!((h.u32(OUT), h.u64(EV)), (1, 5));
}

#[test]
fn sockets() {
    let t = Tmp::new("sock");
    let mut h = H::with_dir(&t.0);
    let f = h.open("f", 1, ALL).unwrap();
    assert_eq!(h.call("sock_accept", &[f, 0, OUT]), e(Errno::NOTSOCK));
    assert_eq!(h.call("sock_accept", &[99, 0, OUT]), e(Errno::BADF));
    assert_eq!(
        h.call("sock_recv", &[f, IOV, 1, 0, OUT, OUT + 4]),
        e(Errno::NOTSOCK)
    );
    assert_eq!(h.call("sock_send", &[f, IOV, 1, 0, OUT]), e(Errno::NOTSOCK));
    assert_eq!(h.call("sock_shutdown", &[f, 3]), e(Errno::NOTSOCK));
    assert_eq!(h.call("sock_shutdown", &[PRE, 3]), e(Errno::NOTSOCK));

    // A listening socket handed in as stdin: accept, then talk over the accepted socket.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = WasiCtxBuilder::new()
        .stdin(listener.as_raw_fd())
        .build()
        .unwrap();
    let mut h = H::new(ctx);
    assert_eq!(h.call("fd_fdstat_get", &[0, OUT]), 0);
    assert_eq!(h.mem[OUT as usize], 6, "socket_stream");
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    assert_eq!(h.call("sock_accept", &[0, 2, OUT]), e(Errno::INVAL));
    assert_eq!(h.call("sock_accept", &[0, 0, OUT]), 0);
    let conn = h.u32(OUT) as u64;
    use std::io::{Read, Write};
    client.write_all(b"ping").unwrap();
    h.put(IOV, &(DATA as u32).to_le_bytes());
    h.put(IOV + 4, &4u32.to_le_bytes());
    assert_eq!(
        h.call("sock_recv", &[conn, IOV, 1, 2 /* waitall */, OUT, OUT + 4]),
        0
    );
    assert_eq!(
        (h.u32(OUT), h.u16(OUT + 4), h.bytes(DATA, 4)),
        (4, 0, b"ping".to_vec())
    );
    h.put(DATA, b"pong");
    assert_eq!(h.call("sock_send", &[conn, IOV, 1, 0, OUT]), 0);
    assert_eq!(h.u32(OUT), 4);
    assert_eq!(h.call("sock_shutdown", &[conn, 2 /* wr */]), 0);
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"pong");
    assert_eq!(h.call("sock_shutdown", &[conn, 7]), e(Errno::INVAL));
    assert_eq!(
        h.call("sock_recv", &[conn, IOV, 1, 8, OUT, OUT + 4]),
        e(Errno::INVAL)
    );
}

#[test]
fn errno_table_maps_host_errors() {
    assert_eq!(Errno::from_raw(libc::ENOENT), Errno::NOENT);
    assert_eq!(Errno::from_raw(libc::EXDEV), Errno::XDEV);
    assert_eq!(Errno::from_raw(libc::EOPNOTSUPP), Errno::NOTSUP);
    assert_eq!(Errno::from_raw(libc::EWOULDBLOCK), Errno::AGAIN);
    assert_eq!(Errno::from_raw(libc::ERFKILL), Errno::IO);
    assert_eq!(
        Errno::from(std::io::Error::from_raw_os_error(libc::EACCES)),
        Errno::ACCES
    );
    assert_eq!(
        Errno::from(std::io::Error::from(std::io::ErrorKind::NotFound)),
        Errno::NOENT
    );
}

#[test]
fn threads_sharing_one_context_open_write_and_close_concurrently_without_losing_a_descriptor() {
    // wasi-threads: every thread of a program calls into the same context. Four threads open,
    // append to and close their own file 200 times while a fifth renumbers and closes
    // descriptors it opened itself; every call succeeds, every byte lands, and afterwards the
    // table holds what it held before (stdio and the preopen).
    let t = Tmp::new("threads");
    let h = H::with_dir(&t.0);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let mut h = h.thread();
            std::thread::spawn(move || {
                let name = format!("f{i}");
                for _ in 0..200 {
                    let fd = h.open(&name, 1 /* creat */, ALL).unwrap();
                    assert_eq!(h.call("fd_seek", &[fd, 0, 2 /* end */, OUT]), 0);
                    assert_eq!(h.write(fd, b"x"), Ok(1));
                    assert_eq!(h.call("fd_close", &[fd]), 0);
                }
            })
        })
        .collect();
    let mut shuffler = h.thread();
    let churn = std::thread::spawn(move || {
        for _ in 0..200 {
            let a = shuffler.open(".", 0, DIR_RIGHTS).unwrap();
            let b = shuffler.open(".", 0, DIR_RIGHTS).unwrap();
            assert_eq!(shuffler.call("fd_renumber", &[a, b]), 0);
            assert_eq!(shuffler.call("fd_close", &[b]), 0);
        }
    });
    workers.into_iter().for_each(|w| w.join().unwrap());
    churn.join().unwrap();
    for i in 0..4 {
        assert_eq!(fs::read(t.join(&format!("f{i}"))).unwrap(), vec![b'x'; 200]);
    }
    let mut h = h;
    for fd in 0..=PRE {
        assert_eq!(h.call("fd_fdstat_get", &[fd, OUT]), 0, "fd {fd}");
    }
    for fd in PRE + 1..PRE + 16 {
        assert_eq!(
            h.call("fd_fdstat_get", &[fd, OUT]),
            e(Errno::BADF),
            "fd {fd}"
        );
    }
}
