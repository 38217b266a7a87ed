//! WASI behaviours as wasmtime gives them, end to end (issue #12): a real wasm program
//! (`tests/wasi/semantics.c`) built with `wasic build` and run with a granted directory, its
//! stdio redirected to files, a directory or a pseudo-terminal. Each test checks the program's
//! exact output and what it left on the host.

mod common;

use common::*;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds the program into `dir`.
fn program(dir: &Path) -> std::path::PathBuf {
    build_c("semantics", dir, &[])
}

/// `exe scenario` with `grant` as `/sandbox`; stdout and stderr captured.
fn run_in(exe: &Path, scenario: &str, grant: &Path) -> Output {
    run(
        command(exe, &[scenario]).env("WASIC_DIR", format!("{}::/sandbox", grant.display())),
        None,
    )
}

/// Runs `cmd` with the given stdin and stdout, capturing stderr (the shared helper fails the
/// test after its timeout). Returns (exit status, stderr).
fn run_with_stdio(cmd: &mut Command, stdin: Stdio, stdout: Stdio) -> (i32, String) {
    let out = run_with_stdio_set(cmd.stdin(stdin).stdout(stdout));
    (out.status, out.stderr)
}

#[test]
fn opening_a_directory_for_writing_is_eisdir_with_or_without_o_directory() {
    let t = tempfile::tempdir().unwrap();
    let grant = tempfile::tempdir().unwrap();
    std::fs::create_dir(grant.path().join("subdir")).unwrap();
    std::fs::write(grant.path().join("subdir/a.txt"), "a").unwrap();
    let before = snapshot(grant.path());
    let out = run_in(&program(t.path()), "isdir", grant.path());
    assert_run(
        &out,
        0,
        "path_open(., directory, read|write): EISDIR\npath_open(., write): EISDIR\n\
         path_open(subdir, directory, write): EISDIR\npath_open(subdir, read|write): EISDIR\n\
         path_open(subdir, creat): EISDIR\npath_open(subdir, directory, read): OK\n\
         open(/sandbox/subdir, O_RDWR): EISDIR\nopen(/sandbox/subdir, O_WRONLY|O_DIRECTORY): EISDIR\n\
         open(/sandbox, O_RDWR|O_DIRECTORY): EISDIR\nopen(/sandbox/subdir, O_RDONLY|O_DIRECTORY): OK\n\
         opendir(/sandbox/subdir): OK, 3 entries\n",
    );
    assert_eq!(snapshot(grant.path()), before);
}

#[test]
fn symlinks_pointing_out_of_the_grant_are_refused_and_inside_ones_work() {
    let t = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let grant = root.path().join("grant");
    std::fs::create_dir_all(grant.join("subdir")).unwrap();
    std::fs::create_dir(root.path().join("outside")).unwrap();
    std::fs::write(grant.join("file.txt"), "inside\n").unwrap();
    let out = run_in(&program(t.path()), "symlinks", &grant);
    assert_run(
        &out,
        0,
        "path_symlink(/ <- link): EPERM\npath_symlink(/etc/passwd <- abs): EPERM\n\
         path_symlink(.. <- up): EPERM\npath_symlink(../outside <- out): EPERM\n\
         path_symlink(subdir/../../outside <- sneaky): EPERM\n\
         path_symlink(../../outside <- subdir/deep): EPERM\nsymlink(/, /sandbox/libc_link): EPERM\n\
         symlink(../.., /sandbox/subdir/libc_up): EPERM\npath_symlink(file.txt <- ok): OK\n\
         path_symlink(../file.txt <- subdir/ok2): OK\nsymlink(.., /sandbox/subdir/libc_ok): OK\n\
         read through subdir/ok2: inside\n",
    );
    // Exactly the three links inside the grant were made.
    let links: Vec<(String, String)> = snapshot(&grant)
        .into_iter()
        .filter(|(_, d)| d.starts_with("link"))
        .collect();
    let want = [
        ("ok", "link -> file.txt"),
        ("subdir/libc_ok", "link -> .."),
        ("subdir/ok2", "link -> ../file.txt"),
    ];
    assert_eq!(
        links,
        want.map(|(p, d)| (p.to_string(), d.to_string())).to_vec()
    );
    assert!(std::fs::read_dir(root.path().join("outside"))
        .unwrap()
        .next()
        .is_none());
}

