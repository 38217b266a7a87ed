//! End-to-end tests of libraries and `--invoke`: `wasic build --lib` (static and shared) with a
//! generated header, linked into C host programs; `wasic run --invoke` on reactors and commands.
//! Needs Debian's clang with wasi-libc (installed by scripts/install-deps.sh).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wasic() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasic"));
    // `--invoke` caches compiled modules: in the target directory, not the user's home.
    c.env(
        "WASIC_CACHE_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/wasic-cache"),
    );
    c
}

fn src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/library")
        .join(name)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{cmd:?} panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `text` to `dir/NAME.wat` and returns its path.
fn wat_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let w = dir.join(format!("{name}.wat"));
    std::fs::write(&w, text).unwrap();
    w
}

/// Compiles a C file of tests/library to wasm32-wasi; `reactor` selects the exec model.
fn wasm(dir: &Path, name: &str, reactor: bool) -> PathBuf {
    let out = dir.join(format!("{name}.wasm"));
    let mut cmd = Command::new("clang");
    cmd.args(["--target=wasm32-wasi", "-O2"])
        .arg(src(&format!("{name}.c")))
        .arg("-o")
        .arg(&out);
    if reactor {
        cmd.arg("-mexec-model=reactor");
    }
    let r = cmd
        .output()
        .expect("clang is needed for these tests: run scripts/install-deps.sh");
    assert!(
        r.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn host(dir: &Path, source: &str, lib_args: &[&str]) -> PathBuf {
    let exe = dir.join(source.trim_end_matches(".c"));
    let mut cmd = Command::new("cc");
    cmd.arg("-I")
        .arg(dir)
        .arg(src(source))
        .arg("-o")
        .arg(&exe)
        .args(lib_args);
    ok(&mut cmd);
    exe
}

/// `wasic build --lib` of tests/library/NAME.c into `libNAME.EXT` with header `NAME.h`.
fn build_lib(dir: &Path, name: &str, reactor: bool, ext: &str) -> PathBuf {
    let w = wasm(dir, name, reactor);
    let lib = dir.join(format!("lib{name}.{ext}"));
    ok(wasic()
        .args(["build", "--lib"])
        .arg(&w)
        .arg("-o")
        .arg(&lib)
        .arg("--header")
        .arg(dir.join(format!("{name}.h"))));
    lib
}

/// A host program linked statically with `lib`.
fn static_host(dir: &Path, source: &str, lib: &Path) -> PathBuf {
    host(
        dir,
        source,
        &[lib.to_str().unwrap(), "-lpthread", "-ldl", "-lm"],
    )
}

const HOST_EXPECTED: &str = "second initialize: 3 already initialized
a.add=5 b.add=3
a.get=2000000000
b.half=4.5
hello from the reactor
boom: rc=1 trap=unreachable
b still works: 1
memory: yes, 131072 bytes
unknown export: rc=3
host done
";

#[test]
fn static_reactor_library_serves_two_instances_and_returns_traps_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build_lib(dir.path(), "reactor", true, "a");
    let exe = static_host(dir.path(), "host.c", &lib);
    assert_eq!(ok(&mut Command::new(&exe)), HOST_EXPECTED);
}

#[test]
fn shared_reactor_library_behaves_like_the_static_one() {
    let dir = tempfile::tempdir().unwrap();
    build_lib(dir.path(), "reactor", true, "so");
    let libdir = format!("-L{}", dir.path().display());
    let exe = host(dir.path(), "host.c", &[&libdir, "-lreactor"]);
    assert_eq!(
        ok(Command::new(&exe).env("LD_LIBRARY_PATH", dir.path())),
        HOST_EXPECTED
    );
    // Only the C API is exported from the shared library.
    let syms = ok(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(dir.path().join("libreactor.so")));
    assert!(syms.contains("wasic_instance_new"));
    assert!(
        !syms.contains("wasic_module"),
        "internal symbols leak: {syms}"
    );
}

#[test]
fn command_built_as_library_returns_its_exit_code_to_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build_lib(dir.path(), "command", false, "a");
    let exe = static_host(dir.path(), "command_host.c", &lib);
    assert_eq!(
        ok(&mut Command::new(&exe)),
        "command main, argc=0\nstart: rc=0 exit code=42\nhost done\n"
    );
}

