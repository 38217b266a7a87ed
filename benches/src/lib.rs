//! The benchmark harness shared by the report generator (`src/bin/report.rs`, which writes
//! BENCHMARKS.md) and the criterion benchmarks (`benches/*.rs`): finding the tools, building
//! every program for every engine (cached in `target/bench-work/`), and running the results
//! as child processes, the way a user runs them.
//!
//! Engines, each a separate executable or command line:
//! - `native`: the C program built with `gcc -O2` (x86-64 baseline, glibc);
//! - `wasm2c`: the wasm module translated by wabt's `wasm2c` and built with `gcc -O2` together
//!   with `wasm2c/wasi_shim.c` (wasm2c has no WASI) and wasm2c's runtime, guard-page memory
//!   checks: what a strong C optimizer achieves under wasm semantics;
//! - `wasmtime`: the wasmtime CLI, `wasmtime compile` to a `.cwasm` beforehand, timed
//!   `wasmtime run --allow-precompiled` (compiles for the host CPU);
//! - `wasic`: `wasic build` (the main workspace's CLI) executables, by default for the
//!   portable x86-64-v2, or `--target-cpu native` (what `wasic run` does), optionally with
//!   some whole-module optimizations turned off (`-O NAME=off`) for the ablation.
//!
//! The wasm modules come from two C toolchains ([`WasmSet`]): Debian's clang 14 (MVP wasm plus
//! mutable globals) and clang-22 with its defaults (bulk memory, sign extension, multivalue,
//! non-trapping float-to-int, reference types), both with Debian's wasi-libc.
//! A missing tool makes its engine or set [`Unavailable::NotInstalled`], never an error.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The benches/ directory.
pub fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Names of the benchmark programs, `programs/NAME.c`, sorted.
pub fn programs() -> Result<Vec<String>> {
    let dir = bench_dir().join("programs");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "c") {
            names.push(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The programs that are interpreters (the "interpreter ≤ wasmtime" target): `interp` is a
/// switch-dispatched bytecode VM, which clang compiles to a `br_table` loop.
pub const INTERPRETERS: &[&str] = &["interp"];

// ---------------------------------------------------------------------------------------------
// Tools

/// An external program: where it is and the first line of its `--version`, or why not.
#[derive(Clone, Debug)]
pub struct Tool {
    pub name: &'static str,
    pub path: Option<PathBuf>,
    pub version: String,
}

impl Tool {
    /// The first of `candidates` (paths, or bare names looked up in PATH) that exists.
    pub fn find(name: &'static str, candidates: &[&str]) -> Tool {
        let path = candidates.iter().find_map(|c| {
            let c = expand_home(c);
            if c.components().count() > 1 {
                c.is_file().then(|| std::path::absolute(&c).unwrap_or(c))
            } else {
                std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join(&c))
                        .find(|p| p.is_file())
                })
            }
        });
        let version = match &path {
            Some(p) => first_line(p, &["--version"]).unwrap_or_else(|| "(no --version)".into()),
            None => "not installed".into(),
        };
        Tool {
            name,
            path,
            version,
        }
    }

    /// The path, or [`Unavailable::NotInstalled`].
    pub fn get(&self) -> Result<&Path, Unavailable> {
        self.path
            .as_deref()
            .ok_or_else(|| Unavailable::NotInstalled(self.name.to_string()))
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// First line of `prog args`' stdout (or stderr), if it runs.
pub fn first_line(prog: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new(prog).args(args).output().ok()?;
    let text = if o.stdout.is_empty() {
        o.stderr
    } else {
        o.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Every tool the benchmarks use.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The native compiler, also the C compiler for wasm2c's output.
    pub gcc: Tool,
    /// Debian's default clang (14), for the first set of wasm modules.
    pub clang14: Tool,
    /// clang-22 with its default wasm features, for the second set.
    pub clang22: Tool,
    pub wasm2c: Tool,
    /// The directory holding wasm2c's runtime (`wasm-rt.h`, `wasm-rt-impl.{c,h}`).
    pub wasm2c_runtime: Option<PathBuf>,
    pub wasmtime: Tool,
    pub valgrind: Tool,
    /// The wasic CLI that builds the benchmarked executables (the main workspace's debug build).
    pub wasic: Tool,
    /// A release wasic CLI, for compile times (a debug CLI compiles ~10x slower).
    pub wasic_release: Tool,
}

/// Where Debian's wasi-libc lives (clang 14 finds it for `wasm32-wasi`; clang-22 looks for
/// `wasm32-wasip1` directories, see [`Bench::new`]).
pub const WASI_LIBC_INCLUDE: &str = "/usr/include/wasm32-wasi";
pub const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";

impl Tools {
    /// Finds every tool; `wasic` and `wasic_release` are the CLIs given by the caller.
    pub fn find(wasic: Option<&Path>, wasic_release: Option<&Path>) -> Tools {
        let given = |name: &'static str, p: Option<&Path>| match p {
            Some(p) => Tool::find(name, &[&p.to_string_lossy()]),
            None => Tool::find(name, &[]),
        };
        let wasm2c_runtime = [
            "/usr/src/wasm2c",
            "/usr/share/wabt/wasm2c",
            "/usr/include/wasm2c",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("wasm-rt.h").is_file() && d.join("wasm-rt-impl.c").is_file());
        Tools {
            gcc: Tool::find("gcc", &["gcc"]),
            clang14: Tool::find("clang", &["clang-14", "clang"]),
            clang22: Tool::find("clang-22", &["clang-22"]),
            wasm2c: Tool::find("wasm2c", &["wasm2c"]),
            wasm2c_runtime,
            wasmtime: Tool::find("wasmtime", &["~/.cargo/bin/wasmtime", "wasmtime"]),
            valgrind: Tool::find("valgrind", &["valgrind"]),
            wasic: given("wasic", wasic),
            wasic_release: given("wasic (release)", wasic_release),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Engines and sets

/// Which C → wasm toolchain built the modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmSet {
    /// `clang --target=wasm32-wasi -O2` (Debian's clang 14: MVP wasm + mutable globals).
    Clang14,
    /// `clang-22 --target=wasm32-wasip1 -O2`: LLVM 22's defaults (bulk memory, sign
    /// extension, multivalue, non-trapping float-to-int, reference types).
    Clang22,
}

impl WasmSet {
    pub const ALL: [WasmSet; 2] = [WasmSet::Clang14, WasmSet::Clang22];

    pub fn key(self) -> &'static str {
        match self {
            WasmSet::Clang14 => "clang14",
            WasmSet::Clang22 => "clang22",
        }
    }

    pub fn from_key(s: &str) -> Option<WasmSet> {
        WasmSet::ALL.into_iter().find(|w| w.key() == s)
    }

    /// The command line, for the report.
    pub fn command(self) -> &'static str {
        match self {
            WasmSet::Clang14 => "clang --target=wasm32-wasi -O2",
            WasmSet::Clang22 => "clang-22 --target=wasm32-wasip1 -O2",
        }
    }

    pub fn tool(self, tools: &Tools) -> &Tool {
        match self {
            WasmSet::Clang14 => &tools.clang14,
            WasmSet::Clang22 => &tools.clang22,
        }
    }
}

/// How a program is run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// `gcc -O2` of the C source (`static_link`: `-static`).
    Native { static_link: bool },
    /// wasm2c + `gcc -O2`, guard-page bounds checks.
    Wasm2c,
    /// `wasmtime run --allow-precompiled` of a `.cwasm` made by `wasmtime compile`.
    Wasmtime,
    /// A `wasic build` executable.
    Wasic {
        /// `--target-cpu native` (what `wasic run` uses) instead of the default x86-64-v2.
        host_cpu: bool,
        /// `--static`.
        static_link: bool,
        /// Optimizations turned off with `-O NAME=off`.
        off: Vec<&'static str>,
    },
}

