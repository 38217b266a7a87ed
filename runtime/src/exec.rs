//! Running a WASI command: what the `main` of every executable built by `wasic build` does.
//!
//! The executable carries the module descriptor and an [`ExecConfig`] (the grants given at
//! build time). The person running it can add grants through reserved environment variables
//! that the guest never sees:
//!
//! * `WASIC_DIR=HOST[::GUEST]` (and `WASIC_DIR_<anything>=...` for more) preopens a directory;
//! * `WASIC_ENV=NAME=VALUE` (and `WASIC_ENV_<anything>=...`) sets a guest environment variable.
//!
//! Every variable whose name starts with `WASIC_` is hidden from the guest, even with
//! `--inherit-env`. The executable's argv becomes the guest's args untouched.
//!
//! Exit behaviour follows wasmtime: returning from `_start` exits 0; `proc_exit(n)` exits with
//! `n` (the OS keeps its low 8 bits, as for any native program); a trap prints one line naming
//! it and the wasm backtrace to stderr and exits with 134.

use crate::error::Error;
use crate::func::{Func, HostError};
use crate::linker::Linker;
use crate::module::Module;
use crate::store::{Store, StoreConfig};
use crate::wasi::{self, WasiCtx, WasiCtxBuilder, WasiExit};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasic_abi::meta::{ExternKind, ImportKind, ModuleMeta};

/// Exit status of a trapped program (as wasmtime's, the status of an abort).
pub const TRAP_EXIT_STATUS: i32 = 134;

/// Prefix of the environment variables reserved for the runtime.
pub const RESERVED_ENV_PREFIX: &str = "WASIC_";

/// Grants and limits baked into an executable at build time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecConfig {
    /// (host path, guest path)
    pub dirs: Vec<(String, String)>,
    /// (name, value)
    pub env: Vec<(String, String)>,
    pub inherit_env: bool,
    pub max_memory: Option<u64>,
    pub max_wasm_stack: Option<usize>,
    /// Stop the program with an "interrupted" trap after this many milliseconds.
    pub timeout_ms: Option<u64>,
    /// CPU features the compiled code needs (`is_x86_feature_detected!` names).
    pub required_cpu: Vec<String>,
}

impl ExecConfig {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serializing into a Vec cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<ExecConfig, String> {
        if bytes.is_empty() {
            return Ok(ExecConfig::default());
        }
        postcard::from_bytes(bytes).map_err(|e| format!("corrupt executable configuration: {e}"))
    }
}