#[test]
fn header_maps_wasm_types_to_c_types() {
    let dir = tempfile::tempdir().unwrap();
    build_lib(dir.path(), "reactor", true, "a");
    let h = dir.path().join("reactor.h");
    let text = std::fs::read_to_string(h).unwrap();
    assert!(text.contains("static inline int reactor_add(wasic_instance_t *inst, int32_t p0, int32_t p1, int32_t *r0)"));
    assert!(text.contains("static inline int reactor_get(wasic_instance_t *inst, int64_t *r0)"));
    assert!(text
        .contains("static inline int reactor_half(wasic_instance_t *inst, double p0, double *r0)"));
    assert!(
        !text.contains("reactor__initialize"),
        "_initialize is reached through wasic_instance_initialize"
    );
}

#[test]
fn lib_output_must_be_a_or_so_and_nothing_is_written_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "reactor", true);
    let out = dir.path().join("libreactor.dylib");
    let r = run(wasic()
        .arg("build")
        .arg("--lib")
        .arg(&w)
        .arg("-o")
        .arg(&out));
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("must end in .a"));
    assert!(!out.exists());
}

#[test]
fn invoke_calls_a_reactor_export_after_initialize() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "reactor", true);
    // 0 (not 100) shows that _initialize ran the constructor first.
    assert_eq!(
        ok(wasic()
            .args(["run", "--invoke", "add"])
            .arg(&w)
            .args(["2", "3"])),
        "5\n"
    );
    assert_eq!(
        ok(wasic().args(["run", "--invoke", "half"]).arg(&w).arg("5")),
        "2.5\n"
    );
    assert_eq!(ok(wasic().args(["run", "--invoke", "get"]).arg(&w)), "0\n");
}

#[test]
fn invoke_prints_gc_references_by_hierarchy_as_wasmtime_does() {
    let dir = tempfile::tempdir().unwrap();
    let w = wat_file(
        dir.path(),
        "gc_refs",
        r#"(module
            (type $s (struct (field i32)))
            (func (export "i31") (result i31ref) (ref.i31 (i32.const -7)))
            (func (export "obj") (result anyref) (struct.new $s (i32.const 1)))
            (func (export "none") (result (ref null $s)) (ref.null $s))
            (func (export "ext") (result externref) (extern.convert_any (ref.i31 (i32.const 3))))
            (func (export "noext") (result externref) (ref.null extern))
            (func (export "_start")))"#,
    );
    // What wasmtime 50 prints for the same exports.
    for (export, printed) in [
        ("i31", "<anyref>\n"),
        ("obj", "<anyref>\n"),
        ("none", "<null anyref>\n"),
        ("ext", "<externref>\n"),
        ("noext", "<null externref>\n"),
    ] {
        assert_eq!(
            ok(wasic().args(["run", "--invoke", export]).arg(&w)),
            printed,
            "{export}"
        );
    }
}

