//! Every WASI preview1 function, end to end: C programs (`tests/wasi/misc.c`, `tests/wasi/fs.c`)
//! compiled with clang to wasm32-wasi, built with `wasic build`, run as native executables;
//! each test checks the exact stdout, the files left on the host and the exit status.
//!
//! [`COVERAGE`] names, for every function, the test that exercises it; the test
//! `coverage_table_lists_every_runtime_function` compares it with the functions the runtime
//! provides, so a new function cannot go untested.

mod common;

use common::*;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;

/// WASI function -> the test (in some file of `cli/tests`) that calls it end to end.
const COVERAGE: &[(&str, &str)] = &[
    (
        "args_get",
        "args_get_and_args_sizes_get_pass_argv_untouched",
    ),
    (
        "args_sizes_get",
        "args_get_and_args_sizes_get_pass_argv_untouched",
    ),
    (
        "environ_get",
        "environ_get_and_sizes_list_exactly_the_granted_variables",
    ),
    (
        "environ_sizes_get",
        "environ_get_and_sizes_list_exactly_the_granted_variables",
    ),
    (
        "clock_res_get",
        "clocks_report_plausible_resolution_and_time",
    ),
    (
        "clock_time_get",
        "clocks_report_plausible_resolution_and_time",
    ),
    (
        "fd_advise",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_allocate",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_close",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_datasync",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_fdstat_get",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "fd_fdstat_set_flags",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "fd_fdstat_set_rights",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "fd_filestat_get",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "fd_filestat_set_size",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_filestat_set_times",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "fd_pread",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_prestat_get",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "fd_prestat_dir_name",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "fd_pwrite",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    ("fd_read", "fd_read_reads_all_of_stdin"),
    (
        "fd_readdir",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "fd_renumber",
        "fd_renumber_moves_descriptors_even_onto_stdout",
    ),
    (
        "fd_seek",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_sync",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_tell",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "fd_write",
        "file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync",
    ),
    (
        "path_create_directory",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "path_filestat_get",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    (
        "path_filestat_set_times",
        "fdstat_filestat_and_times_on_descriptors_and_paths",
    ),
    ("path_link", "symlinks_hard_links_and_readlink"),
    (
        "path_open",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    ("path_readlink", "symlinks_hard_links_and_readlink"),
    (
        "path_remove_directory",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "path_rename",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    ("path_symlink", "symlinks_hard_links_and_readlink"),
    (
        "path_unlink_file",
        "directories_create_remove_rename_unlink_readdir_prestat",
    ),
    (
        "poll_oneoff",
        "poll_oneoff_sleeps_on_clocks_and_reports_ready_descriptors",
    ),
    ("proc_exit", "proc_exit_sets_the_exit_status"),
    (
        "proc_raise",
        "proc_raise_is_refused_with_enotsup_and_the_program_continues",
    ),
    (
        "random_get",
        "random_get_fills_buffers_with_distinct_random_bytes",
    ),
    ("sched_yield", "sched_yield_succeeds"),
    (
        "sock_accept",
        "sock_accept_accepts_a_connection_on_a_listening_socket_passed_as_stdin",
    ),
    (
        "sock_recv",
        "sock_recv_send_shutdown_work_on_a_socket_passed_as_stdio",
    ),
    (
        "sock_send",
        "sock_recv_send_shutdown_work_on_a_socket_passed_as_stdio",
    ),
    (
        "sock_shutdown",
        "sock_recv_send_shutdown_work_on_a_socket_passed_as_stdio",
    ),
];

/// The C programs whose imports together must cover every function.
const PROGRAMS: &[&str] = &["misc", "fs", "escape", "acceptance"];

#[test]
fn coverage_table_lists_every_runtime_function() {
    let mut provided: Vec<&str> = wasic_runtime::wasi::functions()
        .iter()
        .filter(|f| f.module == "wasi_snapshot_preview1")
        .map(|f| f.name)
        .collect();
    provided.sort();
    provided.dedup();
    let mut table: Vec<&str> = COVERAGE.iter().map(|(f, _)| *f).collect();
    table.sort();
    assert_eq!(
        table, provided,
        "COVERAGE must list exactly the functions the runtime provides"
    );

    // Each named test exists.
    let mut sources = String::new();
    for e in std::fs::read_dir(tests_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            sources.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    for (f, test) in COVERAGE {
        assert!(
            sources.contains(&format!("fn {test}(")),
            "{f}: the test `{test}` does not exist"
        );
    }

    // And the test programs really import every function (so the calls are not dead code).
    let mut imported = std::collections::BTreeSet::new();
    for p in PROGRAMS {
        for (m, n) in wasm_imports(&std::fs::read(compile_c(p)).unwrap()) {
            assert_eq!(m, "wasi_snapshot_preview1", "{p} imports {m}.{n}");
            imported.insert(n);
        }
    }
    let missing: Vec<&&str> = provided
        .iter()
        .filter(|f| !imported.contains(**f))
        .collect();
    assert!(missing.is_empty(), "no test program imports {missing:?}");
}

fn misc(dir: &Path) -> std::path::PathBuf {
    build_c("misc", dir, &[])
}

#[test]
fn args_get_and_args_sizes_get_pass_argv_untouched() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path());
    let out = run(
        command(&exe, &["args", "x", "y z", "", "--dir=/", "ünï"]).arg0("prog-name"),
        None,
    );
    assert_run(
        &out,
        0,
        "args_sizes_get: OK\nargs_get: OK\nargc=7 size=36\nargv[0]=[prog-name]\nargv[1]=[args]\nargv[2]=[x]\n\
         argv[3]=[y z]\nargv[4]=[]\nargv[5]=[--dir=/]\nargv[6]=[ünï]\n",
    );
}

use std::os::unix::process::CommandExt;

#[test]
fn environ_get_and_sizes_list_exactly_the_granted_variables() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c(
        "misc",
        t.path(),
        &["--env", "B=2", "--env", "A=x=y", "--env", "EMPTY="],
    );
    let out = run(command(&exe, &["env"]).env("HOST_ONLY", "1"), None);
    assert_run(
        &out,
        0,
        "environ_sizes_get: OK\nenviron_get: OK\ncount=3\nA=x=y\nB=2\nEMPTY=\n",
    );
}

#[test]
fn clocks_report_plausible_resolution_and_time() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path());
    let out = run_exe(&exe, &["clocks"]);
    let host_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let guest_now: u64 = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("realtime_s="))
        .unwrap_or_else(|| panic!("no realtime in {:?}", out.stdout))
        .parse()
        .unwrap();
    assert!(
        guest_now.abs_diff(host_now) < 120,
        "guest realtime {guest_now} vs host {host_now}"
    );
    let stdout = out
        .stdout
        .replace(&format!("realtime_s={guest_now}"), "realtime_s=NOW");
    assert_run(
        &Output { stdout, ..out },
        0,
        "clock_res_get(0): OK plausible\nclock_res_get(1): OK plausible\nclock_res_get(2): OK plausible\n\
         clock_res_get(3): OK plausible\nclock_res_get(99): EINVAL\nclock_time_get(realtime): OK\n\
         realtime_s=NOW\nclock_time_get(monotonic): OK\nclock_time_get(monotonic): OK\n\
         monotonic non-decreasing: yes\nclock_time_get(99): EINVAL\n",
    );
}

