//! Functions as the host sees them: values ([`Val`]), calling compiled code ([`Func::call`])
//! and defining host functions that compiled code can call ([`Func::new_host`], [`Caller`]).

use crate::error::{Error, TrapError};
use crate::instance::InstanceData;
use crate::store::{Store, StoreInner};
use crate::traps::{self, Unwind};
use crate::types;
use wasic_abi::vmctx::{VMContext, VMFuncRef, VMHostContext, HOST_MAGIC};
use wasic_abi::{FuncType, Trap, ValRaw, ValType};

/// A function reference: a pointer to its `VMFuncRef`, valid while its store lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func(pub(crate) *const VMFuncRef);

/// A WebAssembly value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// Bits of an f32.
    F32(u32),
    /// Bits of an f64.
    F64(u64),
    V128(u128),
    FuncRef(Option<Func>),
    /// A host value carried through wasm as an opaque `externref`.
    ExternRef(Option<u64>),
    /// An exception (`exnref`).
    ExnRef(Option<crate::exceptions::ExnRef>),
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
        }
    }

    pub fn to_raw(&self) -> ValRaw {
        match *self {
            Val::I32(v) => ValRaw::from_i32(v),
            Val::I64(v) => ValRaw::from_i64(v),
            Val::F32(v) => ValRaw::from_u32(v),
            Val::F64(v) => ValRaw::from_u64(v),
            Val::V128(v) => ValRaw::from_u128(v),
            Val::FuncRef(f) => ValRaw::from_usize(f.map_or(0, |f| f.0 as usize)),
            Val::ExternRef(e) => ValRaw::from_u64(e.map_or(0, |e| e.wrapping_add(1))),
            Val::ExnRef(e) => ValRaw::from_usize(e.map_or(0, |e| e.0 as usize)),
        }
    }

    pub fn from_raw(raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.as_i32()),
            ValType::I64 => Val::I64(raw.as_i64()),
            ValType::F32 => Val::F32(raw.as_u32()),
            ValType::F64 => Val::F64(raw.as_u64()),
            ValType::V128 => Val::V128(raw.as_u128()),
            ValType::FuncRef => Val::FuncRef(match raw.as_usize() {
                0 => None,
                p => Some(Func(p as *const VMFuncRef)),
            }),
            ValType::ExternRef => Val::ExternRef(match raw.as_u64() {
                0 => None,
                v => Some(v - 1),
            }),
            ValType::ExnRef => Val::ExnRef(match raw.as_usize() {
                0 => None,
                // The host may keep it anywhere: it is never reclaimed.
                p => Some(crate::exceptions::ExnRef::pinned(p as *mut ValRaw)),
            }),
        }
    }

    /// The raw table-element word of a reference value.
    pub(crate) fn ref_word(&self) -> Option<usize> {
        match self {
            Val::FuncRef(_) | Val::ExternRef(_) | Val::ExnRef(_) => Some(self.to_raw().as_usize()),
            _ => None,
        }
    }
}

/// Why a host function did not return normally.
#[derive(Debug)]
pub enum HostError {
    Trap(Trap),
    Exit(i32),
    Message(String),
}

/// The signature of host function bodies: parameters come in `values[..params]`, results go out
/// in `values[..results]`.
pub type HostCallback = Box<dyn Fn(&mut Caller<'_>, &mut [ValRaw]) -> Result<(), HostError>>;

/// A host function living in a store. `#[repr(C)]` with the `VMHostContext` header first: its
/// address is the `vmctx` that host adapters receive.
#[repr(C)]
pub(crate) struct HostFunc {
    header: VMHostContext,
    pub funcref: VMFuncRef,
    pub ty: FuncType,
    callback: HostCallback,
}

/// What a host function sees of its caller.
pub struct Caller<'a> {
    pub(crate) instance: Option<&'a mut InstanceData>,
}

impl Caller<'_> {
    /// Memory 0 of the calling instance (empty when it has none or the host called directly).
    pub fn memory(&mut self) -> &mut [u8] {
        match &mut self.instance {
            Some(inst) => inst.memory0_data(),
            None => &mut [],
        }
    }
}

/// Entered by host adapters (C convention) when wasm calls a host function.
unsafe extern "C" fn host_trampoline(
    host: *mut VMHostContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) {
    // All values with destructors live inside `invoke`, so nothing is skipped by `raise`.
    let r = unsafe { invoke(host, caller, values, len) };
    if let Err(unwind) = r {
        unsafe { traps::raise(unwind) }
    }
}

#[allow(clippy::result_large_err)]
unsafe fn invoke(
    host: *mut VMHostContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) -> Result<(), Unwind> {
    // SAFETY: adapters pass the HostFunc they were given as vmctx, and a live caller vmctx.
    let host = unsafe { &*(host as *const HostFunc) };
    debug_assert_eq!(host.header.magic, HOST_MAGIC);
    let values = unsafe { std::slice::from_raw_parts_mut(values, len) };
    let instance = unsafe { InstanceData::from_vmctx(caller) };
    let mut c = Caller { instance };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (host.callback)(&mut c, values)
    }));
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(HostError::Trap(t))) => Err(Unwind::Trap(traps::TrapRecord::new(t))),
        Ok(Err(HostError::Exit(code))) => Err(Unwind::Exit(code)),
        Ok(Err(HostError::Message(m))) => Err(Unwind::Host(m)),
        Err(_) => Err(Unwind::Host("host function panicked".into())),
    }
}

