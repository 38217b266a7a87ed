//! Functions as the host sees them: values ([`Val`]), calling compiled code ([`Func::call`])
//! and defining host functions that compiled code can call ([`Func::new_host`], [`Caller`]).
//!
//! References cross between the host and wasm in two forms. As [`Val`]s, their handles carry
//! their store's id and are checked against the store they enter (one comparison, see
//! `store.rs`). As raw words (host function parameters and results, [`Func::call_raw`],
//! [`crate::Store::val_from_raw`]) they are bare addresses, so a non-null raw `funcref` or
//! `exnref` coming from the host is accepted only if it is one of the store's own: a search of
//! its funcrefs or exceptions, paid only by reference-typed values.

use crate::error::{Error, TrapError};
use crate::exceptions::ExnRef;
use crate::gc::AnyRef;
use crate::instance::InstanceData;
use crate::store::{Store, StoreId, StoreInner, StoreItem, Stored};
use crate::traps::{self, Unwind};
use crate::types;
use std::ptr::NonNull;
use wasic_abi::vmctx::{VMContext, VMFuncRef, VMHostContext, HOST_MAGIC};
use wasic_abi::{FuncType, HeapType, RefType, Trap, ValRaw, ValType};

/// A function of a store: its `VMFuncRef` there and its canonical type id, which never changes
/// and is kept in the handle so that [`Func::ty`] needs no store. Using it with another store
/// than its own is an error (see `store.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func {
    r: Stored<VMFuncRef>,
    type_id: u32,
}

