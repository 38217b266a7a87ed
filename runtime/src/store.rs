//! The store: owner of everything instances are made of (memories, tables, globals, instances,
//! host functions, tags, exceptions) and of the limits compiled code checks. Everything is freed
//! together when the store is dropped, which is what lets funcrefs flow freely between instances
//! and tables without reference counting on the hot path.
//!
//! Handles ([`crate::Func`], [`crate::Memory`], [`crate::Table`], [`crate::Global`],
//! [`crate::Tag`], [`crate::ExnRef`]) are `Stored` items: the process-unique `StoreId` of
//! their store and the address of the item in it. The address is dereferenced only after the
//! id has been compared with the store the caller passes in, so a handle used with another
//! store, or kept after its store was dropped (ids are never reused), is refused instead of
//! reaching freed or foreign memory. As in wasmtime (`Stored<T>` and `StoreId`), the check is
//! one comparison; compiled code never goes through handles and never pays for it.

use crate::func::HostFunc;
use crate::instance::InstanceData;
use crate::memory::LinearMemory;
use crate::module::Module;
use crate::table::Table;
use rustc_hash::FxHashMap;
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wasic_abi::vmctx::{VMGlobal, VMLimits, VMTag};
use wasic_abi::GlobalType;

/// Embedder-set limits.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Most native stack bytes wasm may use below the point where the host called it.
    pub max_wasm_stack: usize,
    /// Most bytes any one linear memory may have; also the most bytes the store's exception
    /// objects may take together, and its GC heap (`gc.rs`).
    pub max_memory: Option<u64>,
    /// Most elements all tables of the store may hold together (wasmtime's
    /// `max-table-elements` bounds each table alone; a total also bounds a guest making many
    /// tables); `None`: only each table's own maximum and the built-in cap.
    pub max_table_elements: Option<u64>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_wasm_stack: 1 << 20,
            max_memory: None,
            max_table_elements: None,
        }
    }
}

/// The identity of a store, unique in the process for its whole life: a handle of a dropped
/// store never matches a store made later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(NonZeroU64);

impl StoreId {
    fn allocate() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, the counter publishes nothing else.
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        // 2^63 stores is beyond reach (one per nanosecond for 292 years); wrapping would break
        // uniqueness, so stop there.
        assert!(id < 1 << 63, "store id counter exhausted");
        StoreId(NonZeroU64::new(id).expect("ids start at 1"))
    }
}

/// Each default-made [`StoreInner`] is a new store: it gets a new id.
impl Default for StoreId {
    fn default() -> Self {
        StoreId::allocate()
    }
}

/// What a kind of store item is called in the message of a wrong-store use.
pub(crate) trait StoreItem {
    const WHAT: &'static str;
}

/// A handle's view of a store item: its store's id and its address in that store (items are
/// boxed, so the address is stable). The address is only read through [`Stored::get`] and
/// [`Stored::get_mut`], which check the store first.
///
/// Invariant (kept by every constructor, all crate-private): `ptr` points at an item owned by
/// the store whose id is `store`, and stays valid for as long as that store lives.
pub(crate) struct Stored<T> {
    store: StoreId,
    ptr: NonNull<T>,
}

impl<T> Clone for Stored<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Stored<T> {}
impl<T> PartialEq for Stored<T> {
    fn eq(&self, other: &Self) -> bool {
        self.store == other.store && self.ptr == other.ptr
    }
}
impl<T> Eq for Stored<T> {}
impl<T> std::fmt::Debug for Stored<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store {} @ {:p}", self.store.0, self.ptr)
    }
}

impl<T: StoreItem> Stored<T> {
    /// A handle of `item`.
    ///
    /// # Safety
    /// `item` must be owned by the store `store` and live as long as it (the invariant above).
    pub(crate) unsafe fn new(store: StoreId, item: NonNull<T>) -> Stored<T> {
        Stored { store, ptr: item }
    }

    /// The address, for compiled code and the store's own tables (never dereferenced here).
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    pub(crate) fn belongs_to(&self, store: &StoreInner) -> bool {
        self.store == store.id
    }

    /// `Err` (a usage error) unless the item belongs to `store`.
    pub(crate) fn check(&self, store: &StoreInner) -> Result<(), crate::Error> {
        if self.belongs_to(store) {
            Ok(())
        } else {
            Err(crate::Error::Usage(wrong_store_message(T::WHAT)))
        }
    }

    /// The item, if it belongs to `store`; panics otherwise.
    #[inline]
    #[track_caller]
    pub(crate) fn get<'a>(&self, store: &'a StoreInner) -> &'a T {
        if !self.belongs_to(store) {
            wrong_store(T::WHAT)
        }
        // SAFETY: by the invariant, the item lives in `store`, which is borrowed for 'a.
        unsafe { self.ptr.as_ref() }
    }

    /// The item, mutably, if it belongs to `store`; panics otherwise.
    #[inline]
    #[track_caller]
    pub(crate) fn get_mut<'a>(&self, store: &'a mut StoreInner) -> &'a mut T {
        if !self.belongs_to(store) {
            wrong_store(T::WHAT)
        }
        // SAFETY: as in `get`, and `store` is borrowed mutably, so nothing else of it is.
        unsafe { &mut *self.ptr.as_ptr() }
    }
}