#[test]
fn random_get_fills_buffers_with_distinct_random_bytes() {
    let t = tempfile::tempdir().unwrap();
    let out = run_exe(&misc(t.path()), &["random"]);
    assert_run(
        &out,
        0,
        "random_get: OK\nrandom_get: OK\nrandom_get(len 0): OK\nrandom: distinct nonzero\nrandom_get(1 MiB): OK\n",
    );
}

#[test]
fn sched_yield_succeeds() {
    let t = tempfile::tempdir().unwrap();
    assert_run(
        &run_exe(&misc(t.path()), &["sched_yield"]),
        0,
        "sched_yield: OK\n",
    );
}

#[test]
fn poll_oneoff_sleeps_on_clocks_and_reports_ready_descriptors() {
    let t = tempfile::tempdir().unwrap();
    let out = run_exe(&misc(t.path()), &["poll"]);
    assert_run(
        &out,
        0,
        "poll_oneoff(clock 50ms): OK\nevents=1 userdata=42 error=0 type=0 slept>=50ms: yes\n\
         poll_oneoff(abstime past): OK\nevents=1 userdata=43\n\
         poll_oneoff(clock 10s + stdout writable): OK\nevents=1 userdata=2 type=2 error=0 quick: yes\n\
         poll_oneoff(0 subscriptions): EINVAL\npoll_oneoff(fd 77): EBADF\nusleep(20ms) slept>=20ms: yes\n",
    );
}