/// A pseudo-terminal pair (master, slave) with echo off, both close-on-exec.
fn pty() -> (OwnedFd, OwnedFd) {
    // SAFETY: plain libc calls on descriptors we own; results checked.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "open slave: {}", std::io::Error::last_os_error());
        let slave = OwnedFd::from_raw_fd(s);
        let mut tio: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(s, &mut tio), 0);
        tio.c_lflag &= !libc::ECHO;
        assert_eq!(libc::tcsetattr(s, libc::TCSANOW, &tio), 0);
        (master, slave)
    }
}

/// Reads from the pty master until `want` has been seen (or EOF/EIO, or `deadline`); returns
/// everything read, `\r` removed.
fn read_until(master: &OwnedFd, seen: &mut String, want: &str, deadline: Instant) -> bool {
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut p = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32) };
        if r <= 0 {
            continue;
        }
        let mut buf = [0u8; 1024];
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return false; // EIO: the slave side is closed
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]).replace('\r', ""));
    }
    true
}

#[test]
fn isatty_is_true_on_a_pseudo_terminal_and_stdout_is_line_buffered() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path());
    let (master, slave) = pty();
    let mut cmd = command(&exe, &["tty"]);
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // our copies of the slave, so that EOF/EIO shows when the program is gone
    let mut seen = String::new();
    // Line-buffered stdout shows each line at once; fully buffered, nothing would show before
    // the program exits, and it waits for our input first.
    let shown = read_until(
        &master,
        &mut seen,
        "waiting\n",
        Instant::now() + Duration::from_secs(30),
    );
    if !shown {
        let _ = child.kill();
        let _ = child.wait();
        panic!("stdout on a terminal is not line-buffered (or isatty is false); saw {seen:?}");
    }
    // SAFETY: writing a valid buffer to the master.
    assert_eq!(
        unsafe { libc::write(master.as_raw_fd(), b"go\n".as_ptr().cast(), 3) },
        3
    );
    read_until(
        &master,
        &mut seen,
        "got: go\n",
        Instant::now() + Duration::from_secs(30),
    );
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        seen,
        "isatty: 0=1 1=1 2=0\nfd 0: filetype=2 seek=0 tell=0\nfd 1: filetype=2 seek=0 tell=0\n\
         fd 2: filetype=0 seek=0 tell=0\nwaiting\ngot: go\n",
        "stderr: {stderr:?}"
    );
    assert_eq!(stderr, "");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_directory_opened_with_no_rights_creates_writes_reads_and_deletes_files() {
    let t = tempfile::tempdir().unwrap();
    let grant = tempfile::tempdir().unwrap();
    let out = run_in(&program(t.path()), "norights", grant.path());
    assert_run(
        &out,
        0,
        "path_open(., directory, rights 0): OK\nfd_fdstat_get(dir): OK\n\
         filetype=3 create_file=1 readdir=1 inheriting_write=1\n\
         path_open(created.txt, creat, rights 0): OK\nfd_write: OK\nfd_close: OK\n\
         path_open(created.txt, read): OK\nfd_read: OK\nread: written without rights\nfd_close: OK\n\
         path_create_directory(newdir): OK\npath_open(newdir, directory, rights 0): OK\n\
         path_open(newdir/inner.txt, creat|trunc, rights 0): OK\nfd_write: OK\nfd_close: OK\n\
         fd_readdir(newdir): OK\nnewdir entries=3\npath_rename(created.txt -> left.txt): OK\n\
         path_unlink_file(newdir/inner.txt): OK\npath_remove_directory(newdir): OK\n\
         path_symlink(left.txt <- link): OK\npath_unlink_file(link): OK\n",
    );
    let left: Vec<String> = snapshot(grant.path()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(left, ["left.txt"]);
    assert_eq!(
        std::fs::read_to_string(grant.path().join("left.txt")).unwrap(),
        "written without rights\n"
    );
}

/// What the program reports (on stderr) about stdout appended to a file and stdin a file.
const STDIO_FILES: &str = "\
fd_fdstat_get(1): OK
fd 1: filetype=0 write=1 seek=0 tell=0 set_size=0
fd_filestat_set_size(1, 0): EBADF
fd_allocate(1, 0, 4096): EBADF
fd_pwrite(1, at 0): ESPIPE
fd_filestat_set_times(1, now): EBADF
fd_filestat_set_times(1, 1s): EBADF
fd_seek(1, 0, set): ESPIPE
fd_seek(1, 0, cur): ESPIPE
fd_tell(1): ESPIPE
fd_advise(1): EBADF
fd_datasync(1): EBADF
fd_sync(1): EBADF
fd_fdstat_set_flags(1, 0): EBADF
fd_read(1): EBADF
fd_pread(1): EBADF
ftruncate(1, 0): EBADF
lseek(1, 0, SEEK_SET): ESPIPE
pwrite(1, at 0): ESPIPE
futimens(1, now): EBADF
fd_fdstat_get(0): OK
fd 0: filetype=0 read=1 write=0 seek=0
fd_write(0): EBADF
fd_filestat_set_size(0, 0): EBADF
fd_seek(0, 0, end): ESPIPE
fd_pread(0): ESPIPE
fd_read(0): OK
stdin: stdin content
";

#[test]
fn stdio_files_keep_their_content_and_times_under_every_write_like_call() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path());
    let files = tempfile::tempdir().unwrap();
    let (log, input) = (files.path().join("log.txt"), files.path().join("input.txt"));
    std::fs::write(&log, "earlier line\n").unwrap();
    std::fs::write(&input, "stdin content").unwrap();
    let old = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for p in [&log, &input] {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_accessed(old)
                .set_modified(old),
        )
        .unwrap();
    }
    let meta = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.len(), m.mtime(), m.mtime_nsec(), m.ino())
    };
    let before = (meta(&log), meta(&input));
    let open_log = || Stdio::from(std::fs::OpenOptions::new().append(true).open(&log).unwrap());
    let open_input = || Stdio::from(std::fs::File::open(&input).unwrap());

    let (status, stderr) = run_with_stdio(
        &mut command(&exe, &["stdio-files"]),
        open_input(),
        open_log(),
    );
    assert_eq!(stderr, STDIO_FILES);
    assert_eq!(status, 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "earlier line\n");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "stdin content");
    assert_eq!(
        (meta(&log), meta(&input)),
        before,
        "size, mtime or inode changed"
    );

    // Writing still appends.
    let (status, stderr) = run_with_stdio(
        &mut command(&exe, &["stdio-files", "append"]),
        open_input(),
        open_log(),
    );
    assert_eq!(stderr, format!("{STDIO_FILES}fd_write(1): OK\n"));
    assert_eq!(status, 0);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "earlier line\nappended\n"
    );
}

