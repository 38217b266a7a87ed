//! The WASI functions as host functions of a [`Linker`], each bound to a shared [`WasiCtx`].

use crate::func::{Func, HostError};
use crate::linker::Linker;
use crate::store::Store;
use crate::wasi::{self, WasiCtx, WasiExit};
use std::cell::RefCell;
use std::rc::Rc;
use wasic_abi::meta::ModuleMeta;

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
