//! The WASI functions as host functions of a [`Linker`], each bound to a shared [`WasiCtx`].
//!
//! Every call checks for an expired timeout (`traps::interrupt`) before it starts and on its
//! way back to wasm: a guest that blocks in, or loops on, host calls is stopped there with the
//! same "interrupted" trap as one looping in wasm code.

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

/// The "interrupted" trap once the watchdog guarding this thread has expired.
fn interrupted() -> Result<(), HostError> {
    if traps::interrupt::pending() {
        Err(HostError::Trap(Trap::Interrupted))
    } else {
        Ok(())
    }
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
            interrupted()?;
            func(&mut ctx.borrow_mut(), caller.memory(), values).map_err(|e| match e {
                WasiExit::Exit(code) => HostError::Exit(code),
                WasiExit::Trap(msg) => HostError::Message(msg),
            })?;
            // The call may have given up because of it (its EINTR never reaches the guest).
            interrupted()
        });
        linker.define(f.module, f.name, crate::Extern::Func(host));
    }
}