#[test]
fn proc_raise_is_refused_with_enotsup_and_the_program_continues() {
    // runtime/src/wasi/misc.rs chose ENOTSUP (what wasmtime's preview1 answers).
    let t = tempfile::tempdir().unwrap();
    assert_run(
        &run_exe(&misc(t.path()), &["proc_raise"]),
        0,
        "proc_raise(SIGTERM): ENOTSUP\nstill running\n",
    );
}

#[test]
fn sock_calls_on_non_sockets_fail_with_enotsock_or_ebadf() {
    let t = tempfile::tempdir().unwrap();
    let out = run_exe(&misc(t.path()), &["sock-nonsocket"]);
    assert_run(
        &out,
        0,
        "fd 1: sock_accept: ENOTSOCK\nfd 1: sock_recv: ENOTSOCK\nfd 1: sock_send: ENOTSOCK\n\
         fd 1: sock_shutdown: ENOTSOCK\nfd 99: sock_accept: EBADF\nfd 99: sock_recv: EBADF\n\
         fd 99: sock_send: EBADF\nfd 99: sock_shutdown: EBADF\n",
    );
}

#[test]
fn sock_recv_send_shutdown_work_on_a_socket_passed_as_stdio() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path());
    let (guest_end, mut host_end) = std::os::unix::net::UnixStream::pair().unwrap();
    host_end.write_all(b"ping").unwrap();
    let stdin: OwnedFd = guest_end.try_clone().unwrap().into();
    let stderr: OwnedFd = guest_end.into();
    let mut cmd = command(&exe, &["sock-pair"]);
    cmd.stdin(Stdio::from(stdin))
        .stderr(Stdio::from(stderr))
        .stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(cmd); // our copies of the guest's socket end
    let out = child.wait_with_output().unwrap();
    let mut got = Vec::new();
    host_end
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    host_end.read_to_end(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sock_recv(peek): OK\npeeked 4 bytes: ping\nsock_recv: OK\nreceived 4 bytes: ping roflags=0\n\
         sock_send: OK\nsent 4 bytes\nsock_shutdown(wr): OK\nsock_shutdown(bad how): EINVAL\n\
         sock_send on stdin (no write right): EBADF\nsock_accept on a connected socket: EINVAL\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        "pong",
        "what the guest sent on the socket"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn sock_accept_accepts_a_connection_on_a_listening_socket_passed_as_stdin() {
    let t = tempfile::tempdir().unwrap();
    let exe = misc(t.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cmd = command(&exe, &["sock-accept"]);
    cmd.stdin(Stdio::from(OwnedFd::from(listener)));
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        s.write_all(b"hi").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        got
    });
    let out = run_with_stdin_set(&mut cmd);
    drop(cmd);
    assert_run(
        &out,
        0,
        "fd_fdstat_get(0): OK\nstdin filetype=6 (socket stream=6)\nsock_accept: OK\nsock_recv: OK\n\
         received: hi\nsock_send: OK\nsock_shutdown(rd|wr): OK\nfd_close: OK\n",
    );
    assert_eq!(client.join().unwrap(), "bye");
}

#[test]
fn fd_read_reads_all_of_stdin() {
    let t = tempfile::tempdir().unwrap();
    let input = "first line\nsecond line\n".repeat(2000);
    let out = run(
        &mut command(&misc(t.path()), &["stdin"]),
        Some(input.as_bytes()),
    );
    assert_run(
        &out,
        0,
        &format!("read {} bytes from stdin: {input}", input.len()),
    );
}

/// A granted directory with a few files the fs scenarios use.
fn fs_fixture() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir(p.join("subdir")).unwrap();
    std::fs::write(p.join("subdir/inner.txt"), "inner\n").unwrap();
    std::fs::write(p.join("keep.txt"), "keep\n").unwrap();
    std::fs::write(p.join("doomed.txt"), "doomed\n").unwrap();
    std::fs::write(p.join("target.txt"), "target content\n").unwrap();
    std::fs::write(p.join("other.txt"), "").unwrap();
    std::os::unix::fs::symlink("keep.txt", p.join("klink")).unwrap();
    d
}

fn run_fs(scenario: &str) -> (Output, tempfile::TempDir) {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("fs", t.path(), &[]);
    let grant = fs_fixture();
    let out = run(
        command(&exe, &[scenario])
            .env("WASIC_DIR", format!("{}::/sandbox", grant.path().display())),
        None,
    );
    (out, grant)
}

