//! Shared helpers of the end-to-end tests of the `wasic` command: compiling the C (and Rust)
//! test programs of `tests/wasi/` to WebAssembly (cached by source hash in the target
//! directory), building them with `wasic build`, and running the executables with a timeout
//! while capturing their output and exit status.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one command may run before the test fails (guards against hangs).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The `wasic` binary under test.
pub fn wasic() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wasic"))
}

/// `cli/tests`.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn cache_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasic-e2e-programs");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 64-bit FNV-1a: a stable content hash for the compile cache.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Writes `bytes` to `dst` atomically (so concurrent tests never see half a file).
fn write_atomic(dst: &Path, bytes: &[u8]) {
    write_atomic_mode(dst, bytes, 0o644)
}

/// Writes `dst` whole with permissions `mode`, so that a concurrent test sees all or nothing.
fn write_atomic_mode(dst: &Path, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = dst.with_extension(format!(
        "tmp{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

/// Compiles `tests/wasi/<name>.c` with `clang --target=wasm32-wasi -O2` (once per source
/// content) and returns the path of the `.wasm`. Fails the test, loudly, without clang.
pub fn compile_c(name: &str) -> PathBuf {
    compile_c_with(name, &[])
}

/// [`compile_c`] with more clang flags after its own (e.g. `-matomics`, or `-g -O1`: the last
/// `-O` wins).
pub fn compile_c_with(name: &str, extra: &[&str]) -> PathBuf {
    let src = tests_dir().join("wasi").join(format!("{name}.c"));
    let source =
        std::fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    let mut flags = vec!["--target=wasm32-wasi", "-O2", "-Wall", "-Werror"];
    flags.extend_from_slice(extra);
    // The shared header(s) are part of every program.
    let mut headers: Vec<PathBuf> = std::fs::read_dir(tests_dir().join("wasi"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h"))
        .collect();
    headers.sort();
    let header_bytes: Vec<u8> = headers
        .iter()
        .flat_map(|h| std::fs::read(h).unwrap())
        .collect();
    let key = fnv1a(&[&source, &header_bytes, flags.join(" ").as_bytes()]);
    let out = cache_dir().join(format!("{name}-{key:016x}.wasm"));
    if out.is_file() {
        return out;
    }
    let tmp = out.with_extension(format!(
        "tmp{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let result = Command::new("clang")
        .args(&flags)
        .arg(&src)
        .arg("-o")
        .arg(&tmp)
        .output();
    let result = match result {
        Ok(r) => r,
        Err(e) => panic!(
            "MISSING TOOL: cannot run `clang` ({e}). These tests compile C programs to wasm32-wasi: \
             install clang, lld and wasi-libc (bash scripts/install-deps.sh)"
        ),
    };
    assert!(
        result.status.success(),
        "clang --target=wasm32-wasi failed for {} (is wasi-libc installed? bash scripts/install-deps.sh):\n{}",
        src.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// Records that the running test skips what it checks because of `why` (a missing tool, ...),
/// then the caller returns. The skip is said on stdout and stderr (`SKIPPED (not passed):
/// TEST: why`) and, when `WASIC_SKIP_LOG` names a file (`scripts/test.sh` sets it), appended to
/// it: the closing line of the test command then counts the test as skipped, not passed.
pub fn skip(why: &str) {
    let log = std::env::var_os("WASIC_SKIP_LOG").filter(|l| !l.is_empty());
    skip_into(log.as_deref().map(Path::new), why);
}

/// [`skip`], recording into `log` (if any) the line `BINARY<tab>TEST<tab>why`: the test
/// binary's file name and the running test's name, as libtest prints them.
pub fn skip_into(log: Option<&Path>, why: &str) {
    // libtest runs each test on a thread named after it.
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test thread>")
        .to_string();
    eprintln!("SKIPPED (not passed): {test}: {why}");
    println!("SKIPPED (not passed): {test}: {why}");
    let Some(log) = log else {
        return;
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe.file_name().unwrap().to_string_lossy();
    let line = format!("{binary}\t{test}\t{}\n", why.replace(['\t', '\n'], " "));
    // One write of one line to a file opened for appending: concurrent tests never interleave.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .unwrap_or_else(|e| {
            panic!(
                "cannot record the skip of {test} in WASIC_SKIP_LOG={}: {e}",
                log.display()
            )
        });
}

/// Compiles `tests/wasi/<name>.rs` with `rustc --target wasm32-wasip1 -O`; `Err(reason)` when
/// the target is not installed, the skip then already recorded with [`skip`] (the caller just
/// returns).
pub fn compile_rust(name: &str) -> Result<PathBuf, String> {
    compile_rust_for(name, "wasm32-wasip1")
}

/// `tests/wasi/NAME.rs` compiled with `rustc --target TARGET -O` (cached), or why it cannot
/// be, recorded as a skip.
pub fn compile_rust_for(name: &str, target: &str) -> Result<PathBuf, String> {
    let wasm = compile_rust_unrecorded(name, Some(target));
    if let Err(why) = &wasm {
        skip(why);
    }
    wasm
}

/// `tests/wasi/NAME.rs` compiled natively with `rustc -O` (cached): what its wasm build must
/// print.
pub fn compile_rust_native(name: &str) -> PathBuf {
    compile_rust_unrecorded(name, None).unwrap()
}

fn compile_rust_unrecorded(name: &str, target: Option<&str>) -> Result<PathBuf, String> {
    if let Some(target) = target {
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output();
        match installed {
            Ok(o) if o.status.success() => {
                if !String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == target)
                {
                    return Err(format!(
                        "the {target} target is not installed (rustup target add {target})"
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "rustup is not available to check for the {target} target"
                ))
            }
        }
    }
    let src = tests_dir().join("wasi").join(format!("{name}.rs"));
    let source = std::fs::read(&src).unwrap();
    let rustc_version = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let key = fnv1a(&[
        &source,
        &rustc_version,
        target.unwrap_or("native").as_bytes(),
    ]);
    let ext = if target.is_some() { "wasm" } else { "native" };
    let out = cache_dir().join(format!("{name}-rs-{key:016x}.{ext}"));
    if out.is_file() {
        return Ok(out);
    }
    let tmp = tempfile::tempdir().unwrap();
    let built = tmp.path().join(format!("{name}.{ext}"));
    let mut cmd = Command::new("rustc");
    if let Some(target) = target {
        cmd.args(["--target", target]);
    }
    let r = cmd
        .args(["-O", "--edition", "2021"])
        .arg(&src)
        .arg("-o")
        .arg(&built)
        .output()
        .expect("cannot run rustc");
    assert!(
        r.status.success(),
        "rustc --target {} failed:\n{}",
        target.unwrap_or("(host)"),
        String::from_utf8_lossy(&r.stderr)
    );
    let mode = if target.is_some() { 0o644 } else { 0o755 };
    write_atomic_mode(&out, &std::fs::read(&built).unwrap(), mode);
    Ok(out)
}

/// What a finished process did.
#[derive(Debug)]
pub struct Output {
    /// Exit code, or 128 + signal number if killed by a signal.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "the command panicked:\n{}",
            self.stderr
        );
    }
}

/// Runs `cmd` (stdin: `stdin` bytes, or null), capturing stdout/stderr, failing the test after
/// [`TIMEOUT`].
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    spawn_and_wait(cmd, stdin)
}

/// Like [`run`] but leaves stdin as configured by the caller.
pub fn run_with_stdin_set(cmd: &mut Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn_and_wait(cmd, None)
}

/// Like [`run`] but leaves stdin and stdout as configured by the caller (stdout is then empty
/// unless the caller piped it).
pub fn run_with_stdio_set(cmd: &mut Command) -> Output {
    cmd.stderr(Stdio::piped());
    spawn_and_wait(cmd, None)
}

fn spawn_and_wait(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {desc}: {e}"));
    if let Some(bytes) = stdin {
        let mut w = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&bytes);
        });
    }
    // stdout may go elsewhere (a file, a terminal): then there is nothing to collect.
    let out = child.stdout.take();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut out) = out {
            let _ = out.read_to_end(&mut v);
        }
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let status = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Output {
        status,
        stdout,
        stderr,
    }
}

/// `wasic build -o <exe> <input>` with the cache off, whatever its outcome: for tests of
/// what a build prints.
pub fn build_output(input: &Path, exe: &Path) -> Output {
    run(
        Command::new(wasic())
            .env("WASIC_CACHE", "off")
            .args(["build", "-o"])
            .arg(exe)
            .arg(input),
        None,
    )
}

/// `wasic build <wasm> -o <dir>/<name> <extra...>`; asserts success and returns the executable.
pub fn build(wasm: &Path, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let exe = dir.join(name);
    let out = run(
        Command::new(wasic())
            .arg("build")
            .arg(wasm)
            .arg("-o")
            .arg(&exe)
            .args(extra),
        None,
    );
    assert!(
        out.status == 0,
        "wasic build {} {extra:?} failed with status {}:\n{}",
        wasm.display(),
        out.status,
        out.stderr
    );
    assert!(
        exe.is_file(),
        "wasic build reported success but wrote no {}",
        exe.display()
    );
    exe
}

/// Compiles `tests/wasi/<program>.c` and builds it into `dir` with the given `wasic build` flags.
pub fn build_c(program: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let wasm = compile_c(program);
    build(&wasm, dir, program, extra)
}

/// A command running `exe` with `args`, with an environment free of `WASIC_*` variables
/// (so grants of the environment the tests run in cannot leak in).
pub fn command(exe: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("WASIC_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `exe args...` and returns its output.
pub fn run_exe(exe: &Path, args: &[&str]) -> Output {
    run(&mut command(exe, args), None)
}

/// Asserts that a run exited with `status`, printed exactly `stdout` and nothing on stderr.
#[track_caller]
pub fn assert_run(out: &Output, status: i32, stdout: &str) {
    assert_eq!(
        out.stdout, stdout,
        "unexpected stdout (status {}, stderr: {:?})",
        out.status, out.stderr
    );
    assert_eq!(out.stderr, "", "unexpected stderr (status {})", out.status);
    assert_eq!(out.status, status, "unexpected exit status");
}

/// A recursive snapshot of a host tree (path -> kind, content or link target, mtime), to
/// prove a program did not touch it.
pub fn snapshot(root: &Path) -> Vec<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let desc = if md.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                format!("dir mtime={}.{}", md.mtime(), md.mtime_nsec())
            } else {
                format!(
                    "file {:?} mtime={}.{} nlink={}",
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap()),
                    md.mtime(),
                    md.mtime_nsec(),
                    md.nlink()
                )
            };
            out.push((rel, desc));
            if md.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// The names a wasm binary imports, as (module, name) pairs (a minimal reader of the import
/// section, enough for the test programs).
pub fn wasm_imports(wasm: &[u8]) -> Vec<(String, String)> {
    fn uleb(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }
    fn name(b: &[u8], at: &mut usize) -> String {
        let n = uleb(b, at) as usize;
        let s = String::from_utf8_lossy(&b[*at..*at + n]).into_owned();
        *at += n;
        s
    }
    assert!(wasm.starts_with(b"\0asm"), "not a wasm binary");
    let mut at = 8;
    let mut out = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = uleb(wasm, &mut at) as usize;
        let end = at + size;
        if id == 2 {
            let count = uleb(wasm, &mut at);
            for _ in 0..count {
                let m = name(wasm, &mut at);
                let n = name(wasm, &mut at);
                let kind = wasm[at];
                at += 1;
                match kind {
                    0 => {
                        uleb(wasm, &mut at);
                    }
                    1 => {
                        at += 1; // reftype
                        let flags = uleb(wasm, &mut at);
                        uleb(wasm, &mut at);
                        if flags & 1 != 0 {
                            uleb(wasm, &mut at);
                        }
                    }
                    2 => {
                        let flags = uleb(wasm, &mut at);
                        uleb(wasm, &mut at);
                        if flags & 1 != 0 {
                            uleb(wasm, &mut at);
                        }
                    }
                    3 => at += 2,
                    k => panic!("unknown import kind {k}"),
                }
                out.push((m, n));
            }
        }
        at = end;
    }
    out
}
