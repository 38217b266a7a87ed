//! The benchmark harness shared by the criterion benchmarks (`benches/engines.rs`) and the
//! report generator (`src/bin/report.rs`): the benchmark programs (built by `build.rs`), and one
//! [`Runner`] per engine that runs a program's `_start` with its compilation kept out of the
//! measured part.
//!
//! Engines: `native` (the program built with `cc -O2`, run as a child process), `wasic`
//! (compiled with `wasic_compiler::compile`, loaded with `Module::from_object`, run in-process
//! with wasic's WASI), `wasmtime` (Cranelift, module compiled up front, wasmtime-wasi preview1)
//! and `wasmi` (the interpreter, eager translation, a minimal WASI shim here).

use anyhow::{anyhow, bail, Context, Result};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

mod artifacts {
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}
pub use artifacts::PROGRAMS;

/// Path of a built artifact (`NAME.wasm`, `NAME.native`, `all.wasm`, `synth.wasm`, ...).
pub fn artifact(file: &str) -> PathBuf {
    PathBuf::from(artifacts::ARTIFACTS).join(file)
}

pub fn read_wasm(name: &str) -> Result<Vec<u8>> {
    let p = artifact(&format!("{name}.wasm"));
    std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Native,
    Wasic,
    Wasmtime,
    Wasmi,
}

impl Engine {
    pub const ALL: [Engine; 4] = [
        Engine::Native,
        Engine::Wasic,
        Engine::Wasmtime,
        Engine::Wasmi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Wasic => "wasic",
            Engine::Wasmtime => "wasmtime",
            Engine::Wasmi => "wasmi",
        }
    }

    pub fn from_name(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == s)
    }

    /// Compiles/loads `program` (not part of any measurement) and returns its runner.
    pub fn prepare(self, program: &str) -> Result<Box<dyn Runner>> {
        Ok(match self {
            Engine::Native => Box::new(NativeRunner {
                exe: artifact(&format!("{program}.native")),
            }),
            Engine::Wasic => Box::new(WasicRunner::new(&read_wasm(program)?)?),
            Engine::Wasmtime => Box::new(WasmtimeRunner::new(&read_wasm(program)?)?),
            Engine::Wasmi => Box::new(WasmiRunner::new(&read_wasm(program)?)?),
        })
    }

    /// Like [`Engine::prepare`] for a wasm file (not for [`Engine::Native`]).
    pub fn prepare_path(self, wasm: &std::path::Path) -> Result<Box<dyn Runner>> {
        let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
        Ok(match self {
            Engine::Native => bail!("native has no wasm runner"),
            Engine::Wasic => Box::new(WasicRunner::new(&bytes)?),
            Engine::Wasmtime => Box::new(WasmtimeRunner::new(&bytes)?),
            Engine::Wasmi => Box::new(WasmiRunner::new(&bytes)?),
        })
    }
}

/// Where the program's stdout goes.
pub enum Output {
    /// Discarded (`/dev/null`): what the measurements use.
    Discard,
    /// Captured and returned, to compare checksums.
    Capture,
}

/// A prepared program: each call of [`Runner::run`] instantiates it afresh and runs `_start`.
pub trait Runner {
    /// Runs once; returns the captured stdout (empty with [`Output::Discard`]).
    fn run(&mut self, out: Output) -> Result<Vec<u8>>;
}

/// Runs once with stdout discarded and returns the wall-clock time.
pub fn time_run(r: &mut dyn Runner) -> Result<Duration> {
    let t = Instant::now();
    r.run(Output::Discard)?;
    Ok(t.elapsed())
}

/// A file for the program's stdout: `/dev/null`, or an unlinked temporary file to read back.
fn out_file(out: &Output) -> Result<std::fs::File> {
    Ok(match out {
        Output::Discard => std::fs::OpenOptions::new().write(true).open("/dev/null")?,
        Output::Capture => {
            let path = std::env::temp_dir().join(format!(
                "wasic-bench-{}-{:?}",
                std::process::id(),
                Instant::now()
            ));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            f
        }
    })
}

fn read_back(mut f: std::fs::File) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    f.seek(SeekFrom::Start(0))?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

fn finish(out: Output, f: std::fs::File) -> Result<Vec<u8>> {
    match out {
        Output::Discard => Ok(Vec::new()),
        Output::Capture => read_back(f),
    }
}

// ---------------------------------------------------------------------------------------------

pub struct NativeRunner {
    exe: PathBuf,
}