impl StoreItem for VMFuncRef {
    const WHAT: &'static str = "a Func";
}

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
    /// A host value carried through wasm as an opaque `externref` (at most
    /// `wasic_abi::gc::MAX_HOST_TOKEN`: 62 bits).
    ExternRef(Option<u64>),
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`, structs, arrays).
    /// Where an `externref` holds such a value (`extern.convert_any`), the host sees it as
    /// this too, and may pass it where an `externref` is expected: both hierarchies share one
    /// representation (`wasic_abi::gc`).
    AnyRef(Option<AnyRef>),
    /// An exception (`exnref`).
    ExnRef(Option<ExnRef>),
}

impl Val {
    /// The value's type: for a reference, the most precise one (a function's is `(ref $t)`
    /// with its canonical type id; a null's is nullable of its hierarchy's top).
    pub fn ty(&self) -> ValType {
        match self.ref_type() {
            Some(r) if r.nullable => ValType::Ref(r.top()),
            Some(r) => ValType::Ref(r),
            None => match self {
                Val::I32(_) => ValType::I32,
                Val::I64(_) => ValType::I64,
                Val::F32(_) => ValType::F32,
                Val::F64(_) => ValType::F64,
                _ => ValType::V128,
            },
        }
    }

    /// The exact type of a reference value: a null's is its hierarchy's bottom, `(ref null
    /// nofunc)` say, which is below every nullable type of the hierarchy.
    fn ref_type(&self) -> Option<RefType> {
        let (null, heap) = match self {
            Val::FuncRef(f) => (
                f.is_none(),
                f.map_or(HeapType::Func, |f| HeapType::Concrete(f.type_id)),
            ),
            Val::ExternRef(e) => (e.is_none(), HeapType::Extern),
            Val::ExnRef(e) => (e.is_none(), HeapType::Exn),
            Val::AnyRef(a) => (a.is_none(), a.map_or(HeapType::Any, |a| a.heap_type())),
            _ => return None,
        };
        Some(if null {
            RefType::null(heap.bottom())
        } else {
            RefType {
                nullable: false,
                heap,
            }
        })
    }

    /// Whether this value is of type `ty` (concrete types as canonical ids): a reference
    /// matches every supertype of its own type, a null every nullable type of its hierarchy.
    pub fn matches(&self, ty: ValType) -> bool {
        match (self.ref_type(), ty) {
            (Some(own), ValType::Ref(r))
                if matches!(self, Val::AnyRef(Some(_))) && r.heap.top() == HeapType::Extern =>
            {
                own.nullable || r.heap == HeapType::Extern
            }
            (Some(own), ValType::Ref(r)) => types::ref_is_subtype(own, r),
            (Some(_), _) => false,
            (None, t) => self.ty() == t,
        }
    }

    /// The raw form compiled code works with. A reference's raw form is an address that means
    /// something only in the reference's own store (where it enters a store, it is checked).
    /// A host value keeps only its low 62 bits here; calls and the other checked ways in
    /// refuse a larger one instead.
    pub fn to_raw(&self) -> ValRaw {
        match *self {
            Val::I32(v) => ValRaw::from_i32(v),
            Val::I64(v) => ValRaw::from_i64(v),
            Val::F32(v) => ValRaw::from_u32(v),
            Val::F64(v) => ValRaw::from_u64(v),
            Val::V128(v) => ValRaw::from_u128(v),
            Val::FuncRef(f) => ValRaw::from_usize(f.map_or(0, |f| f.as_ptr() as usize)),
            Val::ExternRef(e) => ValRaw::from_u64(e.map_or(0, wasic_abi::gc::host_word)),
            Val::ExnRef(e) => ValRaw::from_usize(e.map_or(0, |e| e.as_ptr() as usize)),
            Val::AnyRef(a) => ValRaw::from_u64(a.map_or(0, |a| a.word())),
        }
    }

    /// The raw form, for `store`: a usage error if the value is a reference of another store.
    pub(crate) fn to_raw_in(self, store: &StoreInner) -> Result<ValRaw, Error> {
        match self {
            Val::FuncRef(Some(f)) => f.r.check(store)?,
            Val::ExnRef(Some(e)) => e.stored().check(store)?,
            Val::AnyRef(Some(AnyRef::Object(o))) => o.stored().check(store)?,
            Val::ExternRef(Some(t)) | Val::AnyRef(Some(AnyRef::Host(t)))
                if t > wasic_abi::gc::MAX_HOST_TOKEN =>
            {
                return Err(Error::Usage(format!(
                    "host value {t:#x} too large for an externref (at most 62 bits)"
                )))
            }
            _ => {}
        }
        Ok(self.to_raw())
    }

    /// The value of type `ty` whose raw form is `raw`. Exceptions are pinned: the host may
    /// keep them anywhere.
    ///
    /// # Safety
    /// `raw` must be a value of type `ty` of the live store `store`: produced by its compiled
    /// code or its tables and globals, or checked with [`StoreInner::owns_ref_word`].
    pub(crate) unsafe fn from_raw_unchecked(raw: ValRaw, ty: ValType, store: StoreId) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.as_i32()),
            ValType::I64 => Val::I64(raw.as_i64()),
            ValType::F32 => Val::F32(raw.as_u32()),
            ValType::F64 => Val::F64(raw.as_u64()),
            ValType::V128 => Val::V128(raw.as_u128()),
            ValType::Ref(r) => match r.heap.top() {
                HeapType::Func => Val::FuncRef(
                    NonNull::new(raw.as_usize() as *mut VMFuncRef)
                        // SAFETY: a funcref of `store` (the caller's guarantee).
                        .map(|p| unsafe { Func::from_stored(Stored::new(store, p)) }),
                ),
                HeapType::Exn => Val::ExnRef(
                    NonNull::new(raw.as_usize() as *mut ValRaw)
                        // SAFETY: an exception of `store` (the caller's guarantee).
                        .map(|p| unsafe { ExnRef::pinned(Stored::new(store, p)) }),
                ),
                // `any` and `extern`: one encoding (`wasic_abi::gc`).
                top => match raw.as_u64() {
                    0 if top == HeapType::Extern => Val::ExternRef(None),
                    0 => Val::AnyRef(None),
                    w if top == HeapType::Extern && w & 3 == wasic_abi::gc::HOST_TAG => {
                        Val::ExternRef(Some(w >> 2))
                    }
                    // SAFETY: an object's word is one of `store`'s (the caller's guarantee).
                    w => Val::AnyRef(Some(unsafe { AnyRef::from_word(w, store) })),
                },
            },
        }
    }

    /// The raw table-element word of a reference value.
    pub(crate) fn ref_word(&self) -> Option<usize> {
        match self {
            Val::FuncRef(_) | Val::ExternRef(_) | Val::ExnRef(_) | Val::AnyRef(_) => {
                Some(self.to_raw().as_usize())
            }
            _ => None,
        }
    }
}