#[test]
fn file_io_read_write_seek_tell_pread_pwrite_advise_allocate_sync() {
    let (out, grant) = run_fs("io");
    assert_run(
        &out,
        0,
        "path_open(io.txt, creat|trunc): OK\nfd_write(2 iovecs): OK\nwrote 12\nfd_seek(0, set): OK\npos=0\n\
         fd_read(5): OK\nread 5: hello\nfd_tell: OK\npos=5\nfd_pread(5 at 6): OK\npread 5: world\nfd_tell: OK\n\
         pos after pread=5\nfd_pwrite(5 at 6): OK\nfd_seek(-1, end): OK\npos=11\nfd_seek(-2, cur): OK\npos=9\n\
         fd_seek(whence 9): EINVAL\nfd_advise(sequential): OK\nfd_advise(dontneed): OK\n\
         fd_advise(advice 99): EINVAL\nfd_allocate(0, 4096): OK\nfd_filestat_get: OK\nsize=4096\n\
         fd_filestat_set_size(12): OK\nfd_filestat_get: OK\nsize=12\nfd_datasync: OK\nfd_sync: OK\n\
         fd_close: OK\nfd_close(again): EBADF\nfd_write(closed fd): EBADF\nwrite(read-only fd): EBADF\n\
         read(read-only fd): OK\ncontent=hello WORLD\nclose: OK\nfd_seek(stdout pipe): ESPIPE\n",
    );
    assert_eq!(
        std::fs::read_to_string(grant.path().join("io.txt")).unwrap(),
        "hello WORLD\n"
    );
}

#[test]
fn fdstat_filestat_and_times_on_descriptors_and_paths() {
    let (out, grant) = run_fs("stat");
    assert_run(
        &out,
        0,
        "path_open(stat.txt): OK\nfd_fdstat_get: OK\nfiletype=4 flags=0 read=1 write=1 seek=1\n\
         fd_fdstat_set_flags(append): OK\nfd_fdstat_get: OK\nflags=1 (append=1)\n\
         fd_fdstat_set_flags(sync): EINVAL\nfd_fdstat_set_rights(drop write): OK\nfd_fdstat_get: OK\n\
         write right=0\nfd_write(after dropping write): EBADF\nfd_fdstat_set_rights(regain write): ENOTCAPABLE\n\
         fd_filestat_get: OK\nfiletype=4 size=7 nlink=1\nfd_filestat_set_times(atim, mtim): OK\n\
         fd_filestat_get: OK\natim=1000000000000000000 mtim=1500000000000000005\n\
         fd_filestat_set_times(mtim + mtim_now): EINVAL\nfd_close: OK\npath_create_directory(subdir): EEXIST\n\
         path_filestat_get(stat.txt): OK\nfiletype=4 size=7 mtim_s=1500000000\npath_filestat_get(subdir): OK\n\
         filetype=3\npath_filestat_get(missing): ENOENT\npath_filestat_get(stat.txt/): ENOTDIR\n\
         path_filestat_set_times(other.txt mtim, atim_now): OK\npath_filestat_get(other.txt): OK\n\
         mtim=1234567890000000000\npath_filestat_set_times(atim + atim_now): EINVAL\n\
         fd_filestat_get(preopen): OK\nfiletype=3\nstat(/sandbox/stat.txt): OK\nsize=7 regular=1\n",
    );
    let p = grant.path();
    // Metadata first: reading the file would update its atime.
    let md = std::fs::metadata(p.join("stat.txt")).unwrap();
    assert_eq!(
        (md.mtime(), md.mtime_nsec(), md.atime()),
        (1_500_000_000, 5, 1_000_000_000)
    );
    assert_eq!(
        std::fs::read_to_string(p.join("stat.txt")).unwrap(),
        "1234567",
        "append mode"
    );
    let md = std::fs::metadata(p.join("other.txt")).unwrap();
    assert_eq!(md.mtime(), 1_234_567_890);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((md.atime() - now).abs() < 120, "atime was set to now");
}