impl Runner for NativeRunner {
    fn run(&mut self, out: Output) -> Result<Vec<u8>> {
        let f = out_file(&out)?;
        let status = std::process::Command::new(&self.exe)
            .stdout(f.try_clone()?)
            .status()
            .with_context(|| format!("running {}", self.exe.display()))?;
        if !status.success() {
            bail!("{} exited with {status}", self.exe.display());
        }
        finish(out, f)
    }
}

// ---------------------------------------------------------------------------------------------

/// wasic's compile options for the benchmarks: the host CPU's features, as wasmtime uses.
pub fn wasic_options() -> wasic_compiler::CompileOptions {
    wasic_compiler::CompileOptions {
        target_cpu: wasic_compiler::TargetCpu::Native,
        ..Default::default()
    }
}

pub struct WasicRunner {
    module: std::sync::Arc<wasic_runtime::Module>,
}

impl WasicRunner {
    pub fn new(wasm: &[u8]) -> Result<WasicRunner> {
        let object = wasic_compiler::compile(wasm, &wasic_options())?;
        // SAFETY: `object` was just produced by `wasic_compiler::compile`.
        let module = unsafe { wasic_runtime::Module::from_object(&object) }?;
        Ok(WasicRunner { module })
    }
}

impl Runner for WasicRunner {
    fn run(&mut self, out: Output) -> Result<Vec<u8>> {
        use std::os::fd::AsRawFd;
        use wasic_runtime::{exec, wasi::WasiCtxBuilder, Error, Linker, Store, StoreConfig};
        let f = out_file(&out)?;
        let ctx = WasiCtxBuilder::new()
            .arg("bench")
            .stdout(f.as_raw_fd())
            .build()?;
        let mut store = Store::new(StoreConfig {
            max_wasm_stack: 4 << 20,
            ..Default::default()
        });
        let mut linker = Linker::new();
        exec::add_wasi_to_linker(&mut linker, &mut store, Rc::new(RefCell::new(ctx)));
        let instance = linker.instantiate(&mut store, &self.module)?;
        let start = instance
            .get_func("_start")
            .ok_or_else(|| anyhow!("no _start"))?;
        match start.call(&mut store, &[]) {
            Ok(_) | Err(Error::Exit(0)) => {}
            Err(e) => bail!("wasic: {e}"),
        }
        drop(store);
        finish(out, f)
    }
}

// ---------------------------------------------------------------------------------------------

/// The wasmtime configuration used everywhere: defaults (Cranelift, opt level speed, host CPU
/// features, signal-based bounds checks with guard pages).
pub fn wasmtime_engine() -> Result<wasmtime::Engine> {
    let mut config = wasmtime::Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    config.signals_based_traps(true);
    wt(wasmtime::Engine::new(&config))
}

/// Converts a wasmtime result (its own error type) into an anyhow one.
pub fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("wasmtime: {e:?}"))
}

pub struct WasmtimeRunner {
    engine: wasmtime::Engine,
    pre: wasmtime::InstancePre<wasmtime_wasi::p1::WasiP1Ctx>,
}

impl WasmtimeRunner {
    pub fn new(wasm: &[u8]) -> Result<WasmtimeRunner> {
        let engine = wasmtime_engine()?;
        let module = wt(wasmtime::Module::new(&engine, wasm))?;
        let mut linker = wasmtime::Linker::new(&engine);
        wt(wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx))?;
        let pre = wt(linker.instantiate_pre(&module))?;
        Ok(WasmtimeRunner { engine, pre })
    }
}

impl Runner for WasmtimeRunner {
    fn run(&mut self, out: Output) -> Result<Vec<u8>> {
        let f = out_file(&out)?;
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .arg("bench")
            .stdout(wasmtime_wasi::cli::OutputFile::new(f.try_clone()?))
            .build_p1();
        let mut store = wasmtime::Store::new(&self.engine, wasi);
        let instance = wt(self.pre.instantiate(&mut store))?;
        let start = wt(instance.get_typed_func::<(), ()>(&mut store, "_start"))?;
        if let Err(e) = start.call(&mut store, ()) {
            match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(wasmtime_wasi::I32Exit(0)) => {}
                _ => bail!("wasmtime: {e:?}"),
            }
        }
        drop(store);
        finish(out, f)
    }
}

// ---------------------------------------------------------------------------------------------

/// State of wasmi's minimal WASI: where stdout goes.
struct WasmiHost {
    stdout: Option<std::fs::File>,
}

pub struct WasmiRunner {
    engine: wasmi::Engine,
    module: wasmi::Module,
    linker: wasmi::Linker<WasmiHost>,
}

const ERRNO_BADF: i32 = 8;
const ERRNO_NOSYS: i32 = 52;