/// Parses `HOST[::GUEST]` (GUEST defaults to HOST).
pub fn parse_dir_grant(s: &str) -> (String, String) {
    match s.split_once("::") {
        Some((h, g)) => (h.to_string(), g.to_string()),
        None => (s.to_string(), s.to_string()),
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_env_grant(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
        _ => Err(format!(
            "environment grant `{s}` is not of the form NAME=VALUE"
        )),
    }
}

/// Checks that `meta` is a command wasic can run: it exports `_start` and imports only WASI
/// functions with their right types. The message names the offending export or import.
pub fn check_command(meta: &ModuleMeta) -> Result<(), String> {
    if !meta
        .exports
        .iter()
        .any(|e| e.name == "_start" && e.kind == ExternKind::Func)
    {
        let kind = if meta.exports.iter().any(|e| e.name == "_initialize") {
            "it is a reactor (exports `_initialize`)"
        } else {
            "it exports no `_start` function"
        };
        return Err(format!("module is not a WASI command: {kind}"));
    }
    check_imports(meta)
}

/// Checks that every import of `meta` is a WASI function wasic provides, with its type.
pub fn check_imports(meta: &ModuleMeta) -> Result<(), String> {
    // WASI preview1 passes 32-bit pointers into memory 0.
    let memory0 = match meta.imports.iter().find_map(|i| match &i.kind {
        ImportKind::Memory(m) => Some(m),
        _ => None,
    }) {
        Some(m) => Some(m),
        None => meta.memories.first(),
    };
    if memory0.is_some_and(|m| m.memory64) && !meta.imports.is_empty() {
        return Err("WASI preview1 needs a 32-bit memory 0, but this module's memory 0 is 64-bit (memory64)".into());
    }
    let funcs = wasi::functions();
    for imp in &meta.imports {
        let ImportKind::Func(t) = imp.kind else {
            return Err(format!(
                "unsupported import `{}`.`{}`: only WASI functions can be imported",
                imp.module, imp.name
            ));
        };
        let Some(f) = funcs
            .iter()
            .find(|f| f.module == imp.module && f.name == imp.name)
        else {
            return Err(format!(
                "unknown import `{}`.`{}`: not a WASI preview1 function",
                imp.module, imp.name
            ));
        };
        if f.ty != meta.types[t as usize] {
            return Err(format!(
                "import `{}`.`{}` has type {} but WASI defines {}",
                imp.module, imp.name, meta.types[t as usize], f.ty
            ));
        }
    }
    Ok(())
}

/// Defines every WASI function, under both module names, in `linker`, backed by `ctx`.
pub fn add_wasi_to_linker(linker: &mut Linker, store: &mut Store, ctx: Rc<RefCell<WasiCtx>>) {
    add_wasi_functions(linker, store, ctx, |_| true)
}

/// Defines the WASI functions `meta` imports (only those: defining all ~90 host functions is
/// a measurable part of an executable's start-up).
pub fn add_wasi_imports_to_linker(
    linker: &mut Linker,
    store: &mut Store,
    ctx: Rc<RefCell<WasiCtx>>,
    meta: &ModuleMeta,
) {
    add_wasi_functions(linker, store, ctx, |f| {
        meta.imports
            .iter()
            .any(|i| i.module == f.module && i.name == f.name)
    })
}

fn add_wasi_functions(
    linker: &mut Linker,
    store: &mut Store,
    ctx: Rc<RefCell<WasiCtx>>,
    wanted: impl Fn(&wasi::WasiFunc) -> bool,
) {
    for f in wasi::functions().into_iter().filter(|f| wanted(f)) {
        let ctx = ctx.clone();
        let func = f.func;
        let host = Func::new_host(store, f.ty.clone(), move |caller, values| {
            let mut ctx = ctx.borrow_mut();
            func(&mut ctx, caller.memory(), values).map_err(|e| match e {
                WasiExit::Exit(code) => HostError::Exit(code),
                WasiExit::Trap(msg) => HostError::Message(msg),
            })
        });
        linker.define(f.module, f.name, crate::Extern::Func(host));
    }
}

/// Builds the WASI context of an executable from its baked-in config, the process environment
/// and its argv.
pub fn wasi_ctx_for_process(
    cfg: &ExecConfig,
    args: Vec<Vec<u8>>,
    env: Vec<(String, String)>,
) -> Result<WasiCtx, String> {
    let mut dirs = cfg.dirs.clone();
    let mut vars = cfg.env.clone();
    let reserved = |name: &str, key: &str| name == key || name.starts_with(&format!("{key}_"));
    for (name, value) in &env {
        if reserved(name, "WASIC_DIR") {
            dirs.push(parse_dir_grant(value));
        } else if reserved(name, "WASIC_ENV") {
            vars.push(parse_env_grant(value).map_err(|e| format!("{name}: {e}"))?);
        }
    }
    let mut b = WasiCtxBuilder::new().args(args);
    if cfg.inherit_env {
        for (n, v) in &env {
            if !n.starts_with(RESERVED_ENV_PREFIX) {
                b = b.env(n.as_str(), v.as_str());
            }
        }
    }
    for (n, v) in &vars {
        b = b.env(n.as_str(), v.as_str());
    }
    for (host, guest) in &dirs {
        b = b
            .preopen_dir(host, guest.as_str())
            .map_err(|e| format!("cannot open directory `{host}`: {e}"))?;
    }
    b.build().map_err(|e| e.to_string())
}

/// Checks that `meta` can be loaded as a library: it imports only WASI functions.
/// Reactors (`_initialize`) and commands (`_start`) both qualify.
pub fn check_library(meta: &ModuleMeta) -> Result<(), String> {
    check_imports(meta)
}

/// An instance of a WASI module with its own store: what a library built with `wasic build
/// --lib` and `wasic run --invoke` work with. Follows Node.js's `wasi` semantics:
/// `initialize` runs `_initialize` exactly once, `start` runs `_start` and returns the
/// `proc_exit` code instead of exiting the process.
///
/// ```no_run
/// # fn demo(object: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// use wasic_runtime::exec::WasiInstance;
/// use wasic_runtime::wasi::WasiCtxBuilder;
/// use wasic_runtime::{Module, StoreConfig, Val};
///
/// // `object` comes from `wasic_compiler::compile(&wasm, &Default::default())`.
/// let module = Module::from_object(object)?;
/// let ctx = WasiCtxBuilder::new().args(["mylib"]).preopen_dir("/srv/data", "/data")?.build()?;
/// let mut reactor = WasiInstance::new(&module, ctx, StoreConfig::default())?;
/// reactor.initialize()?;
/// match reactor.call("add", &[Val::I32(2), Val::I32(3)]) {
///     Ok(results) => println!("{results:?}"),
///     Err(wasic_runtime::Error::Trap(t)) => eprintln!("{}", t.report()), // the host goes on
///     Err(e) => return Err(e.into()),
/// }
/// # Ok(()) }
/// ```
pub struct WasiInstance {
    store: Store,
    instance: crate::Instance,
    initialized: bool,
    started: bool,
}

impl WasiInstance {
    pub fn new(
        module: &Arc<Module>,
        ctx: WasiCtx,
        config: StoreConfig,
    ) -> Result<WasiInstance, Error> {
        let mut store = Store::new(config);
        let mut linker = Linker::new();
        add_wasi_imports_to_linker(
            &mut linker,
            &mut store,
            Rc::new(RefCell::new(ctx)),
            module.meta(),
        );
        let instance = linker.instantiate(&mut store, module)?;
        Ok(WasiInstance {
            store,
            instance,
            initialized: false,
            started: false,
        })
    }

    pub fn is_reactor(&self) -> bool {
        self.instance.get_func("_start").is_none()
    }

    /// Runs `_initialize` if the module exports it. A second call is an error, as in Node.js.
    pub fn initialize(&mut self) -> Result<(), Error> {
        if self.initialized {
            return Err(Error::Usage("the instance is already initialized".into()));
        }
        if self.started {
            return Err(Error::Usage(
                "a command instance cannot be initialized after start".into(),
            ));
        }
        self.initialized = true;
        match self.instance.get_func("_initialize") {
            Some(f) => f.call(&mut self.store, &[]).map(drop),
            None => Ok(()),
        }
    }

    /// Runs `_start` once; returns its exit status (0 when it returns, n on `proc_exit(n)`).
    pub fn start(&mut self) -> Result<i32, Error> {
        if self.started || self.initialized {
            return Err(Error::Usage(
                "the instance was already started or initialized".into(),
            ));
        }
        self.started = true;
        let f = self
            .instance
            .get_func("_start")
            .ok_or_else(|| Error::Usage("module exports no `_start` function".into()))?;
        match f.call(&mut self.store, &[]) {
            Ok(_) => Ok(0),
            Err(Error::Exit(code)) => Ok(code),
            Err(e) => Err(e),
        }
    }

    /// The exported function `name`.
    pub fn func(&self, name: &str) -> Result<Func, Error> {
        self.instance
            .get_func(name)
            .ok_or_else(|| Error::Usage(format!("module exports no function `{name}`")))
    }

    pub fn call(&mut self, name: &str, args: &[crate::Val]) -> Result<Vec<crate::Val>, Error> {
        let f = self.func(name)?;
        f.call(&mut self.store, args)
    }

    /// Calls with raw 16-byte values (parameters in, results out).
    pub fn call_raw(&mut self, name: &str, values: &mut [wasic_abi::ValRaw]) -> Result<(), Error> {
        let f = self.func(name)?;
        let ty = f.ty();
        if values.len() < ty.params.len().max(ty.results.len()) {
            return Err(Error::Usage(format!(
                "`{name}` needs {} value cells",
                ty.params.len().max(ty.results.len())
            )));
        }
        f.call_raw(&mut self.store, values)
    }

    /// The exported memory called `memory` (what WASI programs export).
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        let m = self.instance.get_memory("memory")?;
        Some(m.data_mut(&mut self.store))
    }

    pub fn instance(&self) -> &crate::Instance {
        &self.instance
    }
}