#[test]
fn directories_create_remove_rename_unlink_readdir_prestat() {
    let (out, grant) = run_fs("dirs");
    assert_run(
        &out,
        0,
        "path_create_directory(d1): OK\npath_create_directory(d1) again: EEXIST\n\
         path_create_directory(d1/d2): OK\npath_create_directory(nope/d3): ENOENT\n\
         path_open(d1/f.txt, creat|excl): OK\npath_open(d1/f.txt, creat|excl) again: EEXIST\n\
         path_open(d1/f.txt, directory): ENOTDIR\npath_open(missing.txt): ENOENT\n\
         path_remove_directory(d1) non-empty: ENOTEMPTY\npath_remove_directory(d1/f.txt): ENOTDIR\n\
         path_unlink_file(d1/d2): EISDIR\npath_rename(d1/f.txt -> d1/d2/g.txt): OK\n\
         path_rename(missing -> x): ENOENT\npath_rename(keep.txt -> renamed.txt): OK\n\
         path_unlink_file(doomed.txt): OK\npath_unlink_file(doomed.txt) again: ENOENT\n\
         path_rename(d1/d2 -> d2moved): OK\npath_remove_directory(d1): OK\npath_create_directory(empty): OK\n\
         path_remove_directory(empty): OK\nfd_prestat_get(preopen): OK\ntag=0 name_len=8\n\
         fd_prestat_dir_name: OK\nname=/sandbox\nfd_prestat_dir_name(short buffer): ENAMETOOLONG\n\
         fd_prestat_get(stdout): EBADF\nfd_prestat_get(fd 99): EBADF\nreaddir: 8 entries\n  . dir\n  .. dir\n  \
         d2moved dir\n  klink symlink\n  other.txt file\n  renamed.txt file\n  subdir dir\n  target.txt file\n\
         path_open(., directory): OK\nfd_readdir raw: OK, 8 entries\nfd_readdir(regular file): EBADF\n",
    );
    let p = grant.path();
    assert!(
        !p.join("d1").exists() && !p.join("doomed.txt").exists() && !p.join("keep.txt").exists()
    );
    assert_eq!(
        std::fs::read_to_string(p.join("renamed.txt")).unwrap(),
        "keep\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.join("d2moved/g.txt")).unwrap(),
        "moved file\n"
    );
}

#[test]
fn symlinks_hard_links_and_readlink() {
    let (out, grant) = run_fs("links");
    assert_run(
        &out,
        0,
        "path_symlink(target.txt <- sym): OK\npath_symlink(again): EEXIST\npath_readlink(sym): OK\n\
         link=target.txt len=10\npath_readlink(sym, 4-byte buffer): OK\nlink=targ len=4\n\
         path_readlink(target.txt): EINVAL\npath_filestat_get(sym, nofollow): OK\nfiletype=7 (symlink=7)\n\
         path_filestat_get(sym, follow): OK\nfiletype=4 size=15\nread through sym: target content\n\
         path_open(sym, follow): OK\npath_open(sym, nofollow): ELOOP\npath_link(target.txt -> hard): OK\n\
         path_link(again): EEXIST\npath_link(missing -> x): ENOENT\npath_filestat_get(target.txt): OK\n\
         nlink=2\npath_symlink(subdir <- dirlink): OK\nread through dirlink: inner\n\
         path_unlink_file(sym): OK\npath_symlink(dangling <- dangle): OK\npath_open(dangle): ENOENT\n\
         path_remove_directory(dirlink): ENOTDIR\n",
    );
    let p = grant.path();
    assert!(
        std::fs::symlink_metadata(p.join("sym")).is_err(),
        "sym was unlinked"
    );
    assert_eq!(
        std::fs::read_link(p.join("dirlink")).unwrap(),
        Path::new("subdir")
    );
    assert_eq!(
        std::fs::read_link(p.join("dangle")).unwrap(),
        Path::new("nothing-here")
    );
    let (a, b) = (
        std::fs::metadata(p.join("target.txt")).unwrap(),
        std::fs::metadata(p.join("hard")).unwrap(),
    );
    assert_eq!(
        (a.ino(), a.nlink()),
        (b.ino(), 2),
        "hard is a hard link of target.txt"
    );
}

#[test]
fn fd_renumber_moves_descriptors_even_onto_stdout() {
    let (out, grant) = run_fs("fds");
    assert_run(
        &out,
        0,
        "path_open(a.txt): OK\npath_open(b.txt): OK\ndistinct fds: yes\nfd_renumber(a -> b): OK\n\
         fd_close(a) after renumber: EBADF\nfd_renumber(b -> 99): EBADF\nfd_renumber(55 -> b): EBADF\n\
         fd_renumber(b -> b): OK\npath_open(c.txt): OK\nfreed number reused: yes\nfd_close(b): OK\n\
         last line on the real stdout\n",
    );
    let p = grant.path();
    assert_eq!(
        std::fs::read_to_string(p.join("a.txt")).unwrap(),
        "written via b after renumber\n"
    );
    assert_eq!(std::fs::read_to_string(p.join("b.txt")).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(p.join("c.txt")).unwrap(),
        "fd_renumber(c -> 1): OK\nthis goes to c.txt\n"
    );
}