impl Func {
    /// Defines a host function in `store`.
    pub fn new_host(
        store: &mut Store,
        ty: FuncType,
        callback: impl Fn(&mut Caller<'_>, &mut [ValRaw]) -> Result<(), HostError> + 'static,
    ) -> Func {
        let type_id = types::canonical_id(&ty);
        let adapter = store
            .inner
            .adapters
            .get(&type_id)
            .copied()
            .unwrap_or(std::ptr::null());
        let mut h = Box::new(HostFunc {
            header: VMHostContext {
                magic: HOST_MAGIC,
                func: host_trampoline,
            },
            funcref: VMFuncRef {
                func_ptr: adapter,
                vmctx: std::ptr::null_mut(),
                type_id,
                _pad: 0,
            },
            ty,
            callback: Box::new(callback),
        });
        h.funcref.vmctx = &mut *h as *mut HostFunc as *mut VMContext;
        let f = Func(&h.funcref);
        store.inner.host_funcs.push(h);
        f
    }

    pub fn type_id(&self) -> u32 {
        // SAFETY: a Func always points at a live VMFuncRef of its store.
        unsafe { (*self.0).type_id }
    }

    pub fn ty(&self) -> FuncType {
        types::type_of(self.type_id()).unwrap_or_default()
    }

    pub(crate) fn host(&self) -> Option<&HostFunc> {
        // SAFETY: as in `type_id`; the magic tells host contexts from instances.
        unsafe {
            let vmctx = (*self.0).vmctx;
            if !vmctx.is_null() && *(vmctx as *const u64) == HOST_MAGIC {
                Some(&*(vmctx as *const HostFunc))
            } else {
                None
            }
        }
    }

    /// Calls the function with `args`, returning its results or the trap / exit that ended it.
    pub fn call(&self, store: &mut Store, args: &[Val]) -> Result<Vec<Val>, Error> {
        let ty = self.ty();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Error::Usage(format!(
                "wrong arguments for {ty}: got ({})",
                args.iter()
                    .map(|a| a.ty().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        let mut values: Vec<ValRaw> =
            vec![ValRaw::default(); ty.params.len().max(ty.results.len())];
        for (v, a) in values.iter_mut().zip(args) {
            *v = a.to_raw();
        }
        self.call_raw(store, &mut values)?;
        Ok(ty
            .results
            .iter()
            .zip(&values)
            .map(|(t, v)| Val::from_raw(*v, *t))
            .collect())
    }

    /// Calls with raw values: parameters in, results out, `values.len() >= max(params, results)`.
    pub fn call_raw(&self, store: &mut Store, values: &mut [ValRaw]) -> Result<(), Error> {
        let ty = self.ty();
        assert!(values.len() >= ty.params.len().max(ty.results.len()));
        if let Some(h) = self.host() {
            let mut c = Caller { instance: None };
            return (h.callback)(&mut c, values).map_err(|e| match e {
                HostError::Trap(t) => Error::Trap(Box::new(TrapError {
                    trap: t,
                    frames: vec![],
                    memory_fault: None,
                })),
                HostError::Exit(c) => Error::Exit(c),
                HostError::Message(m) => Error::Host(m),
            });
        }
        let inner: &mut StoreInner = &mut store.inner;
        let Some(tramp) = inner.trampolines.get(&self.type_id()).copied() else {
            return Err(Error::Usage(format!(
                "no trampoline for {ty} in this store"
            )));
        };
        // SAFETY: a wasm funcref: its func_ptr has this type, its vmctx is a live instance.
        let (func_ptr, vmctx) = unsafe { ((*self.0).func_ptr, (*self.0).vmctx) };
        let r = unsafe {
            traps::catch_traps(
                &mut inner.limits,
                inner.config.max_wasm_stack,
                tramp,
                vmctx as *mut u8,
                vmctx as *mut u8,
                func_ptr,
                values.as_mut_ptr(),
            )
        };
        r.map_err(|u| unwind_to_error(inner, u))
    }
}

/// Turns an abandoned execution into the API's error, resolving the backtrace and the memory
/// of a faulting access.
pub(crate) fn unwind_to_error(store: &StoreInner, u: Unwind) -> Error {
    match u {
        Unwind::Trap(rec) => {
            let memory_fault = rec.fault_addr.and_then(|a| {
                store.memories.iter().find_map(|m| {
                    let base = m.base() as usize;
                    (a >= base && a < base + wasic_abi::MEMORY_RESERVATION as usize)
                        .then(|| ((a - base) as u64, m.byte_len()))
                })
            });
            Error::Trap(Box::new(TrapError {
                trap: rec.trap,
                frames: traps::symbolize(&rec),
                memory_fault,
            }))
        }
        Unwind::Exit(c) => Error::Exit(c),
        Unwind::Host(m) => Error::Host(m),
        Unwind::Resource(m) => Error::Resource(m),
    }
}