impl StoreInner {
    /// Whether `word` is a valid raw value of type `ty` for this store: always for types whose
    /// raw form is plain bits, and for funcrefs and exnrefs when null or one of the store's own.
    pub(crate) fn owns_ref_word(&self, word: usize, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else {
            return true;
        };
        if word == 0 {
            return r.nullable;
        }
        match r.heap {
            HeapType::Func | HeapType::Concrete(_) => {
                let owned = self
                    .host_funcs
                    .iter()
                    .any(|h| std::ptr::addr_of!(h.funcref) as usize == word)
                    || self.funcref_arrays.iter().any(|r| {
                        r.contains(&word) && (word - r.start).is_multiple_of(size_of::<VMFuncRef>())
                    });
                // A typed funcref is called without a signature check (`call_ref`): its type
                // must be exactly the one claimed.
                owned
                    && match r.heap {
                        // SAFETY: `word` is one of this store's live funcrefs (just checked).
                        HeapType::Concrete(id) => unsafe {
                            (*(word as *const VMFuncRef)).type_id == id
                        },
                        _ => true,
                    }
            }
            HeapType::Exn => self.exceptions.contains(word),
            heap if heap.top() == HeapType::Any || heap.top() == HeapType::Extern => {
                // The word's own type, which must be below the one claimed.
                let own = if word & wasic_abi::gc::I31_TAG as usize != 0 {
                    HeapType::I31
                } else if word & 3 == wasic_abi::gc::HOST_TAG as usize {
                    HeapType::Any
                } else if self.is_gc_object(word) {
                    // SAFETY: an object of this store's heap (just checked).
                    let (id, words) = unsafe { crate::gc::header_of(word) };
                    if words & wasic_abi::gc::ARRAY_BIT != 0 {
                        HeapType::ConcreteArray(id)
                    } else {
                        HeapType::ConcreteStruct(id)
                    }
                } else {
                    return false;
                };
                heap == HeapType::Extern
                    || heap.top() == HeapType::Any && own.is_subtype_with(heap, &types::is_subtype)
            }
            // Bottom types hold only null.
            _ => false,
        }
    }

    /// [`crate::Store::val_from_raw`].
    pub(crate) fn val_from_raw(&mut self, raw: ValRaw, ty: ValType) -> Result<Val, Error> {
        if !self.owns_ref_word(raw.as_usize(), ty) {
            return Err(Error::Usage(format!(
                "raw {ty} {:#x} is not a reference of this store (of that type)",
                raw.as_usize()
            )));
        }
        // SAFETY: checked just above; `self` is alive.
        Ok(unsafe { Val::from_raw_unchecked(raw, ty, self.id) })
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
    /// The store owning this function (boxed there, so it outlives the function).
    store: *mut StoreInner,
    /// Whether a result is a funcref or exnref: raw words from the callback, checked on return.
    ref_results: bool,
    callback: HostCallback,
}

impl HostFunc {
    /// Checks the reference results the callback wrote against `store`, the function's own.
    fn check_results(&self, store: &StoreInner, values: &[ValRaw]) -> Result<(), String> {
        if !self.ref_results {
            return Ok(());
        }
        for (i, (t, v)) in self.ty.results.iter().zip(values).enumerate() {
            if !store.owns_ref_word(v.as_usize(), *t) {
                return Err(format!(
                    "host function returned a {t} (result {i}) that is not a reference of its store (of that type)"
                ));
            }
        }
        Ok(())
    }
}

/// What a host function sees of its caller.
pub struct Caller<'a> {
    pub(crate) instance: Option<&'a mut InstanceData>,
    /// The store the host function runs in.
    store: *mut StoreInner,
}

