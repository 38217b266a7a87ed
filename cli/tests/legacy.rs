//! The legacy `wasi_unstable` (snapshot 0) namespace, with WAT modules written here and built
//! with `wasic build file.wat`: printing and exiting with a code, and the functions whose
//! layouts or constants differ from preview1 (fd_seek's whence numbering, the 56-byte
//! filestat with a 32-bit nlink, the subscription_clock with its leading identifier).

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;

fn build_wat(dir: &std::path::Path, name: &str, text: &str, extra: &[&str]) -> std::path::PathBuf {
    let wat = dir.join(format!("{name}.wat"));
    std::fs::write(&wat, text).unwrap();
    build(&wat, dir, name, extra)
}

const HELLO: &str = r#"
(module
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasi_unstable\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 25))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 42))
    unreachable))
"#;

#[test]
fn wasi_unstable_fd_write_and_proc_exit_print_and_set_the_status() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_wat(t.path(), "hello", HELLO, &[]);
    assert_run(&run_exe(&exe, &[]), 42, "hello from wasi_unstable\n");
}

/// Opens `f.txt` in the first preopen, writes 10 bytes, seeks with snapshot-0 whence values,
/// gets the filestat, polls a 1 ms clock, then dumps memory 200..720 to stdout and returns.
const LAYOUTS: &str = r#"
(module
  (import "wasi_unstable" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "f.txt")
  (data (i32.const 120) "0123456789")
  (func (export "_start")
    (local $fd i32)
    ;; canary over the filestat area: snapshot 0 writes 56 bytes, preview1 would write 64
    (memory.fill (i32.const 400) (i32.const 0xAA) (i32.const 72))
    ;; path_open(3, 0, "f.txt", CREAT|TRUNC, read|seek|tell|write|filestat_get, 0, 0, &fd)
    (i32.store (i32.const 300)
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5) (i32.const 9)
        (i64.const 0x200066) (i64.const 0) (i32.const 0) (i32.const 200)))
    (local.set $fd (i32.load (i32.const 200)))
    (i32.store (i32.const 0) (i32.const 120))
    (i32.store (i32.const 4) (i32.const 10))
    (i32.store (i32.const 304) (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 204)))
    ;; snapshot 0: whence CUR=0 END=1 SET=2
    (i32.store (i32.const 308) (call $fd_seek (local.get $fd) (i64.const 2) (i32.const 2) (i32.const 208)))
    (i32.store (i32.const 312) (call $fd_seek (local.get $fd) (i64.const -1) (i32.const 1) (i32.const 216)))
    (i32.store (i32.const 316) (call $fd_seek (local.get $fd) (i64.const 0) (i32.const 0) (i32.const 224)))
    (i32.store (i32.const 320) (call $fd_filestat_get (local.get $fd) (i32.const 400)))
    ;; subscription at 512: userdata, tag=clock, identifier=7 @16, id=monotonic @24,
    ;; timeout=1ms @32, precision @40, flags @48 (56 bytes)
    (i64.store (i32.const 512) (i64.const 0x1234))
    (i32.store8 (i32.const 520) (i32.const 0))
    (i64.store (i32.const 528) (i64.const 7))
    (i32.store (i32.const 536) (i32.const 1))
    (i64.store (i32.const 544) (i64.const 1000000))
    (i64.store (i32.const 552) (i64.const 0))
    (i32.store16 (i32.const 560) (i32.const 0))
    (i32.store (i32.const 324)
      (call $poll_oneoff (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 700)))
    ;; dump 200..720
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 520))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn wasi_unstable_uses_the_snapshot0_whence_filestat_and_subscription_layouts() {
    let t = tempfile::tempdir().unwrap();
    let grant = tempfile::tempdir().unwrap();
    let exe = build_wat(t.path(), "layouts", LAYOUTS, &[]);
    let out = command(&exe, &[])
        .env("WASIC_DIR", format!("{}::/d", grant.path().display()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0), "returning from _start exits 0");
    let m = &out.stdout;
    assert_eq!(m.len(), 520, "the memory dump");
    // Memory 200.. is at m[0..]: errnos at 300.. (m[100..]).
    let errnos: Vec<u32> = (0..5).map(|i| u32_at(m, 100 + 4 * i)).collect();
    assert_eq!(
        errnos, [0; 5],
        "path_open, fd_write, fd_seek x3, fd_filestat_get, poll_oneoff errnos"
    );
    assert_eq!(u32_at(m, 124), 0, "poll_oneoff errno");
    assert_eq!(u32_at(m, 4), 10, "bytes written");
    assert_eq!(u64_at(m, 8), 2, "whence 2 is SET in snapshot 0");
    assert_eq!(u64_at(m, 16), 9, "whence 1 is END in snapshot 0");
    assert_eq!(u64_at(m, 24), 9, "whence 0 is CUR in snapshot 0");
    // filestat at 400 (m[200..]): dev@0 ino@8 filetype@16 nlink:u32@20 size@24 atim@32 mtim@40 ctim@48.
    let st = &m[200..];
    let md = std::fs::metadata(grant.path().join("f.txt")).unwrap();
    assert_eq!(u64_at(st, 8), md.ino(), "ino");
    assert_eq!(st[16], 4, "filetype regular_file");
    assert_eq!(u32_at(st, 20), 1, "nlink is a u32 at offset 20");
    assert_eq!(u64_at(st, 24), 10, "size at offset 24");
    let mtim = md.mtime() as u64 * 1_000_000_000 + md.mtime_nsec() as u64;
    assert_eq!(u64_at(st, 40), mtim, "mtim at offset 40");
    assert!(
        st[56..72].iter().all(|&b| b == 0xAA),
        "nothing written past the 56-byte filestat"
    );
    // event at 600 (m[400..]), nevents at 700 (m[500..]).
    assert_eq!(u32_at(m, 500), 1, "one event");
    let ev = &m[400..];
    assert_eq!(u64_at(ev, 0), 0x1234, "userdata");
    assert_eq!(u16::from_le_bytes([ev[8], ev[9]]), 0, "event error");
    assert_eq!(ev[10], 0, "event type clock");
    assert_eq!(
        std::fs::read_to_string(grant.path().join("f.txt")).unwrap(),
        "0123456789"
    );
}

#[test]
fn wasi_unstable_has_no_sock_accept_and_the_build_says_so() {
    let t = tempfile::tempdir().unwrap();
    let wat = t.path().join("accept.wat");
    std::fs::write(
        &wat,
        r#"(module
  (import "wasi_unstable" "sock_accept" (func (param i32 i32 i32) (result i32)))
  (func (export "_start")))"#,
    )
    .unwrap();
    let exe = t.path().join("accept");
    let out = run(
        std::process::Command::new(wasic())
            .arg("build")
            .arg(&wat)
            .arg("-o")
            .arg(&exe),
        None,
    );
    out.assert_no_panic();
    assert_ne!(out.status, 0);
    assert!(
        out.stderr.contains("sock_accept"),
        "the error names the import: {}",
        out.stderr
    );
    assert!(!exe.exists());
}