#[test]
fn invoke_takes_null_for_a_nullable_reference_argument_and_prints_references() {
    let dir = tempfile::tempdir().unwrap();
    let w = wat_file(
        dir.path(),
        "refs",
        r#"(module
            (type $t (func (result i32)))
            (func $f (type $t) (i32.const 42))
            (elem declare func $f)
            (func (export "get") (result (ref $t)) (ref.func $f))
            (func (export "call") (param (ref null $t)) (result i32) (call_ref $t (local.get 0)))
            (func (export "strict") (param (ref $t)) (result i32) (call_ref $t (local.get 0)))
            (func (export "_start")))"#,
    );
    assert_eq!(
        ok(wasic().args(["run", "--invoke", "get"]).arg(&w)),
        "<funcref>\n"
    );
    // `null` reaches call_ref, which traps; a non-nullable parameter refuses it up front.
    let out = run(wasic()
        .args(["run", "--invoke", "call"])
        .arg(&w)
        .arg("null"));
    assert_eq!(out.status.code(), Some(134));
    assert!(String::from_utf8_lossy(&out.stderr).contains("null function reference"));
    let out = run(wasic()
        .args(["run", "--invoke", "strict"])
        .arg(&w)
        .arg("null"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a valid (ref 0)"), "{err}");
}

#[test]
fn invoke_calls_an_export_of_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "command", false);
    assert_eq!(
        ok(wasic().args(["run", "--invoke", "twice"]).arg(&w).arg("21")),
        "42\n"
    );
}

#[test]
fn invoke_rejects_wrong_argument_counts_and_types_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "reactor", true);
    for (args, expect) in [
        (vec!["2"], "takes 2 argument(s)"),
        (
            vec!["2", "x"],
            "argument 2 of `add`: `x` is not a valid i32",
        ),
        (vec![], "takes 2 argument(s)"),
    ] {
        let r = run(wasic().args(["run", "--invoke", "add"]).arg(&w).args(&args));
        assert!(!r.status.success());
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one-line error expected: {err}"
        );
    }
    // Integers in hexadecimal, as wasmtime reads them; arguments beyond the parameters are
    // not an error (they are argv).
    assert_eq!(
        ok(wasic()
            .args(["run", "--invoke", "add"])
            .arg(&w)
            .args(["0x10", "0xffffffff", "extra"])),
        "15\n"
    );
    let r = run(wasic().args(["run", "--invoke", "missing"]).arg(&w));
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("no function `missing`"));
}

#[test]
fn invoke_reports_a_trap_with_status_134() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "reactor", true);
    let r = run(wasic().args(["run", "--invoke", "boom"]).arg(&w).arg("1"));
    assert_eq!(r.status.code(), Some(134));
    assert!(String::from_utf8_lossy(&r.stderr).starts_with("Error: wasm trap: unreachable"));
}

#[test]
fn invoke_passes_all_args_as_argv_after_the_module_name_as_wasmtime_does() {
    // As in `wasmtime run --invoke run entry.wasm 10 in.png out.png`: the export's parameter
    // comes from the first ARGS, and argv is the module's file name followed by every ARG.
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "entry", true);
    assert_eq!(
        ok(wasic()
            .args(["run", "--invoke", "run"])
            .arg(&w)
            .args(["10", "in.png", "--out", "out.png"])),
        "argv[0]=entry.wasm\nargv[1]=10\nargv[2]=in.png\nargv[3]=--out\nargv[4]=out.png\n50\n"
    );
    assert_eq!(
        ok(wasic().args(["run", "--invoke", "run"]).arg(&w).arg("3")),
        "argv[0]=entry.wasm\nargv[1]=3\n6\n"
    );
}

#[test]
fn invoke_grants_exactly_its_flags_whatever_wasic_variables_it_inherits() {
    let dir = tempfile::tempdir().unwrap();
    let w = wasm(dir.path(), "entry", true);
    let invoke = |flags: &[&str]| {
        ok(wasic()
            .env("WASIC_DIR", "/")
            .env("WASIC_DIR_1", "/tmp")
            .env("WASIC_ENV", "EVIL=1")
            .env("WASIC_TCPLISTEN", "127.0.0.1:0")
            .args(["run", "--invoke", "grants"])
            .args(flags)
            .arg(&w))
    };
    assert_eq!(invoke(&[]), "fds=0 env=0\n");
    let d = dir.path().display().to_string();
    assert_eq!(invoke(&["--dir", &d, "--env", "MINE=1"]), "fds=1 env=1\n");
}

