//! The WASI functions as host functions of a [`Linker`], each bound to a shared [`WasiCtx`].
//!
//! Every call checks for an expired timeout (`traps::interrupt`) before it starts and on its
//! way back to wasm: a guest that blocks in, or loops on, host calls is stopped there with the
//! same "interrupted" trap as one looping in wasm code.

use crate::error::Error;
use crate::func::{Func, HostError};
use crate::linker::Linker;
use crate::store::Store;
use crate::traps;
use crate::wasi::{self, WasiCtx, WasiExit};
use std::cell::RefCell;
use std::rc::Rc;
use wasic_abi::meta::ModuleMeta;
use wasic_abi::Trap;

/// Defines every WASI function, under both module names, in `linker`, backed by `ctx`.
pub fn add_wasi_to_linker(linker: &mut Linker, store: &mut Store, ctx: Rc<RefCell<WasiCtx>>) {
    for f in wasi::functions() {
        define(linker, store, &ctx, f);
    }
}

/// The imports of a module that imports only WASI functions, in import order, each backed by
/// `ctx`: what instantiating a command or reactor needs, without a [`Linker`] in between
/// (start-up time). An import WASI lacks is an unknown-import error, as from a linker.
pub fn wasi_imports(
    store: &mut Store,
    ctx: Rc<RefCell<WasiCtx>>,
    meta: &ModuleMeta,
) -> Result<Vec<crate::Extern>, Error> {
    meta.imports
        .iter()
        .map(|i| {
            wasi::lookup(&i.module, &i.name)
                .map(|f| host_func(store, &ctx, f))
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
fn define(linker: &mut Linker, store: &mut Store, ctx: &Rc<RefCell<WasiCtx>>, f: wasi::WasiFunc) {
    let (module, name) = (f.module, f.name);
    let host = host_func(store, ctx, f);
    linker.define(module, name, host);
}

/// WASI function `f` as a host function bound to `ctx`.
fn host_func(store: &mut Store, ctx: &Rc<RefCell<WasiCtx>>, f: wasi::WasiFunc) -> crate::Extern {
    let ctx = ctx.clone();
    let func = f.func;
    let host = Func::new_host(store, f.ty, move |caller, values| {
        interrupted()?;
        func(&mut ctx.borrow_mut(), caller.memory(), values).map_err(|e| match e {
            WasiExit::Exit(code) => HostError::Exit(code),
            WasiExit::Trap(msg) => HostError::Message(msg),
        })?;
        // The call may have given up because of it (its EINTR never reaches the guest).
        interrupted()
    });
    crate::Extern::Func(host)
}