impl Engine {
    pub const NATIVE: Engine = Engine::Native { static_link: false };

    pub fn wasic(host_cpu: bool) -> Engine {
        Engine::Wasic {
            host_cpu,
            static_link: false,
            off: Vec::new(),
        }
    }

    /// The engines of the main tables, in column order.
    pub fn main_engines() -> Vec<Engine> {
        vec![
            Engine::NATIVE,
            Engine::Wasm2c,
            Engine::Wasmtime,
            Engine::wasic(false),
            Engine::wasic(true),
        ]
    }

    /// The short name used by `--engines` and in file names.
    pub fn key(&self) -> String {
        match self {
            Engine::Native { static_link } => {
                if *static_link {
                    "native-static".into()
                } else {
                    "native".into()
                }
            }
            Engine::Wasm2c => "wasm2c".into(),
            Engine::Wasmtime => "wasmtime".into(),
            Engine::Wasic {
                host_cpu,
                static_link,
                off,
            } => {
                let mut s = String::from(if *host_cpu { "wasic-host" } else { "wasic" });
                if *static_link {
                    s.push_str("-static");
                }
                for o in off {
                    s.push_str("-no-");
                    s.push_str(o);
                }
                s
            }
        }
    }

    /// The column heading.
    pub fn label(&self) -> String {
        match self {
            Engine::Native { .. } => "native (gcc -O2)".into(),
            Engine::Wasm2c => "wasm2c + gcc -O2".into(),
            Engine::Wasmtime => "wasmtime".into(),
            Engine::Wasic { host_cpu, off, .. } => {
                let mut s = String::from(if *host_cpu {
                    "wasic host CPU"
                } else {
                    "wasic x86-64-v2"
                });
                if !off.is_empty() {
                    s = format!("{s}, {} off", off.join(", "));
                }
                s
            }
        }
    }