/// Store settings of a command run from an executable.
fn command_store_config(cfg: &ExecConfig) -> StoreConfig {
    StoreConfig {
        // The main thread has the full process stack (usually 8 MiB); let wasm use most of it.
        max_wasm_stack: cfg.max_wasm_stack.unwrap_or(MAIN_THREAD_WASM_STACK),
        max_memory: cfg.max_memory,
    }
}

/// Prints what ended a program and returns the process exit status for it.
pub fn report_error(e: &Error) -> i32 {
    match e {
        Error::Exit(code) => *code,
        Error::Trap(t) => {
            eprintln!("Error: {}", t.report());
            TRAP_EXIT_STATUS
        }
        e => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// Instantiates and runs a command; returns the process exit status. Prints a trap report or
/// error to stderr.
pub fn run_command(module: &Arc<Module>, cfg: &ExecConfig, ctx: WasiCtx) -> i32 {
    match cfg.max_wasm_stack {
        // A stack limit beyond what the main thread has needs a thread of its own.
        Some(max) if max > MAIN_THREAD_WASM_STACK => {
            let (module, cfg) = (module.clone(), cfg.clone());
            let r = std::thread::Builder::new()
                .name("wasm".into())
                .stack_size(max.saturating_add(HOST_STACK_HEADROOM))
                .spawn(move || run_command_on_this_thread(&module, &cfg, ctx));
            match r.map(|t| t.join()) {
                Ok(Ok(code)) => code,
                _ => {
                    eprintln!("Error: cannot start a thread with a {max}-byte stack");
                    1
                }
            }
        }
        _ => run_command_on_this_thread(module, cfg, ctx),
    }
}

/// Wasm stack the main thread offers by default (it usually has 8 MiB).
const MAIN_THREAD_WASM_STACK: usize = 6 << 20;
/// Stack a wasm thread gets beyond `--max-stack`, for the host functions it calls.
const HOST_STACK_HEADROOM: usize = 2 << 20;

fn run_command_on_this_thread(module: &Arc<Module>, cfg: &ExecConfig, ctx: WasiCtx) -> i32 {
    let _watchdog = cfg
        .timeout_ms
        .map(|ms| crate::traps::interrupt::Watchdog::start(std::time::Duration::from_millis(ms)));
    match WasiInstance::new(module, ctx, command_store_config(cfg)).and_then(|mut i| i.start()) {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

/// The whole `main` of a built executable.
///
/// # Safety
/// `desc` must be the descriptor the compiler emitted into this executable.
pub unsafe fn main(
    desc: &'static wasic_abi::meta::ModuleDescriptor,
    config: &[u8],
    args: Vec<Vec<u8>>,
) -> i32 {
    // Like wasmtime (and unlike a C program), writing to a closed pipe gives the guest EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let cfg = match ExecConfig::decode(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if let Err(e) = check_cpu(&cfg.required_cpu) {
        eprintln!("Error: {e}");
        return 1;
    }
    let module = match unsafe { Module::from_descriptor(desc) } {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let ctx = match wasi_ctx_for_process(&cfg, args, env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    run_command(&module, &cfg, ctx)
}

/// Refuses to run code compiled for CPU features this CPU lacks, naming the first missing one.
pub fn check_cpu(required: &[String]) -> Result<(), String> {
    match required.iter().find(|f| !cpu_has(f)) {
        Some(missing) => Err(format!(
            "this program was compiled for a CPU with `{missing}`, which this CPU lacks; \
             rebuild it with `wasic build --target-cpu x86-64-v2` (or `native` on this machine)"
        )),
        None => Ok(()),
    }
}

/// Whether this CPU has the feature called `name` (unknown names count as missing).
pub fn cpu_has(name: &str) -> bool {
    macro_rules! check {
        ($($f:tt),*) => {
            match name {
                $($f => std::is_x86_feature_detected!($f),)*
                _ => false,
            }
        };
    }
    check!(
        "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "bmi1", "bmi2", "lzcnt",
        "fma"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_for_missing_cpu_features_is_refused_with_the_feature_named() {
        assert!(
            check_cpu(&["sse4.2".into(), "popcnt".into()]).is_ok(),
            "x86-64-v2 is the baseline"
        );
        let e = check_cpu(&["sse4.2".into(), "avx512-imaginary".into()]).unwrap_err();
        assert!(
            e.contains("`avx512-imaginary`") && e.contains("--target-cpu"),
            "{e}"
        );
        assert_eq!(cpu_has("avx2"), std::is_x86_feature_detected!("avx2"));
    }

    #[test]
    fn exec_config_round_trips_and_an_empty_config_is_the_default() {
        let cfg = ExecConfig {
            dirs: vec![("/h".into(), "/g".into())],
            env: vec![("A".into(), "b".into())],
            inherit_env: true,
            max_memory: Some(1 << 20),
            max_wasm_stack: Some(65536),
            timeout_ms: Some(5),
            required_cpu: vec!["avx2".into()],
        };
        assert_eq!(ExecConfig::decode(&cfg.encode()).unwrap(), cfg);
        assert_eq!(ExecConfig::decode(&[]).unwrap(), ExecConfig::default());
        assert!(ExecConfig::decode(&[0xff, 0xff]).is_err());
    }
}
