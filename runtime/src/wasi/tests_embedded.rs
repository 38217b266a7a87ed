//! Embedded trees against the same tree on the host granted read-only (`--dir HOST:ro`): every
//! call gives the same answer (errno and data), except the inode and device numbers, and
//! every write-like call is refused the same way. Plus what only an embedded tree has to get
//! right: listings with small buffers and cookies, positions per descriptor, escapes.

use super::embedded::read_host_tree;
use super::tests::{e, Tmp, BUF, DIR_RIGHTS, H, OUT, PRE};
use super::types::rights;
use super::*;
use std::fs;
use std::os::unix::fs::symlink;

/// A host tree: nested directories, an empty file, a larger file, symlinks (to a file, to a
/// directory, dangling, absolute, climbing out, a loop).
fn tree(t: &Tmp) {
    fs::create_dir_all(t.join("a/b/c")).unwrap();
    fs::write(t.join("hello.txt"), b"hello, embedded world\n").unwrap();
    fs::write(t.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(t.join("a/big.bin"), big).unwrap();
    fs::write(t.join("a/b/c/deep.txt"), b"deep").unwrap();
    symlink("hello.txt", t.join("link")).unwrap();
    symlink("../a/b", t.join("a/up")).unwrap();
    symlink("missing", t.join("dangling")).unwrap();
    symlink("/etc/passwd", t.join("abs")).unwrap();
    symlink("../../outside", t.join("a/out")).unwrap();
    symlink("loop2", t.join("loop1")).unwrap();
    symlink("loop1", t.join("loop2")).unwrap();
}

/// (read-only host grant, embedded) contexts over the same tree, both at fd 3.
fn pair() -> (Tmp, H, H) {
    let t = Tmp::new("embed");
    tree(&t);
    let host = H::new(
        WasiCtxBuilder::new()
            .preopen_dir_with(&t.0, "/sandbox", DirAccess::ReadOnly)
            .unwrap()
            .build()
            .unwrap(),
    );
    let mut w = wasic_abi::embed::TreeWriter::default();
    w.add_root(b"/sandbox", read_host_tree(&t.0).unwrap());
    let image: &'static [u8] = Box::leak(w.finish().into_boxed_slice());
    let tree = wasic_abi::embed::Tree::parse(image).unwrap();
    let emb = H::new(
        WasiCtxBuilder::new()
            .preopen_embedded(tree, 0, "/sandbox")
            .build()
            .unwrap(),
    );
    (t, host, emb)
}

const PATHS: &[&str] = &[
    "hello.txt",
    "empty",
    "a",
    "a/",
    "a/big.bin",
    "a/big.bin/",
    "a/b/c/deep.txt",
    "link",
    "link/",
    "a/up",
    "a/up/c/deep.txt",
    "a/up/",
    "dangling",
    "abs",
    "a/out",
    "loop1",
    "nope",
    "a/nope",
    "..",
    "a/../..",
    "/etc",
    ".",
    "a/./b/../b/c",
    "",
    "hello.txt/x",
    "a//b",
];

#[test]
fn lookups_of_an_embedded_tree_answer_as_the_same_tree_granted_read_only() {
    let (_t, mut host, mut emb) = pair();
    for p in PATHS {
        for follow in [false, true] {
            // Directory sizes are the host file system's own; the embedded ones are 0.
            let strip = |r: Result<(u8, u64, u64), u16>| {
                r.map(|(ty, size, _)| (ty, if ty == 3 { 0 } else { size }))
            };
            assert_eq!(
                strip(emb.stat(p, follow)),
                strip(host.stat(p, follow)),
                "stat {p:?} {follow}"
            );
            for (oflags, base) in [(0, rights::FD_READ), (2 /* directory */, DIR_RIGHTS)] {
                let h = host.open_in(PRE, p, oflags, base, 0, follow);
                let m = emb.open_in(PRE, p, oflags, base, 0, follow);
                assert_eq!(
                    m.is_ok(),
                    h.is_ok(),
                    "open {p:?} {oflags} {follow}: {m:?} {h:?}"
                );
                if let (Ok(m), Ok(h)) = (m, h) {
                    assert_eq!(emb.read(m, 64), host.read(h, 64), "read {p:?}");
                    let (ms, hs) = (
                        emb.call("fd_fdstat_get", &[m, OUT]),
                        host.call("fd_fdstat_get", &[h, OUT]),
                    );
                    assert_eq!(
                        (ms, emb.bytes(OUT, 24)),
                        (hs, host.bytes(OUT, 24)),
                        "fdstat {p:?}"
                    );
                    assert_eq!(emb.call("fd_close", &[m]), 0);
                    assert_eq!(host.call("fd_close", &[h]), 0);
                } else {
                    assert_eq!(m, h, "open {p:?} {oflags} {follow}");
                }
            }
        }
        assert_eq!(emb.readlink(p, 64), host.readlink(p, 64), "readlink {p:?}");
    }
}

#[test]
fn every_write_like_call_beneath_an_embedded_tree_is_refused_as_beneath_a_read_only_grant() {
    let (_t, mut host, mut emb) = pair();
    for h in [&mut host, &mut emb] {
        let mut answers = Vec::new();
        answers.push(h.open("new", 1 /* creat */, rights::FD_WRITE).err());
        answers.push(h.open("hello.txt", 8 /* trunc */, rights::FD_WRITE).err());
        answers.push(
            h.open("hello.txt", 0, rights::FD_READ | rights::FD_WRITE)
                .err(),
        );
        for name in [
            "path_create_directory",
            "path_remove_directory",
            "path_unlink_file",
        ] {
            answers.push(Some(h.path1(name, PRE, "a")));
            answers.push(Some(h.path1(name, PRE, "hello.txt")));
        }
        answers.push(Some(h.rename("hello.txt", "x")));
        answers.push(Some(h.link("hello.txt", false, "x")));
        answers.push(Some(h.symlink("hello.txt", "x")));
        let fd = h.open("hello.txt", 0, rights::FD_READ).unwrap();
        answers.push(h.write(fd, b"x").err());
        answers.push(Some(h.call("fd_filestat_set_size", &[fd, 0])));
        answers.push(Some(h.call("fd_filestat_set_times", &[fd, 0, 0, 0])));
        answers.push(Some(h.call("fd_allocate", &[fd, 0, 1])));
        answers.push(Some(h.call("fd_pwrite", &[fd, 0x200, 1, 0, OUT])));
        let (pp, pl) = h.path_at(super::tests::PATH, "hello.txt");
        answers.push(Some(
            h.call("path_filestat_set_times", &[PRE, 0, pp, pl, 0, 0, 0]),
        ));
        h.mem[0x400] = answers.iter().all(|a| a.is_some_and(|e| e != 0)) as u8;
        h.put(
            0x500,
            &answers
                .iter()
                .map(|a| a.unwrap_or(0) as u8)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(emb.mem[0x400], 1, "every call is refused");
    assert_eq!(emb.bytes(0x500, 20), host.bytes(0x500, 20));
    assert_eq!(emb.u16(0x500) as u8, e(Errno::PERM) as u8);
}

#[test]
fn reading_seeking_and_polling_an_embedded_file_keep_one_position_per_descriptor() {
    let (t, _host, mut emb) = pair();
    let big = fs::read(t.join("a/big.bin")).unwrap();
    let a = emb.open("a/big.bin", 0, rights::FD_READ).unwrap();
    let b = emb.open("a/big.bin", 0, rights::FD_READ).unwrap();
    assert_eq!(emb.read(a, 1000).unwrap(), big[..1000]);
    assert_eq!(emb.read(b, 10).unwrap(), big[..10]);
    assert_eq!(emb.read(a, 10).unwrap(), big[1000..1010]);
    assert_eq!(emb.seek(a, -10, 2 /* end */), Ok(big.len() as u64 - 10));
    assert_eq!(emb.read(a, 100).unwrap(), big[big.len() - 10..]);
    assert_eq!(emb.read(a, 100).unwrap(), b"");
    assert_eq!(emb.seek(a, -1, 0 /* set */), Err(e(Errno::INVAL)));
    assert_eq!(emb.call("fd_tell", &[b, OUT]), 0);
    assert_eq!(emb.u64(OUT), 10);
    // pread leaves the position alone.
    emb.put(0x200, &(BUF as u32).to_le_bytes());
    emb.put(0x204, &5u32.to_le_bytes());
    assert_eq!(emb.call("fd_pread", &[b, 0x200, 1, 100_000, OUT]), 0);
    assert_eq!(emb.u32(OUT), 5);
    assert_eq!(emb.bytes(BUF, 5), big[100_000..100_005]);
    assert_eq!(emb.call("fd_tell", &[b, OUT]), 0);
    assert_eq!(emb.u64(OUT), 10);
    let (_, size, _) = emb.stat("a/big.bin", false).unwrap();
    assert_eq!(size, big.len() as u64);
}

/// Every name `fd_readdir` lists on `fd` when asked with buffers of `cap` bytes, following
/// the cookies; panics if a name comes twice.
fn list(h: &mut H, fd: u64, cap: u64) -> Vec<String> {
    let mut names = Vec::new();
    let mut cookie = 0;
    loop {
        assert_eq!(h.call("fd_readdir", &[fd, BUF, cap, cookie, OUT]), 0);
        let n = h.u32(OUT) as usize;
        let bytes = h.bytes(BUF, n);
        let mut at = 0;
        let mut progressed = false;
        while at + 24 <= n {
            let next = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            let len = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap()) as usize;
            if at + 24 + len > n {
                break;
            }
            let name = String::from_utf8(bytes[at + 24..at + 24 + len].to_vec()).unwrap();
            assert!(!names.contains(&name), "{name} listed twice");
            names.push(name);
            cookie = next;
            progressed = true;
            at += 24 + len;
        }
        if n < cap as usize {
            return names;
        }
        assert!(progressed, "a buffer of {cap} bytes holds no entry");
    }
}

#[test]
fn listing_an_embedded_directory_with_small_buffers_and_cookies_names_every_entry_once() {
    let (_t, mut host, mut emb) = pair();
    let dir_h = host.open(".", 2, DIR_RIGHTS).unwrap();
    let dir_m = emb.open(".", 2, DIR_RIGHTS).unwrap();
    let mut want = list(&mut host, dir_h, 4096);
    want.sort();
    for cap in [40, 41, 64, 100, 4096] {
        let mut got = list(&mut emb, dir_m, cap);
        got.sort();
        assert_eq!(got, want, "buffers of {cap} bytes");
    }
    assert!(want.contains(&"dangling".to_string()) && want.contains(&".".to_string()));
}
