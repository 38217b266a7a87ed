//! [`WasiInstance`]: one instance of a WASI module in a store of its own, as libraries and
//! `wasic run --invoke` use it.

use super::threads::{uses_threads, Program};
use crate::error::Error;
use crate::func::Func;
use crate::instance::Instance;
use crate::module::Module;
use crate::store::{Store, StoreConfig};
use crate::wasi::WasiCtx;
use std::sync::Arc;

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
/// // SAFETY: `object` comes from `wasic_compiler::compile(&wasm, &Default::default())`.
/// let module = unsafe { Module::from_object(object)? };
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
    ctx: Arc<WasiCtx>,
    instance: crate::Instance,
    initialized: bool,
    started: bool,
}

impl WasiInstance {
    /// An instance of a module that imports only WASI functions (a wasi-threads module is
    /// refused: only an executable's command runs threads).
    pub fn new(
        module: &Arc<Module>,
        ctx: WasiCtx,
        config: StoreConfig,
    ) -> Result<WasiInstance, Error> {
        let wasi = super::resolve_wasi(module.meta());
        WasiInstance::new_linked(module, ctx, config, &wasi)
    }

    /// [`WasiInstance::new`] with the WASI functions `wasi` says (see
    /// [`super::WasiImports`]): what executables and libraries do, with the table linked
    /// into them, so that they contain no other WASI function.
    pub fn new_linked(
        module: &Arc<Module>,
        ctx: WasiCtx,
        config: StoreConfig,
        wasi: super::WasiImports<'_>,
    ) -> Result<WasiInstance, Error> {
        let mut store = Store::new(config);
        let ctx = Arc::new(ctx);
        let imports = super::linking::imports(&mut store, &ctx, module.meta(), None, wasi)?;
        let instance = Instance::new(&mut store, module, &imports)?;
        Ok(WasiInstance::from_parts(store, ctx, instance))
    }

    /// The main instance of a command, which may be a wasi-threads program: its threads end
    /// the process (`exec/threads.rs`). `deadline` is when `--timeout` runs out.
    pub(crate) fn new_command(
        module: &Arc<Module>,
        ctx: WasiCtx,
        config: StoreConfig,
        deadline: Option<std::time::Instant>,
        wasi: super::WasiImports<'_>,
    ) -> Result<WasiInstance, Error> {
        if !uses_threads(module.meta()) {
            return WasiInstance::new_linked(module, ctx, config, wasi);
        }
        let program = Program::new(module, Arc::new(ctx), config.clone(), deadline, wasi)?;
        let mut store = Store::new(config);
        let instance = program.instantiate(&mut store)?;
        Ok(WasiInstance::from_parts(
            store,
            program.ctx.clone(),
            instance,
        ))
    }

    fn from_parts(store: Store, ctx: Arc<WasiCtx>, instance: Instance) -> WasiInstance {
        WasiInstance {
            store,
            ctx,
            instance,
            initialized: false,
            started: false,
        }
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

    /// The exported memory called `memory` (what WASI programs export); `None` also when it
    /// is shared (no reference to its bytes can be sound: see [`crate::Memory::data`]).
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        let m = self.instance.get_memory("memory")?;
        if m.shared(&self.store).is_some() {
            return None;
        }
        Some(m.data_mut(&mut self.store))
    }

    pub fn instance(&self) -> &crate::Instance {
        &self.instance
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The WASI context (shared by all threads of a wasi-threads program).
    pub fn wasi(&self) -> &WasiCtx {
        &self.ctx
    }
}