impl Caller<'_> {
    /// Memory 0 of the calling instance (empty when it has none or the host called directly).
    ///
    /// # Panics
    /// If memory 0 is shared: other threads may write it meanwhile, so no `&mut [u8]` of it
    /// can exist soundly; [`Self::memory_view`] is the way to reach it.
    pub fn memory(&mut self) -> &mut [u8] {
        match &mut self.instance {
            Some(inst) => {
                assert!(
                    !inst.memory0_is_shared(),
                    "Caller::memory on a shared memory: use Caller::memory_view"
                );
                inst.memory0_data()
            }
            None => &mut [],
        }
    }

    /// Memory 0 of the calling instance, shared or not, as a view that copies in and out
    /// through raw pointers (what WASI uses).
    pub fn memory_view(&mut self) -> crate::wasi::GuestMemory<'_> {
        match &mut self.instance {
            // SAFETY: memory 0 stays mapped while its instance lives (this borrow), and the
            // view never makes references to its bytes.
            Some(inst) => {
                let (base, len) = inst.memory0_raw();
                unsafe { crate::wasi::GuestMemory::from_raw(base, len) }
            }
            None => crate::wasi::GuestMemory::new(&mut []),
        }
    }

    /// As [`crate::Store::val_from_raw`], in the store the host function runs in: how a host
    /// function turns its raw parameters into [`Val`]s.
    pub fn val_from_raw(&mut self, raw: ValRaw, ty: ValType) -> Result<Val, Error> {
        // SAFETY: the store owns the running host function, so it is alive, and nothing else
        // uses it meanwhile (the call that entered wasm is suspended below us; `self` is
        // borrowed mutably, so not even `memory`'s slice is live).
        unsafe { &mut *self.store }.val_from_raw(raw, ty)
    }
}

/// Entered by host adapters (C convention, through `traps::enter::host_function_entry`) when
/// wasm calls a host function.
pub(crate) unsafe extern "C" fn host_trampoline(
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
    let mut c = Caller {
        instance,
        store: host.store,
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (host.callback)(&mut c, values)
    }));
    match r {
        // SAFETY: the store owns this function, so it is alive; it is only read.
        Ok(Ok(())) => host
            .check_results(unsafe { &*host.store }, values)
            .map_err(Unwind::Host),
        Ok(Err(HostError::Trap(t))) => Err(Unwind::Trap(traps::TrapRecord::new(t))),
        Ok(Err(HostError::Exit(code))) => Err(Unwind::Exit(code)),
        Ok(Err(HostError::Message(m))) => Err(Unwind::Host(m)),
        Err(_) => Err(Unwind::Host("host function panicked".into())),
    }
}