    /// The wasic `build` flags of a wasic engine.
    fn wasic_flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Engine::Wasic {
            host_cpu,
            static_link,
            off,
        } = self
        {
            if *host_cpu {
                v.extend(["--target-cpu".into(), "native".into()]);
            }
            if *static_link {
                v.push("--static".into());
            }
            for o in off {
                v.extend(["-O".into(), format!("{o}=off")]);
            }
        }
        v
    }
}

/// Why a measurement is missing.
#[derive(Clone, Debug)]
pub enum Unavailable {
    /// A tool is not installed (its name).
    NotInstalled(String),
    /// Building or running failed (the message).
    Failed(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::NotInstalled(t) => write!(f, "{t} not installed"),
            Unavailable::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl From<anyhow::Error> for Unavailable {
    fn from(e: anyhow::Error) -> Self {
        Unavailable::Failed(format!("{e:#}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Building

/// The build state: tools and the artifact directory.
pub struct Bench {
    pub tools: Tools,
    /// `target/bench-work/`: every artifact, each with a `.key` file saying what built it.
    pub work: PathBuf,
    /// A sysroot for clang-22 whose `wasm32-wasip1` directories point at Debian's wasi-libc.
    sysroot22: PathBuf,
}

/// A hash of a file's contents (for the cache keys), or of nothing if it cannot be read.
fn hash_file(p: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(p).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// What identifies a built tool binary: path, size and modification time.
fn tool_stamp(p: &Path) -> String {
    let m = std::fs::metadata(p).ok();
    format!(
        "{} {} {:?}",
        p.display(),
        m.as_ref().map_or(0, |m| m.len()),
        m.and_then(|m| m.modified().ok())
    )
}

/// Runs `cmd`, failing with its stderr if it fails.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        bail!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

impl Bench {
    pub fn new(tools: Tools) -> Result<Bench> {
        let work = bench_dir().join("target/bench-work");
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        // clang-22 searches <sysroot>/include/wasm32-wasip1 and <sysroot>/lib/wasm32-wasip1;
        // Debian ships wasi-libc as wasm32-wasi only.
        let sysroot22 = work.join("sysroot-wasip1");
        for (dir, target) in [("include", WASI_LIBC_INCLUDE), ("lib", WASI_LIBC_LIB)] {
            let d = sysroot22.join(dir);
            std::fs::create_dir_all(&d)?;
            let link = d.join("wasm32-wasip1");
            if std::fs::read_link(&link).ok().as_deref() != Some(Path::new(target)) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(target, &link)
                    .with_context(|| format!("creating {}", link.display()))?;
            }
        }
        Ok(Bench {
            tools,
            work,
            sysroot22,
        })
    }

    /// Runs `build` unless `out` exists and was built with the same `key`.
    fn cached(&self, out: &Path, key: &str, build: impl FnOnce() -> Result<()>) -> Result<()> {
        let stamp = PathBuf::from(format!("{}.key", out.display()));
        if out.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(key) {
            return Ok(());
        }
        let _ = std::fs::remove_file(&stamp);
        if let Some(d) = out.parent() {
            std::fs::create_dir_all(d)?;
        }
        build()?;
        std::fs::write(&stamp, key)?;
        Ok(())
    }

    /// The wasm compile command of `set` (without input and output).
    pub fn wasm_cc(&self, set: WasmSet) -> Result<Command, Unavailable> {
        let mut c = Command::new(set.tool(&self.tools).get()?);
        match set {
            WasmSet::Clang14 => {
                c.args(["--target=wasm32-wasi", "-O2"]);
            }
            WasmSet::Clang22 => {
                c.args(["--target=wasm32-wasip1", "-O2"]);
                c.arg(format!("--sysroot={}", self.sysroot22.display()));
            }
        }
        Ok(c)
    }

    /// `src` compiled to wasm by `set` (with `extra` flags), as `work/SET/NAME.wasm`.
    pub fn wasm(
        &self,
        set: WasmSet,
        src: &Path,
        name: &str,
        extra: &[&str],
    ) -> Result<PathBuf, Unavailable> {
        let out = self.work.join(set.key()).join(format!("{name}.wasm"));
        let mut cmd = self.wasm_cc(set)?;
        cmd.args(extra).arg(src).arg("-o").arg(&out).arg("-lm");
        let key = format!(
            "{cmd:?} {} {}",
            set.tool(&self.tools).version,
            hash_file(src)
        );
        self.cached(&out, &key, || run_checked(&mut cmd))?;
        Ok(out)
    }

    /// A benchmark program (`programs/NAME.c`) compiled to wasm by `set`.
    pub fn program_wasm(&self, set: WasmSet, program: &str) -> Result<PathBuf, Unavailable> {
        self.wasm(set, &program_source(program), program, &[])
    }

    /// `src` built natively with `gcc -O2` (`-static` if asked).
    pub fn native(
        &self,
        src: &Path,
        name: &str,
        static_link: bool,
    ) -> Result<PathBuf, Unavailable> {
        let gcc = self.tools.gcc.get()?;
        let suffix = if static_link { "-static" } else { "" };
        let out = self.work.join("native").join(format!("{name}{suffix}"));
        let mut cmd = Command::new(gcc);
        cmd.arg("-O2").arg(src).arg("-o").arg(&out).arg("-lm");
        if static_link {
            cmd.arg("-static");
        }
        let key = format!("{cmd:?} {} {}", self.tools.gcc.version, hash_file(src));
        self.cached(&out, &key, || run_checked(&mut cmd))?;
        Ok(out)
    }

    /// The wasm module at `wasm` through wasm2c and `gcc -O2` with the WASI shim.
    pub fn wasm2c(&self, wasm: &Path, dir: &Path) -> Result<PathBuf, Unavailable> {
        let wasm2c = self.tools.wasm2c.get()?;
        let gcc = self.tools.gcc.get()?;
        let rt =
            self.tools.wasm2c_runtime.as_deref().ok_or_else(|| {
                Unavailable::NotInstalled("wasm2c's runtime (wasm-rt-impl.c)".into())
            })?;
        let shim = bench_dir().join("wasm2c/wasi_shim.c");
        let out = dir.join("exe");
        let key = format!(
            "{} {} {} {} {}",
            self.tools.wasm2c.version,
            self.tools.gcc.version,
            hash_file(wasm),
            hash_file(&shim),
            hash_file(&rt.join("wasm-rt-impl.c"))
        );
        self.cached(&out, &key, || {
            let module_c = dir.join("module.c");
            run_checked(
                Command::new(wasm2c)
                    .arg(wasm)
                    .args(["-n", "prog", "-o"])
                    .arg(&module_c),
            )?;
            run_checked(
                Command::new(gcc)
                    .arg("-O2")
                    .arg("-I")
                    .arg(dir)
                    .arg("-I")
                    .arg(rt)
                    .arg(&module_c)
                    .arg(&shim)
                    .arg(rt.join("wasm-rt-impl.c"))
                    .arg("-o")
                    .arg(&out)
                    .arg("-lm"),
            )
        })?;
        Ok(out)
    }

    /// `wasmtime compile` of `wasm` into `out`.
    pub fn cwasm(&self, wasm: &Path, out: &Path) -> Result<(), Unavailable> {
        let wt = self.tools.wasmtime.get()?;
        let key = format!("{} {}", tool_stamp(wt), hash_file(wasm));
        self.cached(out, &key, || {
            run_checked(Command::new(wt).arg("compile").arg(wasm).arg("-o").arg(out))
        })?;
        Ok(())
    }

    /// `wasic build FLAGS wasm -o out`.
    pub fn wasic_build(
        &self,
        flags: &[String],
        wasm: &Path,
        out: &Path,
    ) -> Result<(), Unavailable> {
        let wasic = self.tools.wasic.get()?;
        let key = format!("{} {flags:?} {}", tool_stamp(wasic), hash_file(wasm));
        self.cached(out, &key, || {
            run_checked(
                Command::new(wasic)
                    .arg("build")
                    .args(flags)
                    .arg(wasm)
                    .arg("-o")
                    .arg(out),
            )
        })?;
        Ok(())
    }

    /// Builds `wasm` (or, for native, `src`) for `engine`; `name` names the artifacts.
    pub fn prepare_module(
        &self,
        engine: &Engine,
        set: WasmSet,
        name: &str,
        src: &Path,
        wasm: impl FnOnce() -> Result<PathBuf, Unavailable>,
    ) -> Result<Runner, Unavailable> {
        if let Engine::Native { static_link } = engine {
            return Ok(Runner::new(self.native(src, name, *static_link)?));
        }
        let wasm = wasm()?;
        let dir = self.work.join(set.key()).join(engine.key()).join(name);
        std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
        match engine {
            Engine::Native { .. } => unreachable!("handled above"),
            Engine::Wasm2c => Ok(Runner::new(self.wasm2c(&wasm, &dir)?)),
            Engine::Wasmtime => {
                let cwasm = dir.join(format!("{name}.cwasm"));
                self.cwasm(&wasm, &cwasm)?;
                let mut r = Runner::new(self.tools.wasmtime.get()?.to_path_buf());
                r.args = vec!["run".into(), "--allow-precompiled".into(), cwasm.into()];
                Ok(r)
            }
            Engine::Wasic { .. } => {
                let exe = dir.join("exe");
                self.wasic_build(&engine.wasic_flags(), &wasm, &exe)?;
                Ok(Runner::new(exe))
            }
        }
    }

    /// A benchmark program prepared for `engine`.
    pub fn prepare(
        &self,
        engine: &Engine,
        set: WasmSet,
        program: &str,
    ) -> Result<Runner, Unavailable> {
        self.prepare_module(engine, set, program, &program_source(program), || {
            self.program_wasm(set, program)
        })
    }
}

pub fn program_source(program: &str) -> PathBuf {
    bench_dir().join("programs").join(format!("{program}.c"))
}

// ---------------------------------------------------------------------------------------------
// Running

/// A command line that runs one program once.
#[derive(Clone, Debug)]
pub struct Runner {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    /// From just before the spawn to the reaping of the process.
    pub wall: Duration,
    /// User + system CPU time of the process and its waited-for children.
    pub cpu: Duration,
    /// Peak resident set size of the process (or of its largest waited-for child), bytes.
    pub max_rss: u64,
    /// The captured stdout (empty unless captured).
    pub stdout: Vec<u8>,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

impl Runner {
    pub fn new(exe: PathBuf) -> Runner {
        Runner {
            exe,
            args: Vec::new(),
        }
    }

    /// Runs once, stdout captured or sent to /dev/null, stderr inherited; fails unless the
    /// program exits with status 0.
    pub fn run(&self, capture: bool) -> Result<Run> {
        run_process(Command::new(&self.exe).args(&self.args).stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }))
    }
}

/// Spawns `cmd`, reads its stdout if piped, reaps it with `wait4` for its resource usage.
pub fn run_process(cmd: &mut Command) -> Result<Run> {
    use std::io::Read;
    cmd.stdin(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("cannot run {cmd:?}"))?;
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut stdout)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's `Child` is never waited on);
        // `status` and `ru` are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let wall = start.elapsed();
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let how = if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("exit status {}", libc::WEXITSTATUS(status))
        };
        bail!("{cmd:?}: {how}");
    }
    Ok(Run {
        wall,
        cpu: timeval(ru.ru_utime) + timeval(ru.ru_stime),
        max_rss: ru.ru_maxrss as u64 * 1024,
        stdout,
    })
}

/// Median of some durations (sorts them).
pub fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// The load averages over 1, 5 and 15 minutes.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