#[test]
fn invoke_applies_the_limits_given_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = wat_file(
        dir.path(),
        "limits",
        r#"(module (memory 1)
             (func (export "spin") (loop (br 0)))
             (func (export "grow") (result i32) (memory.grow (i32.const 10))))"#,
    );
    // Without the timeout applied the loop never ends: give up (and fail) after a minute.
    let mut child = wasic()
        .args(["run", "--timeout", "200ms", "--invoke", "spin"])
        .arg(&w)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("--timeout was not applied to --invoke");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = child.wait_with_output().unwrap();
    assert_eq!(r.status.code(), Some(134));
    assert!(
        String::from_utf8_lossy(&r.stderr).starts_with("Error: wasm trap: interrupted"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let grow = |flags: &[&str]| {
        ok(wasic()
            .args(["run", "--invoke", "grow"])
            .args(flags)
            .arg(&w))
    };
    assert_eq!(grow(&[]), "1\n");
    assert_eq!(grow(&["--max-memory", "128K"]), "-1\n");
}

#[test]
fn max_table_elements_caps_table_grow_in_executables_and_invoke() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("tables.wat");
    // Two tables of 10 together: growing the second by 100 crosses a cap of 50.
    std::fs::write(
        &w,
        r#"(module (table 10 funcref) (table $t 10 funcref)
             (func (export "grow") (result i32) (table.grow $t (ref.null func) (i32.const 100)))
             (func (export "_start") (if (i32.ne (call 0) (i32.const -1)) (then unreachable))))"#,
    )
    .unwrap();
    let w = w.to_str().unwrap();
    assert_eq!(
        ok(wasic().args(["run", "--max-table-elements", "50", "--invoke", "grow", w])),
        "-1\n"
    );
    assert_eq!(ok(wasic().args(["run", "--invoke", "grow", w])), "10\n");
    // Baked into an executable: `_start` traps unless the grow fails.
    let exe = dir.path().join("tables");
    ok(wasic()
        .args(["build", w, "--max-table-elements", "50", "-o"])
        .arg(&exe));
    ok(&mut Command::new(&exe));
    // More declared than the cap: instantiation fails with the limit named.
    let out = run(wasic().args(["run", "--max-table-elements", "15", "--invoke", "grow", w]));
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exceeds table limits"), "{err}");
}

#[test]
fn a_library_serves_its_embedded_directory_unless_the_host_grants_the_same_path_and_preinit_snapshots_it(
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("words.txt"), "fromembed").unwrap();
    let host_data = dir.path().join("host");
    std::fs::create_dir(&host_data).unwrap();
    std::fs::write(host_data.join("words.txt"), "HOSTfile").unwrap();
    let w = wasm(dir.path(), "data_reader", true);
    for (ext, preinit) in [("a", false), ("so", false), ("a", true)] {
        let lib = dir.path().join(format!("libdata_reader.{ext}"));
        ok(wasic()
            .args(["build", "--lib"])
            .arg(&w)
            .arg("-o")
            .arg(&lib)
            .arg("--header")
            .arg(dir.path().join("data_reader.h"))
            .arg("--embed-dir")
            .arg(format!("{}::/data", data.display()))
            .args(if preinit { &["--preinit"][..] } else { &[] }));
        let exe = if ext == "a" {
            static_host(dir.path(), "data_host.c", &lib)
        } else {
            let libdir = format!("-L{}", dir.path().display());
            host(dir.path(), "data_host.c", &[&libdir, "-ldata_reader"])
        };
        // The library alone: the tree it embedded is gone from the disk.
        std::fs::rename(&data, dir.path().join("moved")).unwrap();
        let out = ok(Command::new(&exe)
            .arg(&host_data)
            .env("LD_LIBRARY_PATH", dir.path()));
        // With --preinit the initialiser read the embedded file at build time.
        let at_init = if preinit { "from" } else { "none" };
        assert_eq!(
            out,
            format!("embedded: from, at initialisation: {at_init}\ngranted: HOST, at initialisation: {at_init}\n"),
            "{ext}"
        );
        std::fs::rename(dir.path().join("moved"), &data).unwrap();
    }
}
