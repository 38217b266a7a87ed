//! Sandbox escape tests: every attempt to reach outside a preopen must fail and touch nothing.
//!
//! Each scenario runs twice: with `openat2(RESOLVE_BENEATH)` and with the component-by-component
//! fallback walker (`sandbox::force_walk`), on a fresh fixture:
//!
//! ```text
//! base/outside/secret, outside/dir/        <- must never be read, changed or listed
//! base/box/            (preopened as fd 3)
//!   file, a/b/c/, a/up -> "..", a/up2 -> "../..", etc -> "/etc", abs_out -> "<base>/outside",
//!   rel_out -> "../outside", chain1 -> "a/chain2", a/chain2 -> "b/../../..",
//!   dangle_rel -> "../outside/created", dangle_abs -> "<base>/outside/created2",
//!   loop1 -> "loop2", loop2 -> "loop1"
//! ```

use super::sandbox;
use super::tests::{e, Tmp, ALL, BUF, DATA, DIR_RIGHTS, H, OUT, PATH, PATH2, PRE};
use super::Errno;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

const SECRET: &[u8] = b"TOP SECRET";

struct Fixture {
    _base: Tmp,
    boxed: PathBuf,
    outside: PathBuf,
    before: BTreeMap<PathBuf, (Vec<u8>, i64, i64)>,
    h: H,
}

/// Every entry under `dir` with its contents (files), link target (symlinks) and times.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let md = fs::symlink_metadata(&d).unwrap();
        out.insert(d.clone(), (b"<dir>".to_vec(), md.mtime(), md.mtime_nsec()));
        for ent in fs::read_dir(&d).unwrap() {
            let p = ent.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                todo.push(p);
            } else {
                let data = if md.file_type().is_symlink() {
                    fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    fs::read(&p).unwrap()
                };
                out.insert(p, (data, md.mtime(), md.atime()));
            }
        }
    }
    out
}

impl Fixture {
    fn new() -> Fixture {
        let base = Tmp::new("sandbox");
        let outside = base.join("outside");
        let boxed = base.join("box");
        fs::create_dir_all(outside.join("dir")).unwrap();
        fs::write(outside.join("secret"), SECRET).unwrap();
        fs::create_dir_all(boxed.join("a/b/c")).unwrap();
        fs::write(boxed.join("file"), b"inside").unwrap();
        let links: &[(&str, String)] = &[
            ("a/up", "..".into()),
            ("a/up2", "../..".into()),
            ("etc", "/etc".into()),
            ("abs_out", outside.display().to_string()),
            ("rel_out", "../outside".into()),
            ("chain1", "a/chain2".into()),
            ("a/chain2", "b/../../..".into()),
            ("dangle_rel", "../outside/created".into()),
            ("dangle_abs", outside.join("created2").display().to_string()),
            ("loop1", "loop2".into()),
            ("loop2", "loop1".into()),
        ];
        for (at, target) in links {
            symlink(target, boxed.join(at)).unwrap();
        }
        // The first read of a new file moves its atime (relatime), and a snapshot reads every
        // file after taking its metadata: take one to settle the atimes, then the real one.
        snapshot(&outside);
        let before = snapshot(&outside);
        let h = H::with_dir(&boxed);
        Fixture {
            _base: base,
            boxed,
            outside,
            before,
            h,
        }
    }

    /// Asserts the call failed with `want` and that nothing outside changed.
    fn denied(&self, what: &str, got: Result<impl std::fmt::Debug, u16>, want: Errno) {
        match got {
            Err(errno) => assert_eq!(errno, want.0, "{what}: wrong errno"),
            Ok(v) => panic!("{what}: escaped the sandbox: {v:?}"),
        }
        assert_eq!(
            snapshot(&self.outside),
            self.before,
            "{what}: touched the outside"
        );
    }
}

/// Runs `scenario` with openat2 and with the fallback walker, each on a fresh fixture.
fn both(scenario: impl Fn(&mut Fixture)) {
    for walk in [false, true] {
        sandbox::force_walk(walk);
        let mut f = Fixture::new();
        scenario(&mut f);
        assert_eq!(snapshot(&f.outside), f.before);
    }
    sandbox::force_walk(false);
}