impl Func {
    /// Defines a host function in `store`. The callback gets raw values (see
    /// [`Caller::val_from_raw`]); a funcref or exnref it returns must be one of the store's
    /// own, or the call fails.
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
        // Every reference result is checked: funcrefs and exnrefs must be the store's own, of
        // the type claimed, and non-nullable ones not null.
        let ref_results = ty.results.iter().any(|t| t.is_ref());
        let mut h = Box::new(HostFunc {
            header: VMHostContext {
                magic: HOST_MAGIC,
                func: traps::enter::host_function_entry,
            },
            funcref: VMFuncRef {
                func_ptr: adapter,
                vmctx: std::ptr::null_mut(),
                type_id,
                _pad: 0,
            },
            ty,
            store: &mut *store.inner,
            ref_results,
            callback: Box::new(callback),
        });
        h.funcref.vmctx = &mut *h as *mut HostFunc as *mut VMContext;
        store.inner.host_funcs.push(h);
        let funcref = NonNull::from(&store.inner.host_funcs.last().expect("just pushed").funcref);
        // SAFETY: the funcref is boxed in this store's `host_funcs`, for the store's life.
        unsafe { Func::from_stored(Stored::new(store.inner.id, funcref)) }
    }

    /// The handle of a funcref.
    ///
    /// # Safety
    /// `r` must satisfy [`Stored`]'s invariant and its store must be alive.
    pub(crate) unsafe fn from_stored(r: Stored<VMFuncRef>) -> Func {
        // SAFETY: the funcref is live (the caller's guarantee).
        let type_id = unsafe { (*r.as_ptr()).type_id };
        Func { r, type_id }
    }

    pub fn type_id(&self) -> u32 {
        self.type_id
    }

    pub fn ty(&self) -> FuncType {
        types::type_of(self.type_id).unwrap_or_default()
    }

    /// The funcref's address: the function's raw value for compiled code.
    pub(crate) fn as_ptr(&self) -> *const VMFuncRef {
        self.r.as_ptr()
    }

    pub(crate) fn belongs_to(&self, store: &StoreInner) -> bool {
        self.r.belongs_to(store)
    }

    /// Calls the function with `args`, returning its results or the trap / exit that ended it.
    pub fn call(&self, store: &mut Store, args: &[Val]) -> Result<Vec<Val>, Error> {
        self.r.check(&store.inner)?;
        let ty = self.ty();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| !a.matches(*t))
        {
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
            *v = a.to_raw_in(&store.inner)?;
        }
        self.call_unchecked(&mut *store.inner, &mut values)?;
        let id = store.inner.id;
        Ok(ty
            .results
            .iter()
            .zip(&values)
            // SAFETY: results of this store's function, of its types (a host function's
            // references were checked by `call_unchecked`).
            .map(|(t, v)| unsafe { Val::from_raw_unchecked(*v, *t, id) })
            .collect())
    }

    /// Calls with raw values: parameters in, results out, `values.len() >= max(params, results)`.
    /// A non-null funcref or exnref parameter must be one of the store's own.
    pub fn call_raw(&self, store: &mut Store, values: &mut [ValRaw]) -> Result<(), Error> {
        self.r.check(&store.inner)?;
        let ty = self.ty();
        let cells = ty.params.len().max(ty.results.len());
        if values.len() < cells {
            return Err(Error::Usage(format!(
                "{ty} needs {cells} value cells, got {}",
                values.len()
            )));
        }
        for (i, (t, v)) in ty.params.iter().zip(values.iter()).enumerate() {
            if !store.inner.owns_ref_word(v.as_usize(), *t) {
                return Err(Error::Usage(format!(
                    "argument {i} ({t}) is not a reference of this store (of that type)"
                )));
            }
        }
        self.call_unchecked(&mut *store.inner, values)
    }

    /// Calls a function of `store` with checked arguments in `values`, which has room for all
    /// parameters and results.
    ///
    /// The store is a raw pointer, and references to it live only before and after the call
    /// into wasm: host functions that wasm calls change the store through their own pointer
    /// (`HostFunc::store`), which a `&mut StoreInner` held across the call would forbid.
    fn call_unchecked(&self, store: *mut StoreInner, values: &mut [ValRaw]) -> Result<(), Error> {
        // SAFETY: `store` comes from the caller's `&mut Store`; no other reference to it is live.
        let inner = unsafe { &mut *store };
        let funcref = self.r.get(inner);
        let (func_ptr, vmctx) = (funcref.func_ptr, funcref.vmctx);
        // SAFETY: a funcref's vmctx is null, a live host context or a live instance's; the
        // magic tells host contexts from instances.
        let host = (!vmctx.is_null() && unsafe { *(vmctx as *const u64) } == HOST_MAGIC)
            .then_some(vmctx as *const HostFunc);
        if let Some(h) = host {
            // SAFETY: a host context is the HostFunc boxed in this store's `host_funcs`.
            let h = unsafe { &*h };
            let mut c = Caller {
                instance: None,
                store: inner,
            };
            return match (h.callback)(&mut c, values) {
                Ok(()) => h.check_results(inner, values).map_err(Error::Host),
                Err(HostError::Trap(t)) => Err(Error::Trap(Box::new(TrapError {
                    trap: t,
                    frames: vec![],
                    memory_fault: None,
                }))),
                Err(HostError::Exit(c)) => Err(Error::Exit(c)),
                Err(HostError::Message(m)) => Err(Error::Host(m)),
            };
        }
        let Some(tramp) = inner.trampolines.get(&self.type_id).copied() else {
            return Err(Error::Usage(format!(
                "no trampoline for {} in this store",
                self.ty()
            )));
        };
        let (limits, max_stack) = (inner.limits_ptr(), inner.config.max_wasm_stack);
        // SAFETY: a wasm funcref of this store: its func_ptr has this type, its vmctx is a live
        // instance, and the arguments were checked by the caller.
        let r = unsafe {
            traps::catch_traps(
                limits,
                max_stack,
                tramp,
                vmctx as *mut u8,
                vmctx as *mut u8,
                func_ptr,
                values.as_mut_ptr(),
            )
        };
        // SAFETY: as above; the call has returned, nothing else refers to the store now.
        let inner = unsafe { &*store };
        if inner.gc.is_used() {
            traps::stack::scrub();
        }
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
