//! The WASI functions as host functions of a [`Linker`], each bound to a shared [`WasiCtx`].
//!
//! Every call checks for an expired timeout (`traps::interrupt`) before it starts and on its
//! way back to wasm: a guest that blocks in, or loops on, host calls is stopped there with the
//! same "interrupted" trap as one looping in wasm code.

use super::threads::{Program, COMMAND_ONLY, THREAD_SPAWN};
use crate::error::Error;
use crate::func::{Func, HostError};
use crate::linker::Linker;
use crate::store::Store;
use crate::traps;
use crate::wasi::{self, WasiCtx, WasiExit};
use std::sync::Arc;
use wasic_abi::meta::{ImportKind, ModuleMeta};
use wasic_abi::Trap;

/// Defines every WASI function, under both module names, in `linker`, backed by `ctx`.
pub fn add_wasi_to_linker(linker: &mut Linker, store: &mut Store, ctx: Arc<WasiCtx>) {
    for f in wasi::functions() {
        define(linker, store, &ctx, f);
    }
}

/// Which WASI function each import of a module is, by import index (`None` for anything
/// else): the table `wasic build` links into executables and libraries
/// (`wasic_wasi_imports`, so that they contain only the WASI functions they import: see
/// [`wasi::WasiEntry`]), or [`resolve_wasi`]'s.
pub type WasiImports<'a> = &'a [Option<&'static wasi::WasiEntry>];

/// The WASI function of each import of `meta` (see [`WasiImports`]), looked up by name.
pub fn resolve_wasi(meta: &ModuleMeta) -> Vec<Option<&'static wasi::WasiEntry>> {
    meta.imports
        .iter()
        .map(|i| match i.kind {
            ImportKind::Func(_) => wasi::lookup_entry(&i.module, &i.name),
            _ => None,
        })
        .collect()
}

/// The imports of a module that imports only WASI functions, in import order, each backed by
/// `ctx`: what instantiating a command or reactor needs, without a [`Linker`] in between
/// (start-up time). An import WASI lacks is an unknown-import error, as from a linker; a
/// wasi-threads module is refused (only a command can run threads: `exec/threads.rs`).
pub fn wasi_imports(
    store: &mut Store,
    ctx: Arc<WasiCtx>,
    meta: &ModuleMeta,
) -> Result<Vec<crate::Extern>, Error> {
    imports(store, &ctx, meta, None, &resolve_wasi(meta))
}

/// [`wasi_imports`] with the WASI functions `wasi` says, and with `threads` also what a
/// wasi-threads program's instances share: `thread-spawn` and the shared memory.
pub(crate) fn imports(
    store: &mut Store,
    ctx: &Arc<WasiCtx>,
    meta: &ModuleMeta,
    threads: Option<&Arc<Program>>,
    wasi: WasiImports<'_>,
) -> Result<Vec<crate::Extern>, Error> {
    meta.imports
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let spawn = (i.module.as_str(), i.name.as_str()) == THREAD_SPAWN;
            let shared = matches!(&i.kind, ImportKind::Memory(m) if m.shared);
            match threads {
                Some(p) if spawn => return Ok(crate::Extern::Func(p.spawn_func(store))),
                Some(p) if shared => {
                    let m = p
                        .memory
                        .as_ref()
                        .expect("made for the imported shared memory");
                    return Ok(crate::Extern::Memory(crate::Memory::from_shared(store, m)));
                }
                None if spawn || shared => {
                    return Err(Error::Usage(format!(
                        "{COMMAND_ONLY} (it imports `{}`.`{}`)",
                        i.module, i.name
                    )))
                }
                _ => {}
            }
            match i.kind {
                ImportKind::Func(_) => wasi
                    .get(k)
                    .copied()
                    .flatten()
                    .filter(|e| e.module == i.module && e.name == i.name)
                    .map(|e| host_func(store, ctx, e.func())),
                _ => None,
            }
            .ok_or_else(|| crate::linker::unknown_import(&i.module, &i.name))
        })
        .collect()
}

/// The "interrupted" trap once the watchdog guarding this thread has expired.
fn interrupted() -> Result<(), HostError> {
    if traps::interrupt::pending() {
        Err(HostError::Trap(Trap::Interrupted))
    } else {
        Ok(())
    }
}

/// Defines WASI function `f` in `linker` as a host function bound to `ctx`.
fn define(linker: &mut Linker, store: &mut Store, ctx: &Arc<WasiCtx>, f: wasi::WasiFunc) {
    let (module, name) = (f.module, f.name);
    let host = host_func(store, ctx, f);
    linker.define(module, name, host);
}

/// WASI function `f` as a host function bound to `ctx`.
fn host_func(store: &mut Store, ctx: &Arc<WasiCtx>, f: wasi::WasiFunc) -> crate::Extern {
    let ctx = ctx.clone();
    let func = f.func;
    let host = Func::new_host(store, f.ty, move |caller, values| {
        interrupted()?;
        func(&ctx, &mut caller.memory_view(), values).map_err(|e| match e {
            WasiExit::Exit(code) => HostError::Exit(code),
            WasiExit::Trap(msg) => HostError::Message(msg),
        })?;
        // The call may have given up because of it (its EINTR never reaches the guest).
        interrupted()
    });
    crate::Extern::Func(host)
}
