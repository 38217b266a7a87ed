//! The store: owner of everything instances are made of (memories, tables, globals, instances,
//! host functions, tags, exceptions) and of the limits compiled code checks. Handles such as [`crate::Func`] or
//! [`crate::Memory`] point into a store and are valid for as long as it lives; everything is
//! freed together when the store is dropped, which is what lets funcrefs flow freely between
//! instances and tables without reference counting on the hot path.

use crate::func::HostFunc;
use crate::instance::InstanceData;
use crate::memory::LinearMemory;
use crate::module::Module;
use crate::table::Table;
use std::collections::HashMap;
use std::sync::Arc;
use wasic_abi::vmctx::{VMGlobal, VMLimits, VMTag};
use wasic_abi::GlobalType;

/// Embedder-set limits.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Most native stack bytes wasm may use below the point where the host called it.
    pub max_wasm_stack: usize,
    /// Most bytes any one linear memory may have; also the most bytes the store's exception
    /// objects may take together.
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

pub(crate) struct GlobalData {
    pub vm: VMGlobal,
    pub ty: GlobalType,
}

// Boxed items: compiled code holds raw pointers to them, so their addresses must not move when
// the vectors grow.
#[allow(clippy::vec_box)]
#[derive(Default)]
pub(crate) struct StoreInner {
    pub limits: VMLimits,
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
    /// The exception objects (see `exceptions.rs`).
    pub exceptions: crate::exceptions::ExceptionHeap,
    /// Array trampoline for each canonical type id, from any registered module.
    pub trampolines: HashMap<u32, *const u8>,
    /// Host adapter for each canonical type id, from any registered module.
    pub adapters: HashMap<u32, *const u8>,
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

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Number of exception objects the store currently holds (unreachable ones are reclaimed
    /// from time to time, see `exceptions.rs`).
    pub fn num_exceptions(&self) -> usize {
        self.inner.exceptions.len()
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