fn r(errno: u16) -> Result<(), u16> {
    if errno == 0 {
        Ok(())
    } else {
        Err(errno)
    }
}

const PERM: Errno = Errno::PERM;

#[test]
fn dotdot_at_various_depths() {
    both(|f| {
        for p in [
            "..",
            "../outside/secret",
            "a/../../outside/secret",
            "a/b/c/../../../../outside/secret",
            "a/b/../../a/../../outside",
            "./../box/../outside/secret",
        ] {
            let got = f.h.open(p, 0, ALL);
            f.denied(p, got, PERM);
        }
        // Going up and down again inside is fine.
        let fd = f.h.open("a/b/../../file", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
        let fd = f.h.open("a/..", 0, DIR_RIGHTS).unwrap();
        assert_eq!(f.h.call("fd_fdstat_get", &[fd, OUT]), 0);
    });
}

#[test]
fn absolute_paths() {
    both(|f| {
        let outside = f.outside.join("secret").display().to_string();
        for p in ["/", "/etc/passwd", outside.as_str(), "//etc"] {
            let got = f.h.open(p, 0, ALL);
            f.denied(p, got, PERM);
            let got = f.h.stat(p, true);
            f.denied(p, got, PERM);
        }
        let got =
            r(f.h.path1("path_create_directory", PRE, "/tmp/wasic-should-not-exist"));
        f.denied("mkdir absolute", got, PERM);
        assert!(!Path::new("/tmp/wasic-should-not-exist").exists());
    });
}

#[test]
fn absolute_symlinks_to_etc_and_outside() {
    both(|f| {
        for p in ["etc/passwd", "etc", "abs_out/secret", "abs_out", "etc/"] {
            let got = f.h.open(p, 0, ALL);
            f.denied(p, got, PERM);
        }
        let got = f.h.stat("etc", true);
        f.denied("stat etc (follow)", got, PERM);
        let got = f.h.stat("etc/", false);
        f.denied("stat etc/ (trailing slash follows)", got, PERM);
        let got = f.h.stat("abs_out/secret", false);
        f.denied("stat through abs link", got, PERM);
        // The link itself may be looked at without following it.
        assert_eq!(f.h.stat("etc", false).unwrap().0, 7);
        assert_eq!(
            f.h.open_in(PRE, "etc", 0, ALL, 0, false),
            Err(e(Errno::LOOP))
        );
    });
}

#[test]
fn relative_symlinks_and_chains_escaping() {
    both(|f| {
        for p in [
            "rel_out/secret",
            "rel_out",
            "chain1/outside/secret",
            "chain1",
            "a/up2/outside/secret",
            "a/up2",
            "a/up/..",
            "a/up/../outside/secret",
            "a/chain2/outside",
        ] {
            let got = f.h.open(p, 0, ALL);
            f.denied(p, got, PERM);
            let got = f.h.stat(p, true);
            f.denied(p, got, PERM);
        }
        // A symlink to ".." from a subdirectory stays inside: allowed.
        let fd = f.h.open("a/up/file", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
        assert_eq!(f.h.open("loop1", 0, ALL), Err(e(Errno::LOOP)));
        assert_eq!(f.h.stat("loop1", true), Err(e(Errno::LOOP)));
    });
}

#[test]
fn hard_links_to_outside() {
    both(|f| {
        let got = r(f.h.link("../outside/secret", false, "stolen"));
        f.denied("link ../outside/secret", got, PERM);
        let got = r(f.h.link("rel_out/secret", false, "stolen"));
        f.denied("link rel_out/secret", got, PERM);
        let got = r(f.h.link("abs_out", true, "stolen"));
        f.denied("link following abs_out", got, PERM);
        let got = r(f.h.link("dangle_rel", true, "stolen"));
        f.denied("link following dangle_rel", got, PERM);
        let got = r(f.h.link("file", false, "../outside/planted"));
        f.denied("link into outside", got, PERM);
        let got = r(f.h.link("file", false, "rel_out/planted"));
        f.denied("link into outside via symlink", got, PERM);
        assert!(!f.boxed.join("stolen").exists());
        // Without following, the link itself is linked: harmless, still a link.
        assert_eq!(f.h.link("abs_out", false, "copy_of_link"), 0);
        let got = f.h.open("copy_of_link/secret", 0, ALL);
        f.denied("open through linked link", got, PERM);
    });
}

#[test]
fn renames_out_and_in() {
    both(|f| {
        let got = r(f.h.rename("file", "../outside/planted"));
        f.denied("rename file out", got, PERM);
        let got = r(f.h.rename("file", "rel_out/planted"));
        f.denied("rename file out via symlink", got, PERM);
        let got = r(f.h.rename("../outside/secret", "mine"));
        f.denied("rename secret in", got, PERM);
        let got = r(f.h.rename("a/up2/outside/secret", "mine"));
        f.denied("rename secret in via up2", got, PERM);
        let got = r(f.h.rename("a", ".."));
        f.denied("rename onto ..", got, PERM);
        assert!(f.boxed.join("file").exists());
        // Renaming the escaping link itself is fine: it stays a link.
        assert_eq!(f.h.rename("rel_out", "renamed"), 0);
        let got = f.h.open("renamed/secret", 0, ALL);
        f.denied("open through renamed link", got, PERM);
    });
}

#[test]
fn create_through_dangling_outside_symlinks() {
    both(|f| {
        for p in ["dangle_rel", "dangle_abs"] {
            let got = f.h.open(p, 1 /* creat */, ALL);
            f.denied(p, got, PERM);
            // Without following, O_CREAT on the link itself fails with ELOOP.
            let got = f.h.open_in(PRE, p, 1, ALL, 0, false);
            f.denied(p, got, Errno::LOOP);
            // O_CREAT | O_EXCL never follows a final symlink: the link itself exists.
            let got = f.h.open_in(PRE, p, 1 | 4, ALL, 0, true);
            f.denied(p, got, Errno::EXIST);
        }
        assert!(!f.outside.join("created").exists() && !f.outside.join("created2").exists());
        let got = f.h.open("rel_out/new", 1, ALL);
        f.denied("create via rel_out", got, PERM);
        let got = f.h.open("a/up2/outside/new", 1, ALL);
        f.denied("create via up2", got, PERM);
    });
}

#[test]
fn readlink_and_filestat_through_escaping_links() {
    both(|f| {
        let got = f.h.readlink("etc/passwd", 100);
        f.denied("readlink etc/passwd", got, PERM);
        let got = f.h.readlink("rel_out/secret", 100);
        f.denied("readlink rel_out/secret", got, PERM);
        let got = f.h.readlink("../box/etc", 100);
        f.denied("readlink ../box/etc", got, PERM);
        // Reading a link's own text is allowed (as on wasmtime): it reveals nothing outside.
        assert_eq!(f.h.readlink("etc", 100).unwrap(), b"/etc");
        assert_eq!(f.h.readlink("rel_out", 100).unwrap(), b"../outside");
        let got = f.h.stat("..", false);
        f.denied("stat ..", got, PERM);
        let got = f.h.stat("a/up2", true);
        f.denied("stat a/up2", got, PERM);
        let got = f.h.stat("rel_out/", false);
        f.denied("stat rel_out/", got, PERM);
        f.h.put(PATH, b"rel_out/secret");
        let got =
            r(f.h.call("path_filestat_set_times", &[PRE, 1, PATH, 14, 0, 0, 2 | 8]));
        f.denied("set times rel_out/secret", got, PERM);
        f.h.put(PATH, b"abs_out");
        let got =
            r(f.h.call("path_filestat_set_times", &[PRE, 1, PATH, 7, 0, 0, 2 | 8]));
        f.denied("set times following abs_out", got, PERM);
        // Not following: the link's own times change, nothing outside.
        assert_eq!(
            f.h.call("path_filestat_set_times", &[PRE, 0, PATH, 7, 0, 0, 2 | 8]),
            0
        );
    });
}

#[test]
fn directory_fd_from_path_open_is_its_own_root() {
    both(|f| {
        let a = f.h.open("a", 2 /* directory */, DIR_RIGHTS).unwrap();
        for p in [
            "..",
            "../file",
            "../../outside/secret",
            "up2/outside/secret",
            "b/../../file",
            "up/file",
        ] {
            let got = f.h.open_in(a, p, 0, ALL, 0, true);
            f.denied(p, got, PERM);
        }
        let got = r(f.h.path1("path_create_directory", a, "../escaped"));
        f.denied("mkdir ../ from a", got, PERM);
        assert!(!f.boxed.join("escaped").exists());
        // Inside `a` everything works.
        let b = f.h.open_in(a, "b/c/..", 0, DIR_RIGHTS, 0, true).unwrap();
        assert_eq!(f.h.path1("path_create_directory", b, "new"), 0);
        assert!(f.boxed.join("a/b/new").is_dir());
        // A symlink made through `a` may point above `a` while it stays in the grant, but `a`
        // cannot follow it there.
        f.h.put(PATH, b"..");
        f.h.put(PATH2, b"mine");
        assert_eq!(f.h.call("path_symlink", &[PATH, 2, a, PATH2, 4]), 0);
        let got = f.h.open_in(a, "mine/file", 0, ALL, 0, true);
        f.denied("mine/file", got, PERM);
        let fd = f.h.open("a/mine/file", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
    });
}

#[test]
fn creating_and_removing_outside() {
    both(|f| {
        for (call, p) in [
            ("path_create_directory", "../outside/newdir"),
            ("path_create_directory", "rel_out/newdir"),
            ("path_create_directory", "etc/newdir"),
            ("path_unlink_file", "../outside/secret"),
            ("path_unlink_file", "rel_out/secret"),
            ("path_unlink_file", "abs_out/secret"),
            ("path_remove_directory", "../outside/dir"),
            ("path_remove_directory", "rel_out/dir"),
            ("path_remove_directory", ".."),
            ("path_remove_directory", "a/up2/outside/dir"),
        ] {
            let got = r(f.h.path1(call, PRE, p));
            f.denied(&format!("{call} {p}"), got, PERM);
        }
        // Unlinking an escaping symlink removes the link, not its target.
        assert_eq!(f.h.path1("path_unlink_file", PRE, "abs_out"), 0);
        assert!(f.outside.join("secret").exists());
    });
}

/// Links pointing out are never followed by the sandbox, but host tools working in the grant
/// would follow them: the guest may not create them (absolute, as on wasmtime, or climbing
/// above the grant, judged lexically from the link's directory).
#[test]
fn symlinks_created_by_the_guest_may_not_point_out() {
    both(|f| {
        let outside = f.outside.join("secret").display().to_string();
        for (at, target) in [
            ("guest0", "/"),
            ("guest1", outside.as_str()),
            ("guest2", "../outside/secret"),
            ("guest3", ".."),
            ("guest4", "a/../../outside/secret"),
            ("guest5", "a/b/../../.."),
            ("a/guest6", "../../outside"),
            ("a/b/c/guest7", "../../../.."),
            // Through an in-grant link to `..`, `a/up/x` is `x` in the root: `..` from there
            // climbs out, whatever the path's spelling suggests.
            ("a/up/guest8", "../outside"),
        ] {
            let got = r(f.h.symlink(target, at));
            f.denied(&format!("symlink {at} -> {target}"), got, PERM);
            assert!(
                fs::symlink_metadata(f.boxed.join(at)).is_err(),
                "{at} was created"
            );
        }
        // Placed outside by name: denied as well.
        let got = r(f.h.symlink("x", "../outside/planted"));
        f.denied("symlink placed outside", got, PERM);
        // Climbing that stays in the grant is fine, from any depth.
        for (at, target) in [
            ("ok0", "a/../file"),
            ("a/ok1", "../file"),
            ("a/b/c/ok2", "../../../a/b/../../file"),
            ("a/b/ok3", "./../../file/"),
            ("ok4", "dangling/inside"),
        ] {
            assert_eq!(f.h.symlink(target, at), 0, "symlink {at} -> {target}");
            assert_eq!(
                fs::read_link(f.boxed.join(at)).unwrap(),
                Path::new(target),
                "{at}"
            );
        }
        let fd = f.h.open("a/b/c/ok2", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
    });
}

#[test]
fn snapshot0_functions_share_the_sandbox() {
    both(|f| {
        f.h.put(PATH, b"rel_out/secret");
        let got = r(f
            .h
            .call_in(
                super::UNSTABLE,
                "path_filestat_get",
                &[PRE, 1, PATH, 14, BUF],
            )
            .unwrap());
        f.denied("unstable path_filestat_get", got, PERM);
        let got = r(f
            .h
            .call_in(
                super::UNSTABLE,
                "path_open",
                &[PRE, 1, PATH, 14, 0, ALL, ALL, 0, OUT],
            )
            .unwrap());
        f.denied("unstable path_open", got, PERM);
    });
}

/// A symlink to the outside swapped in (atomically, with `RENAME_EXCHANGE`) while the guest
/// resolves paths through the same name: no open may ever reach the secret.
#[test]
fn symlink_swapped_in_during_resolution() {
    use std::ffi::CString;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    for walk in [false, true] {
        sandbox::force_walk(walk);
        let mut f = Fixture::new();
        fs::create_dir(f.boxed.join("race")).unwrap();
        fs::write(f.boxed.join("race/secret"), b"decoy").unwrap();
        symlink(&f.outside, f.boxed.join("race_alt")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (a, b) = (
            CString::new(f.boxed.join("race").into_os_string().into_encoded_bytes()).unwrap(),
            CString::new(
                f.boxed
                    .join("race_alt")
                    .into_os_string()
                    .into_encoded_bytes(),
            )
            .unwrap(),
        );
        let stop2 = stop.clone();
        let swapper = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let r = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(r, 0);
            }
        });
        let mut opened = 0;
        for _ in 0..3000 {
            for p in ["race/secret", "race/../race/secret"] {
                if let Ok(fd) = f.h.open(p, 0, ALL) {
                    opened += 1;
                    let data = f.h.read(fd, 100).unwrap();
                    assert_eq!(
                        data, b"decoy",
                        "read the outside secret through a swapped symlink"
                    );
                    assert_eq!(f.h.call("fd_close", &[fd]), 0);
                }
            }
            f.h.put(DATA, b"");
            let _ = f.h.stat("race/secret", false);
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        assert!(opened > 0, "the race never let a legitimate open through");
        assert_eq!(snapshot(&f.outside), f.before);
    }
    sandbox::force_walk(false);
}

/// Seccomp sandboxes (systemd's, container runtimes') deny `openat2` with `EPERM`; renames
/// racing with it make it give up with `EAGAIN`. Either must send the resolution to the
/// component walk, as cap-std does, instead of being reported as an escape or a failure; the
/// walk still refuses every escape.
#[test]
fn openat2_denied_or_giving_up_falls_back_to_the_walk() {
    use sandbox::{after_openat2, Openat2Failed};
    assert_eq!(after_openat2(libc::EPERM), Openat2Failed::Walk);
    assert_eq!(after_openat2(libc::EAGAIN), Openat2Failed::Walk);
    assert_eq!(after_openat2(libc::ENOSYS), Openat2Failed::WalkFromNowOn);
    assert_eq!(after_openat2(libc::EXDEV), Openat2Failed::Answer(PERM));
    assert_eq!(
        after_openat2(libc::ENOENT),
        Openat2Failed::Answer(Errno::NOENT)
    );
    for errno in [libc::EPERM, libc::EAGAIN] {
        sandbox::simulate_openat2_failure(Some(errno));
        let mut f = Fixture::new();
        let fd = f.h.open("file", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
        let fd = f.h.open("a/up/file", 0, ALL).unwrap();
        assert_eq!(f.h.read(fd, 100).unwrap(), b"inside");
        assert_eq!(f.h.open("missing", 0, ALL), Err(e(Errno::NOENT)));
        assert_eq!(f.h.path1("path_create_directory", PRE, "a/b/new"), 0);
        assert!(f.boxed.join("a/b/new").is_dir());
        assert_eq!(f.h.stat("a/b/new", true).unwrap().0, 3);
        for p in [
            "../outside/secret",
            "rel_out/secret",
            "etc/passwd",
            "a/up2/outside",
        ] {
            let got = f.h.open(p, 0, ALL);
            f.denied(p, got, PERM);
        }
        sandbox::simulate_openat2_failure(None);
        assert_eq!(snapshot(&f.outside), f.before);
    }
}