fn wasmi_memory<'a>(
    caller: &'a mut wasmi::Caller<'_, WasmiHost>,
) -> Result<(&'a mut [u8], &'a mut WasmiHost), wasmi::Error> {
    let mem = caller
        .get_export("memory")
        .and_then(wasmi::Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("no exported memory"))?;
    Ok(mem.data_and_store_mut(caller))
}

fn le32(mem: &[u8], at: usize) -> Result<u32, wasmi::Error> {
    mem.get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .ok_or_else(|| wasmi::Error::new("out of bounds"))
}

fn put32(mem: &mut [u8], at: usize, v: u32) -> Result<(), wasmi::Error> {
    mem.get_mut(at..at + 4)
        .ok_or_else(|| wasmi::Error::new("out of bounds"))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

impl WasmiRunner {
    pub fn new(wasm: &[u8]) -> Result<WasmiRunner> {
        use wasmi::{Caller, Val};
        let mut config = wasmi::Config::default();
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm)?;
        let mut linker = wasmi::Linker::<WasmiHost>::new(&engine);
        const W: &str = "wasi_snapshot_preview1";
        linker.func_wrap(
            W,
            "fd_write",
            |mut caller: Caller<'_, WasmiHost>,
             fd: i32,
             iovs: i32,
             n: i32,
             nwritten: i32|
             -> Result<i32, wasmi::Error> {
                use std::io::Write;
                let (mem, host) = wasmi_memory(&mut caller)?;
                if fd != 1 && fd != 2 {
                    return Ok(ERRNO_BADF);
                }
                let mut total = 0u32;
                for i in 0..n as usize {
                    let at = iovs as u32 as usize + 8 * i;
                    let (ptr, len) = (le32(mem, at)? as usize, le32(mem, at + 4)? as usize);
                    let bytes = mem
                        .get(ptr..ptr + len)
                        .ok_or_else(|| wasmi::Error::new("out of bounds"))?;
                    if fd == 1 {
                        if let Some(f) = host.stdout.as_mut() {
                            f.write_all(bytes)
                                .map_err(|e| wasmi::Error::new(e.to_string()))?;
                        }
                    } else {
                        std::io::stderr().write_all(bytes).ok();
                    }
                    total += len as u32;
                }
                put32(mem, nwritten as u32 as usize, total)?;
                Ok(0)
            },
        )?;
        linker.func_wrap(W, "proc_exit", |code: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::i32_exit(code))
        })?;
        for name in ["args_sizes_get", "environ_sizes_get"] {
            linker.func_wrap(
                W,
                name,
                |mut caller: Caller<'_, WasmiHost>, a: i32, b: i32| -> Result<i32, wasmi::Error> {
                    let (mem, _) = wasmi_memory(&mut caller)?;
                    put32(mem, a as u32 as usize, 0)?;
                    put32(mem, b as u32 as usize, 0)?;
                    Ok(0)
                },
            )?;
        }
        for name in ["args_get", "environ_get"] {
            linker.func_wrap(W, name, |_: i32, _: i32| -> i32 { 0 })?;
        }
        // Everything else the programs may import (fd_close, fd_seek, fd_fdstat_get, ...):
        // "not supported", which wasi-libc handles (stdout then counts as not a terminal).
        for import in module.imports() {
            if is_defined(import.module(), import.name()) {
                continue;
            }
            let Some(ty) = import.ty().func().cloned() else {
                bail!("wasmi shim: unsupported import {}", import.name());
            };
            linker.func_new(
                import.module(),
                import.name(),
                ty,
                |_caller, _params: &[Val], results: &mut [Val]| {
                    for r in results.iter_mut() {
                        *r = Val::I32(ERRNO_NOSYS);
                    }
                    Ok(())
                },
            )?;
        }
        Ok(WasmiRunner {
            engine,
            module,
            linker,
        })
    }
}

/// Whether the shim defines `module`.`name` itself.
fn is_defined(module: &str, name: &str) -> bool {
    module == "wasi_snapshot_preview1"
        && matches!(
            name,
            "fd_write"
                | "proc_exit"
                | "args_sizes_get"
                | "environ_sizes_get"
                | "args_get"
                | "environ_get"
        )
}

impl Runner for WasmiRunner {
    fn run(&mut self, out: Output) -> Result<Vec<u8>> {
        let f = out_file(&out)?;
        let mut store = wasmi::Store::new(
            &self.engine,
            WasmiHost {
                stdout: Some(f.try_clone()?),
            },
        );
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)?;
        let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
        if let Err(e) = start.call(&mut store, ()) {
            if e.i32_exit_status() != Some(0) {
                bail!("wasmi: {e}");
            }
        }
        drop(store);
        finish(out, f)
    }
}

/// Median of some durations.
pub fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}