fn wrong_store_message(what: &str) -> String {
    format!(
        "{what} used with a store it does not belong to (another store, or its own was dropped)"
    )
}

#[cold]
#[track_caller]
fn wrong_store(what: &str) -> ! {
    panic!("{}", wrong_store_message(what))
}

pub(crate) struct GlobalData {
    pub vm: VMGlobal,
    pub ty: GlobalType,
}

// Boxed items: compiled code holds raw pointers to them, so their addresses must not move when
// the vectors grow.
#[allow(clippy::vec_box)]
#[derive(Default)]
pub(crate) struct StoreInner {
    /// What this store's handles carry (see [`Stored`]).
    pub id: StoreId,
    /// The limits compiled code reads through its VMContext (`VMContext::limits`) while the
    /// runtime changes them around each entry into wasm (`traps::catch_traps`). Behind an
    /// `UnsafeCell` on the heap and only ever reached through [`StoreInner::limits_ptr`]:
    /// with a plain field, the `&mut StoreInner` held across the entry let the optimizer
    /// assume compiled code could not read the stack limit just written, and drop that write
    /// (seen with the runtime library built `panic = "abort"`: host code then ran into the
    /// stack guard).
    limits: Box<std::cell::UnsafeCell<VMLimits>>,
    pub config: StoreConfig,
    pub modules: Vec<Arc<Module>>,
    pub instances: Vec<Box<InstanceData>>,
    pub memories: Vec<Box<LinearMemory>>,
    pub tables: Vec<Box<Table>>,
    /// Elements of all `tables` together, against `config.max_table_elements` (`table.rs`).
    pub table_elements: u64,
    pub globals: Vec<Box<GlobalData>>,
    pub host_funcs: Vec<Box<HostFunc>>,
    pub tags: Vec<Box<VMTag>>,
    /// Address ranges of the `VMFuncRef` arrays of the instances' defined functions: with
    /// `host_funcs`, every funcref of the store (to tell raw funcrefs from the host apart).
    pub funcref_arrays: Vec<std::ops::Range<usize>>,
    /// The exception objects (see `exceptions.rs`).
    pub exceptions: crate::exceptions::ExceptionHeap,
    /// The GC heap (see `gc.rs`).
    pub gc: crate::gc::GcHeap,
    /// Array trampoline for each canonical type id, from any registered module. Keyed by ids
    /// the runtime hands out itself, so a fast hasher needs no random seed (std's costs a
    /// `getrandom` call and SipHash at every start).
    pub trampolines: FxHashMap<u32, *const u8>,
    /// Host adapter for each canonical type id, from any registered module.
    pub adapters: FxHashMap<u32, *const u8>,
}

impl StoreInner {
    /// Where this store's limits are: the pointer compiled code and the runtime share.
    pub fn limits_ptr(&self) -> *mut VMLimits {
        self.limits.get()
    }
}

/// Owns instances and everything they use. Not shared between threads.
pub struct Store {
    pub(crate) inner: Box<StoreInner>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(StoreConfig::default())
    }
}

impl Store {
    pub fn new(config: StoreConfig) -> Store {
        Store {
            inner: Box::new(StoreInner {
                config,
                ..Default::default()
            }),
        }
    }

    /// The value of type `ty` whose raw form is `raw` (as compiled code passes values: to host
    /// functions, out of [`crate::Func::call_raw`]). A non-null `funcref` or `exnref` must be one
    /// of this store's; anything else is a usage error.
    pub fn val_from_raw(
        &mut self,
        raw: wasic_abi::ValRaw,
        ty: wasic_abi::ValType,
    ) -> Result<crate::Val, crate::Error> {
        self.inner.val_from_raw(raw, ty)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Number of exception objects the store currently holds (unreachable ones are reclaimed
    /// from time to time, see `exceptions.rs`).
    pub fn num_exceptions(&self) -> usize {
        self.inner.exceptions.len()
    }

    /// How many garbage collections the store's GC heap has run (see `gc.rs`).
    pub fn gc_collections(&self) -> u64 {
        self.inner.gc.collections()
    }

    /// Bytes of the GC heap in use (objects and the free runs between them).
    pub fn gc_heap_bytes(&self) -> u64 {
        self.inner.gc.used_bytes()
    }

    /// Makes the module's trampolines and adapters available to calls in this store.
    pub(crate) fn register_module(&mut self, module: &Arc<Module>) {
        let inner = &mut *self.inner;
        if inner.modules.iter().any(|m| Arc::ptr_eq(m, module)) {
            return;
        }
        for (i, id) in module.type_ids().iter().enumerate() {
            inner
                .trampolines
                .entry(*id)
                .or_insert_with(|| module.array_trampoline(i as u32));
            inner
                .adapters
                .entry(*id)
                .or_insert_with(|| module.host_adapter(i as u32));
        }
        for h in inner.host_funcs.iter_mut() {
            if h.funcref.func_ptr.is_null() {
                if let Some(a) = inner.adapters.get(&h.funcref.type_id) {
                    h.funcref.func_ptr = *a;
                }
            }
        }
        inner.modules.push(module.clone());
    }
}