#[test]
fn a_directory_on_stdin_grants_nothing() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("existing.txt"), "keep\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let before = snapshot(dir.path());
    let mut cmd = command(&exe, &["stdin-dir"]);
    cmd.stdin(Stdio::from(std::fs::File::open(dir.path()).unwrap()));
    let out = run_with_stdin_set(&mut cmd);
    assert_run(
        &out,
        0,
        "fd_fdstat_get(0): OK\nfd 0: filetype=0 path rights=0 readdir=0\nfd_prestat_get(0): EBADF\n\
         path_open(0, new.txt, creat): EBADF\npath_open(0, existing.txt, read): EBADF\n\
         path_open(0, ., directory): EBADF\npath_create_directory(0, newdir): EBADF\n\
         path_unlink_file(0, existing.txt): EBADF\npath_remove_directory(0, sub): EBADF\n\
         path_rename(0, existing.txt -> moved.txt): EBADF\npath_symlink(0, x <- link): EBADF\n\
         path_link(0, existing.txt -> hard): EBADF\npath_filestat_get(0, existing.txt): EBADF\n\
         path_filestat_set_times(0, existing.txt): EBADF\nfd_readdir(0): EBADF\n\
         path_readlink(0, existing.txt): EBADF\nfd_filestat_set_times(0): EBADF\n",
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the directory on stdin changed"
    );
}

#[test]
fn fd_readdir_lists_100000_entries_with_4_kib_buffers_in_under_2_s_each_exactly_once() {
    const N: usize = 100_000;
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path());
    let grant = tempfile::tempdir().unwrap();
    let many = grant.path().join("many");
    std::fs::create_dir(&many).unwrap();
    let names: Vec<String> = (0..N).map(|i| format!("entry-{i:06}")).collect();
    for n in &names {
        std::fs::File::create(many.join(n)).unwrap();
    }
    let out = run_in(&exe, "readdir-many", grant.path());
    assert_eq!(out.status, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stderr, "");
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    let summary = lines.pop().unwrap_or_default();
    let field = |key: &str| -> u64 {
        summary
            .split(' ')
            .find_map(|f| f.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {summary:?}"))
            .parse()
            .unwrap()
    };
    assert_eq!(field("entries=") as usize, N, "{summary}");
    assert_eq!(lines.len(), N);
    lines.sort_unstable();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert!(lines == want, "some entry is missing or listed twice");
    let ms = field("ms=");
    eprintln!("listed {N} entries in {ms} ms ({} calls)", field("calls="));
    assert!(ms < 2000, "listing took {ms} ms");
}
