//! wasi-threads: one wasm thread is one OS thread.
//!
//! A wasi-threads module imports a shared memory (`env.memory` by convention) and
//! `wasi.thread-spawn(start_arg) -> tid`, and exports `wasi_thread_start(tid, start_arg)`.
//! Following the proposal's model, every spawned thread gets a new instance of the same module
//! in a store of its own (own globals, tables and stack pointer, as instantiation gives them),
//! importing the same shared memory, the same WASI context ([`WasiCtx`] is shared and
//! thread-safe) and the same `thread-spawn`. [`Program`] is what they all share.
//!
//! How a program ends, as wasmtime did before it dropped wasi-threads: when `_start` returns
//! or any thread calls `proc_exit(n)`, the whole process exits (with 0 or `n`); a trap in any
//! thread prints its report and ends the process with status 134. A thread returning from
//! `wasi_thread_start` just ends. The limits apply to the whole program: the one memory is
//! capped by `--max-memory`, every thread's wasm stack by `--max-stack`, and `--timeout` is
//! one deadline that every thread's watchdog counts down to.
//!
//! Only commands run threads: the process is theirs to end. Libraries and `--invoke` refuse a
//! wasi-threads module (see [`crate::exec::wasi_imports`]).

use super::command::report_error;
use crate::error::Error;
use crate::func::{Func, HostError};
use crate::memory::SharedMemory;
use crate::module::Module;
use crate::store::{Store, StoreConfig};
use crate::wasi::{Errno, WasiCtx};
use crate::{Instance, Val};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;
use wasic_abi::meta::{ImportKind, ModuleMeta};
use wasic_abi::{FuncType, MemoryType, ValRaw, ValType};

/// The import that spawns a thread.
pub const THREAD_SPAWN: (&str, &str) = ("wasi", "thread-spawn");
/// The export a spawned thread runs.
pub const THREAD_START: &str = "wasi_thread_start";

/// Why a wasi-threads module is refused where it would not be a command (a library,
/// `--invoke`): only a command's process is its threads' to end.
pub const COMMAND_ONLY: &str = "this module uses wasi-threads, which only a command can run: \
     build it with `wasic build` (without --lib), run it with `wasic run` (without --invoke)";

/// The largest thread id: wasi-threads reserves the top bits (ids are 1..=0x1FFF_FFFF).
const MAX_TID: u32 = 0x1FFF_FFFF;

/// `thread-spawn`'s type: `(i32) -> i32`.
pub fn thread_spawn_type() -> FuncType {
    FuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    }
}

/// `wasi_thread_start`'s type: `(i32, i32) -> ()`.
pub fn thread_start_type() -> FuncType {
    FuncType {
        params: vec![ValType::I32, ValType::I32],
        results: vec![],
    }
}

/// Whether the module uses wasi-threads: imports `thread-spawn` or a shared memory.
pub fn uses_threads(meta: &ModuleMeta) -> bool {
    meta.imports.iter().any(|i| {
        (i.module == THREAD_SPAWN.0 && i.name == THREAD_SPAWN.1)
            || matches!(&i.kind, ImportKind::Memory(m) if m.shared)
    })
}

/// The imported shared memory's type, if the module imports one.
fn imported_shared_memory(meta: &ModuleMeta) -> Option<MemoryType> {
    meta.imports.iter().find_map(|i| match &i.kind {
        ImportKind::Memory(m) if m.shared => Some(*m),
        _ => None,
    })
}

/// What every thread of a wasi-threads program shares.
pub(crate) struct Program {
    pub module: Arc<Module>,
    pub ctx: Arc<WasiCtx>,
    /// The shared memory the module imports (made once, by the main thread).
    pub memory: Option<SharedMemory>,
    pub config: StoreConfig,
    /// When `--timeout` runs out, for every thread.
    deadline: Option<Instant>,
    next_tid: AtomicU32,
    /// The WASI function of each import (see [`super::WasiImports`]).
    wasi: Vec<Option<&'static crate::wasi::WasiEntry>>,
}

impl Program {
    /// The program of `module`, with its imported shared memory made under `config`'s cap.
    pub fn new(
        module: &Arc<Module>,
        ctx: Arc<WasiCtx>,
        config: StoreConfig,
        deadline: Option<Instant>,
        wasi: super::WasiImports<'_>,
    ) -> Result<Arc<Program>, Error> {
        let memory = match imported_shared_memory(module.meta()) {
            Some(ty) => Some(
                SharedMemory::new(ty, config.max_memory)
                    .map_err(|e| Error::Resource(format!("imported shared memory: {e}")))?,
            ),
            None => None,
        };
        Ok(Arc::new(Program {
            module: module.clone(),
            ctx,
            memory,
            config,
            deadline,
            next_tid: AtomicU32::new(1),
            wasi: wasi.to_vec(),
        }))
    }

    /// `thread-spawn` as a host function of `store`.
    pub fn spawn_func(self: &Arc<Program>, store: &mut Store) -> Func {
        let program = self.clone();
        Func::new_host(store, thread_spawn_type(), move |_caller, values| {
            let tid = program.spawn(values[0].as_i32());
            values[0] = ValRaw::from_i32(tid);
            Ok::<(), HostError>(())
        })
    }

    /// Starts a thread running `wasi_thread_start(tid, start_arg)`; returns its id, or a
    /// negative errno (`-EAGAIN`) when no thread can be made.
    fn spawn(self: &Arc<Program>, start_arg: i32) -> i32 {
        let tid = match self
            .next_tid
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t <= MAX_TID).then_some(t + 1)
            }) {
            Ok(tid) => tid,
            Err(_) => return -(Errno::AGAIN.0 as i32),
        };
        let program = self.clone();
        // Wasm runs on a stack of its own (`traps/stack.rs`), so the OS thread's stack only
        // holds host code: the default size is plenty.
        let spawned = std::thread::Builder::new()
            .name(format!("wasm-thread-{tid}"))
            .spawn(move || program.run_thread(tid as i32, start_arg));
        match spawned {
            Ok(_) => tid as i32,
            Err(_) => -(Errno::AGAIN.0 as i32),
        }
    }

    /// The body of a spawned thread: its own store and instance, then `wasi_thread_start`.
    /// An exit or trap ends the whole process.
    fn run_thread(self: Arc<Program>, tid: i32, start_arg: i32) {
        let _watchdog = self.deadline.map(|d| {
            crate::traps::interrupt::Watchdog::start(d.saturating_duration_since(Instant::now()))
        });
        let mut store = Store::new(self.config.clone());
        let result = self.instantiate(&mut store).and_then(|instance| {
            let start = instance.get_func(THREAD_START).ok_or_else(|| {
                Error::Usage(format!("module exports no `{THREAD_START}` function"))
            })?;
            start.call(&mut store, &[Val::I32(tid), Val::I32(start_arg)])
        });
        if let Err(e) = result {
            // A trap is reported (status 134, `TRAP_EXIT_STATUS`) as in the main thread.
            let status = match e {
                Error::Exit(code) => code,
                e => report_error(&e),
            };
            std::process::exit(status);
        }
    }

    /// A new instance of the module in `store`, importing what the program shares.
    pub fn instantiate(self: &Arc<Program>, store: &mut Store) -> Result<Instance, Error> {
        let imports =
            super::linking::imports(store, &self.ctx, self.module.meta(), Some(self), &self.wasi)?;
        Instance::new(store, &self.module, &imports)
    }
}
