//! Instantiation: building a `VMContext` for a module from its imports, running its element and
//! data segments and its start function, and the handles ([`Instance`], [`Extern`], [`Memory`],
//! [`Table`], [`Global`]) through which the host reaches what an instance exports.

use crate::error::Error;
use crate::exceptions::Tag;
use crate::func::{unwind_to_error, Func, Val};
use crate::memory::{LinearMemory, SharedMemory};
use crate::module::Module;
use crate::store::{GlobalData, Store, StoreId, StoreInner, StoreItem, Stored};
use crate::table::Table as TableData;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use wasic_abi::meta::{ConstExpr, ConstOp, DataKind, ElemKind, ExternKind, ImportKind};
use wasic_abi::vmctx::{
    VMContext, VMFuncRef, VMGlobal, VMMemory, VMOffsets, VMTable, VMTag, VMCTX_MAGIC,
};
use wasic_abi::{
    Composite, GlobalType, HeapType, MemoryType, RefType, TableType, Trap, ValRaw, ValType,
};

/// A linear memory of a store. Its methods panic, or return a usage error where they return a
/// `Result`, when given another store than its own (see `store.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory(pub(crate) Stored<LinearMemory>);
/// A table of a store (checked like [`Memory`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table(pub(crate) Stored<TableData>);
/// A global of a store (checked like [`Memory`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global(pub(crate) Stored<GlobalData>);

impl StoreItem for LinearMemory {
    const WHAT: &'static str = "a Memory";
}
impl StoreItem for TableData {
    const WHAT: &'static str = "a Table";
}
impl StoreItem for GlobalData {
    const WHAT: &'static str = "a Global";
}

/// Something an instance imports or exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Table(Table),
    Memory(Memory),
    Global(Global),
    Tag(Tag),
}

impl Extern {
    pub fn kind(&self) -> ExternKind {
        match self {
            Extern::Func(_) => ExternKind::Func,
            Extern::Table(_) => ExternKind::Table,
            Extern::Memory(_) => ExternKind::Memory,
            Extern::Global(_) => ExternKind::Global,
            Extern::Tag(_) => ExternKind::Tag,
        }
    }

    pub(crate) fn belongs_to(&self, store: &StoreInner) -> bool {
        match self {
            Extern::Func(f) => f.belongs_to(store),
            Extern::Table(t) => t.0.belongs_to(store),
            Extern::Memory(m) => m.0.belongs_to(store),
            Extern::Global(g) => g.0.belongs_to(store),
            Extern::Tag(t) => t.belongs_to(store),
        }
    }
}

/// Moves `item` into the store's `list` and returns its address there, stable for the store's
/// life (items are boxed).
fn keep<T>(list: &mut Vec<Box<T>>, item: Box<T>) -> NonNull<T> {
    list.push(item);
    NonNull::from(&mut **list.last_mut().expect("just pushed"))
}

/// The word a table of element type `elem` stores for `v`, which must be a reference of that
/// type and of `store`.
fn table_word(store: &StoreInner, elem: RefType, v: &Val, what: &str) -> Result<usize, Error> {
    let elem = ValType::from(elem);
    if !v.matches(elem) {
        return Err(Error::Usage(format!(
            "{what} of type {} for a table of {elem}",
            v.ty()
        )));
    }
    v.to_raw_in(store)?;
    v.ref_word()
        .ok_or_else(|| Error::Usage(format!("{what} must be a reference")))
}

const SHARED_DATA: &str = "Memory::data of a shared memory: other threads may write it; \
     copy with SharedMemory::read/write (Memory::shared)";

impl Memory {
    pub fn new(store: &mut Store, ty: MemoryType) -> Result<Memory, Error> {
        let m = Box::new(
            LinearMemory::new(ty, store.inner.config.max_memory)
                .map_err(|e| Error::Resource(e.to_string()))?,
        );
        let p = keep(&mut store.inner.memories, m);
        // SAFETY: boxed in this store's `memories`, for the store's life.
        Ok(Memory(unsafe { Stored::new(store.inner.id, p) }))
    }
    /// This store's handle of shared memory `shared` (which other stores may use at the same
    /// time, on other threads): importing it shares the bytes, the length and `memory.grow`.
    /// Its size limit is the one it was made with, not this store's `max_memory`.
    pub fn from_shared(store: &mut Store, shared: &SharedMemory) -> Memory {
        let p = keep(
            &mut store.inner.memories,
            Box::new(LinearMemory::from_shared(shared)),
        );
        // SAFETY: boxed in this store's `memories`, for the store's life.
        Memory(unsafe { Stored::new(store.inner.id, p) })
    }
    /// The memory as a [`SharedMemory`] other stores can import, if its type is shared.
    #[track_caller]
    pub fn shared(&self, store: &Store) -> Option<SharedMemory> {
        self.0.get(&store.inner).shared()
    }
    /// The memory's bytes.
    ///
    /// # Panics
    /// If the memory is shared: other threads may write it meanwhile, so no reference to its
    /// bytes can exist soundly; [`SharedMemory::read`] and [`SharedMemory::write`] copy.
    #[track_caller]
    pub fn data<'a>(&self, store: &'a Store) -> &'a [u8] {
        let m = self.0.get(&store.inner);
        assert!(!m.declared_type().shared, "{SHARED_DATA}");
        m.data()
    }
    /// As [`Self::data`].
    #[track_caller]
    pub fn data_mut<'a>(&self, store: &'a mut Store) -> &'a mut [u8] {
        let m = self.0.get_mut(&mut store.inner);
        assert!(!m.declared_type().shared, "{SHARED_DATA}");
        m.data_mut()
    }
    #[track_caller]
    pub fn pages(&self, store: &Store) -> u64 {
        self.0.get(&store.inner).pages()
    }
    #[track_caller]
    pub fn grow(&self, store: &mut Store, delta: u64) -> Option<u64> {
        self.0.get_mut(&mut store.inner).grow(delta)
    }
    #[track_caller]
    pub fn ty(&self, store: &Store) -> MemoryType {
        self.0.get(&store.inner).ty()
    }
}

impl Table {
    pub fn new(store: &mut Store, ty: TableType, init: Val) -> Result<Table, Error> {
        let word = table_word(&store.inner, ty.elem, &init, "table initializer")?;
        let p = store.inner.new_table(ty, word)?;
        // SAFETY: `new_table` boxed it in this store's `tables`, for the store's life.
        Ok(Table(unsafe {
            Stored::new(store.inner.id, NonNull::new_unchecked(p))
        }))
    }
    #[track_caller]
    pub fn ty(&self, store: &Store) -> TableType {
        self.0.get(&store.inner).ty()
    }
    #[track_caller]
    pub fn size(&self, store: &Store) -> u64 {
        self.0.get(&store.inner).size()
    }
    #[track_caller]
    pub fn get(&self, store: &Store, i: u64) -> Option<Val> {
        let t = self.0.get(&store.inner);
        let w = t.get(i)?;
        // SAFETY: a table of this store holds references of its element type of this store.
        Some(unsafe {
            Val::from_raw_unchecked(ValRaw::from_usize(w), t.ty().elem.into(), store.inner.id)
        })
    }
    pub fn set(&self, store: &mut Store, i: u64, v: Val) -> Result<(), Error> {
        self.0.check(&store.inner)?;
        let elem = self.0.get(&store.inner).declared_type().elem;
        let w = table_word(&store.inner, elem, &v, "table element")?;
        if self.0.get_mut(&mut store.inner).set(i, w) {
            Ok(())
        } else {
            Err(Error::Usage("table index out of bounds".into()))
        }
    }
}

impl Global {
    pub fn new(store: &mut Store, ty: GlobalType, v: Val) -> Result<Global, Error> {
        if !v.matches(ty.ty) {
            return Err(Error::Usage(format!(
                "global of type {} initialized with {}",
                ty.ty,
                v.ty()
            )));
        }
        let g = Box::new(GlobalData {
            vm: VMGlobal(v.to_raw_in(&store.inner)?),
            ty,
        });
        let p = keep(&mut store.inner.globals, g);
        // SAFETY: boxed in this store's `globals`, for the store's life.
        Ok(Global(unsafe { Stored::new(store.inner.id, p) }))
    }
    #[track_caller]
    pub fn ty(&self, store: &Store) -> GlobalType {
        self.0.get(&store.inner).ty
    }
    #[track_caller]
    pub fn get(&self, store: &Store) -> Val {
        let g = self.0.get(&store.inner);
        // SAFETY: a global of this store holds a value of its type of this store.
        unsafe { Val::from_raw_unchecked(g.vm.0, g.ty.ty, store.inner.id) }
    }
    pub fn set(&self, store: &mut Store, v: Val) -> Result<(), Error> {
        self.0.check(&store.inner)?;
        let raw = v.to_raw_in(&store.inner)?;
        let g = self.0.get_mut(&mut store.inner);
        if !g.ty.mutable || !v.matches(g.ty.ty) {
            return Err(Error::Usage(
                "cannot set an immutable global or with a wrong type".into(),
            ));
        }
        g.vm.0 = raw;
        Ok(())
    }
}

/// The runtime's side of an instance. Boxed in its store; `vmctx.instance` points back here.
pub(crate) struct InstanceData {
    pub module: Arc<Module>,
    /// 16-byte aligned storage of the VMContext (header and tail).
    vmctx: Box<[u128]>,
    /// VMFuncRefs of the defined functions.
    _defined_funcs: Box<[VMFuncRef]>,
    pub funcs: Vec<Func>,
    pub tables: Vec<*mut TableData>,
    pub memories: Vec<*mut LinearMemory>,
    pub globals: Vec<*mut GlobalData>,
    /// Every tag, imported first, and the number of payload values of each.
    pub tags: Vec<*const VMTag>,
    pub tag_payload_lens: Vec<u32>,
    /// The store owning this instance (for builtins that allocate in it).
    pub store: *mut StoreInner,
    /// Evaluated elements of each element segment; emptied by `elem.drop` (and after
    /// instantiation for active and declared segments).
    pub elems: Vec<Vec<usize>>,
    /// Whether each data segment was dropped.
    pub data_dropped: Vec<bool>,
}

impl InstanceData {
    pub fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr() as *mut VMContext
    }

    /// The instance behind a vmctx pointer passed to a builtin or host function.
    ///
    /// # Safety
    /// `vmctx` must be null, a host context, or the vmctx of a live instance.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> Option<&'a mut InstanceData> {
        if vmctx.is_null() || unsafe { (*vmctx).magic } != VMCTX_MAGIC {
            return None;
        }
        unsafe { ((*vmctx).instance as *mut InstanceData).as_mut() }
    }

    // Memories and tables are owned by the store, not by this instance: handing out `&mut`
    // from `&self` mirrors compiled code, which mutates them through the VMContext too.
    #[allow(clippy::mut_from_ref)]
    pub fn memory(&self, i: u32) -> &mut LinearMemory {
        let p = self.memories[i as usize];
        unsafe { &mut *p }
    }

    #[allow(clippy::mut_from_ref)]
    pub fn table(&self, i: u32) -> &mut TableData {
        let p = self.tables[i as usize];
        unsafe { &mut *p }
    }

    /// Base and current length of memory 0 (a dangling base and 0 without one).
    pub fn memory0_raw(&mut self) -> (*mut u8, usize) {
        match self.memories.first() {
            // SAFETY: the store owns the memory for the instance's life.
            Some(m) => unsafe { ((**m).base(), (**m).byte_len() as usize) },
            None => (std::ptr::NonNull::dangling().as_ptr(), 0),
        }
    }

    pub fn memory0_is_shared(&self) -> bool {
        // SAFETY: as in `memory0_raw`.
        self.memories
            .first()
            .is_some_and(|m| unsafe { (**m).declared_type().shared })
    }

    pub fn memory0_data(&mut self) -> &mut [u8] {
        match self.memories.first() {
            Some(m) => unsafe { (**m).data_mut() },
            None => &mut [],
        }
    }

    pub fn data_segment(&self, i: u32) -> &[u8] {
        if self.data_dropped[i as usize] {
            &[]
        } else {
            self.module.data_segment(i as usize)
        }
    }

    /// The handle of item `index` of kind `kind` (`None` if out of range).
    fn export(&self, store: StoreId, kind: ExternKind, index: u32) -> Option<Extern> {
        let i = index as usize;
        // SAFETY (all arms): the items of an instance of a live store are that store's
        // (imports were checked to be).
        Some(match kind {
            ExternKind::Func => Extern::Func(*self.funcs.get(i)?),
            ExternKind::Table => {
                let p = NonNull::new(*self.tables.get(i)?)?;
                Extern::Table(Table(unsafe { Stored::new(store, p) }))
            }
            ExternKind::Memory => {
                let p = NonNull::new(*self.memories.get(i)?)?;
                Extern::Memory(Memory(unsafe { Stored::new(store, p) }))
            }
            ExternKind::Global => {
                let p = NonNull::new(*self.globals.get(i)?)?;
                Extern::Global(Global(unsafe { Stored::new(store, p) }))
            }
            ExternKind::Tag => Extern::Tag(unsafe { Tag::from_ptr(store, *self.tags.get(i)?) }),
        })
    }

    /// Evaluates a constant expression of this instance; GC objects it makes are allocated
    /// in `store`, this instance's store.
    fn eval(&self, expr: &ConstExpr, store: &mut StoreInner) -> Result<ValRaw, Error> {
        let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
        let bad = || Error::Resource("malformed constant expression".into());
        let meta = self.module.meta();
        let ids = self.module.type_ids();
        let gc_trap = |t: Trap| {
            Error::Trap(Box::new(crate::error::TrapError {
                trap: t,
                frames: Vec::new(),
                memory_fault: None,
            }))
        };
        for op in &expr.0 {
            let v = match *op {
                ConstOp::RefI31 => {
                    let x = stack.pop().ok_or_else(bad)?.as_u32();
                    ValRaw::from_u64(u64::from((x << 1) | 1))
                }
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => {
                    stack.pop().ok_or_else(bad)?
                }
                ConstOp::StructNew(t) | ConstOp::StructNewDefault(t) => {
                    let Composite::Struct(fields) = &meta.subtype(t).composite else {
                        return Err(bad());
                    };
                    let layout = wasic_abi::gc::struct_layout(fields);
                    let values = if matches!(op, ConstOp::StructNew(_)) {
                        let at = stack.len().checked_sub(fields.len()).ok_or_else(bad)?;
                        stack.split_off(at)
                    } else {
                        vec![ValRaw::default(); fields.len()]
                    };
                    let id = *ids.get(t as usize).ok_or_else(bad)?;
                    let p = store
                        .gc_alloc_from_host(id, u64::from(layout.size), false)
                        .map_err(gc_trap)?;
                    for ((f, off), v) in fields.iter().zip(&layout.fields).zip(values) {
                        // SAFETY: the new object has room for its fields at their offsets.
                        unsafe { crate::gc::write_storage(p + *off as usize, f.storage, v) };
                    }
                    ValRaw::from_usize(p)
                }
                ConstOp::ArrayNew(t)
                | ConstOp::ArrayNewDefault(t)
                | ConstOp::ArrayNewFixed(t, _) => {
                    let Composite::Array(elem) = &meta.subtype(t).composite else {
                        return Err(bad());
                    };
                    let (len, values) = match *op {
                        ConstOp::ArrayNew(_) => {
                            let len = stack.pop().ok_or_else(bad)?.as_u32();
                            let v = stack.pop().ok_or_else(bad)?;
                            (len, vec![v])
                        }
                        ConstOp::ArrayNewDefault(_) => (
                            stack.pop().ok_or_else(bad)?.as_u32(),
                            vec![ValRaw::default()],
                        ),
                        _ => {
                            let ConstOp::ArrayNewFixed(_, n) = *op else {
                                unreachable!()
                            };
                            let at = stack.len().checked_sub(n as usize).ok_or_else(bad)?;
                            (n, stack.split_off(at))
                        }
                    };
                    let size = wasic_abi::gc::storage_size(elem.storage);
                    let bytes = wasic_abi::gc::array_bytes(size, len)
                        .ok_or(Trap::GcHeapOutOfMemory)
                        .map_err(gc_trap)?;
                    let id = *ids.get(t as usize).ok_or_else(bad)?;
                    let p = store.gc_alloc_from_host(id, bytes, true).map_err(gc_trap)?;
                    let data = p + wasic_abi::gc::ARRAY_DATA_OFFSET as usize;
                    // SAFETY: the new array has room for `len` elements.
                    unsafe {
                        *((p + wasic_abi::gc::ARRAY_LEN_OFFSET as usize) as *mut u32) = len;
                        for i in 0..len as usize {
                            let v = values
                                .get(i)
                                .or(values.first())
                                .copied()
                                .unwrap_or_default();
                            crate::gc::write_storage(data + i * size as usize, elem.storage, v);
                        }
                    }
                    ValRaw::from_usize(p)
                }
                ConstOp::I32Const(v) => ValRaw::from_i32(v),
                ConstOp::I64Const(v) => ValRaw::from_i64(v),
                ConstOp::F32Const(v) => ValRaw::from_u32(v),
                ConstOp::F64Const(v) => ValRaw::from_u64(v),
                ConstOp::V128Const(v) => ValRaw::from_u128(v),
                ConstOp::RefNull(_) => ValRaw::default(),
                ConstOp::RefFunc(i) => {
                    ValRaw::from_usize(self.funcs.get(i as usize).ok_or_else(bad)?.as_ptr() as usize)
                }
                ConstOp::GlobalGet(i) => unsafe {
                    (**self.globals.get(i as usize).ok_or_else(bad)?).vm.0
                },
                ConstOp::I32Add
                | ConstOp::I32Sub
                | ConstOp::I32Mul
                | ConstOp::I64Add
                | ConstOp::I64Sub
                | ConstOp::I64Mul => {
                    let b = stack.pop().ok_or_else(bad)?;
                    let a = stack.pop().ok_or_else(bad)?;
                    match op {
                        ConstOp::I32Add => ValRaw::from_i32(a.as_i32().wrapping_add(b.as_i32())),
                        ConstOp::I32Sub => ValRaw::from_i32(a.as_i32().wrapping_sub(b.as_i32())),
                        ConstOp::I32Mul => ValRaw::from_i32(a.as_i32().wrapping_mul(b.as_i32())),
                        ConstOp::I64Add => ValRaw::from_i64(a.as_i64().wrapping_add(b.as_i64())),
                        ConstOp::I64Sub => ValRaw::from_i64(a.as_i64().wrapping_sub(b.as_i64())),
                        _ => ValRaw::from_i64(a.as_i64().wrapping_mul(b.as_i64())),
                    }
                }
            };
            stack.push(v);
        }
        stack.pop().ok_or_else(bad)
    }
}

/// An instance of a module in a store. The handle keeps its module and the handles of its
/// exports, so looking exports up needs no store; the handles it gives out are checked against
/// the store they are used with, like any other.
#[derive(Clone)]
pub struct Instance(Rc<InstanceExports>);

struct InstanceExports {
    module: Arc<Module>,
    /// One per export of the module, in its order.
    exports: Box<[Extern]>,
    /// Only handed out, never dereferenced.
    vmctx: *const VMContext,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.0.module.meta().name)
            .field("vmctx", &self.0.vmctx)
            .finish_non_exhaustive()
    }
}

fn link_error(module: &str, name: &str, what: &str) -> Error {
    Error::Link(format!("{what}: `{module}`.`{name}`"))
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(m) => actual_max.is_some_and(|a| a <= m),
        }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the order of its import section.
    ///
    /// As the specification requires, segments are applied in order and the start function
    /// runs last; if one of them traps, the effects before it (on imported memories and
    /// tables) remain and the error is returned.
    pub fn new(
        store: &mut Store,
        module: &Arc<Module>,
        imports: &[Extern],
    ) -> Result<Instance, Error> {
        let meta = module.meta();
        if imports.len() != meta.imports.len() {
            return Err(Error::Link(format!(
                "expected {} imports, got {}",
                meta.imports.len(),
                imports.len()
            )));
        }
        for (imp, ext) in meta.imports.iter().zip(imports) {
            if !ext.belongs_to(&store.inner) {
                return Err(link_error(
                    &imp.module,
                    &imp.name,
                    "import of another store (or of a dropped one)",
                ));
            }
        }
        store.register_module(module);
        let offsets = meta.offsets();
        let mut funcs = Vec::with_capacity(meta.funcs.len());
        let mut tables = Vec::new();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        let mut tags = Vec::new();
        for (imp, ext) in meta.imports.iter().zip(imports) {
            let incompatible = || link_error(&imp.module, &imp.name, "incompatible import type");
            match (&imp.kind, ext) {
                (ImportKind::Func(t), Extern::Func(f)) => {
                    // A function of a declared subtype of the import's type matches.
                    if !crate::types::is_subtype(f.type_id(), module.type_ids()[*t as usize]) {
                        return Err(incompatible());
                    }
                    funcs.push(*f);
                }
                (ImportKind::Table(ty), Extern::Table(t)) => {
                    let aty = t.0.get(&store.inner).ty();
                    if aty.elem != crate::types::canonical_ref(ty.elem, module.type_ids())
                        || aty.table64 != ty.table64
                        || !limits_match(aty.min, aty.max, ty.min, ty.max)
                    {
                        return Err(incompatible());
                    }
                    tables.push(t.0.as_ptr());
                }
                (ImportKind::Memory(ty), Extern::Memory(m)) => {
                    let aty = m.0.get(&store.inner).ty();
                    // A shared memory matches only a shared import and vice versa.
                    if !limits_match(aty.min, aty.max, ty.min, ty.max)
                        || aty.memory64 != ty.memory64
                        || aty.shared != ty.shared
                    {
                        return Err(incompatible());
                    }
                    memories.push(m.0.as_ptr());
                }
                (ImportKind::Global(ty), Extern::Global(g)) => {
                    // A mutable global's type must be the import's exactly; an immutable
                    // one's may be a subtype (WebAssembly 3.0).
                    let actual = g.0.get(&store.inner).ty;
                    let want = crate::types::canonical_val(ty.ty, module.type_ids());
                    let matches = match (actual.ty, want) {
                        (ValType::Ref(a), ValType::Ref(w)) if !ty.mutable => {
                            crate::types::ref_is_subtype(a, w)
                        }
                        (a, w) => a == w,
                    };
                    if actual.mutable != ty.mutable || !matches {
                        return Err(incompatible());
                    }
                    globals.push(g.0.as_ptr());
                }
                (ImportKind::Tag(t), Extern::Tag(tag)) => {
                    if tag.type_id() != module.type_ids()[*t as usize] {
                        return Err(incompatible());
                    }
                    tags.push(tag.as_ptr());
                }
                _ => return Err(incompatible()),
            }
        }

        let inner: &mut StoreInner = &mut store.inner;
        for t in &meta.tags {
            tags.push(inner.new_tag(module.type_ids()[*t as usize]).as_ptr());
        }
        let tag_payload_lens = meta
            .tag_types()
            .map(|t| meta.types[t as usize].params.len() as u32)
            .collect();
        // Defined memories, tables (initialized below, once globals exist) and globals.
        for ty in &meta.memories {
            let mut m = Box::new(
                LinearMemory::new(*ty, inner.config.max_memory)
                    .map_err(|e| Error::Resource(e.to_string()))?,
            );
            memories.push(&mut *m as *mut LinearMemory);
            inner.memories.push(m);
        }

        let num_defined = meta.funcs.len() - meta.num_imported_funcs as usize;
        let words = offsets.size() as usize / 16;
        let mut data = Box::new(InstanceData {
            module: module.clone(),
            vmctx: vec![0u128; words].into_boxed_slice(),
            _defined_funcs: Vec::new().into_boxed_slice(),
            funcs,
            tables,
            memories,
            globals,
            tags,
            tag_payload_lens,
            store: &mut *inner,
            elems: Vec::new(),
            data_dropped: vec![false; meta.data.len()],
        });
        let vmctx = data.vmctx();
        let defined: Box<[VMFuncRef]> = (0..num_defined)
            .map(|i| {
                let idx = meta.num_imported_funcs as usize + i;
                VMFuncRef {
                    func_ptr: module.func_ptr(i as u32),
                    vmctx,
                    type_id: module.type_ids()[meta.funcs[idx] as usize],
                    _pad: 0,
                }
            })
            .collect();
        for r in defined.iter() {
            // SAFETY: the funcref array moves into the instance, which moves into the store
            // (below) before any of these handles leaves this function; if instantiation fails
            // before that, they are dropped with it.
            data.funcs
                .push(unsafe { Func::from_stored(Stored::new(inner.id, NonNull::from(r))) });
        }
        data._defined_funcs = defined;

        let ids = module.type_ids();
        for g in &meta.globals {
            let v = data.eval(&g.init, inner)?;
            let mut gd = Box::new(GlobalData {
                vm: VMGlobal(v),
                ty: GlobalType {
                    ty: crate::types::canonical_val(g.ty.ty, ids),
                    mutable: g.ty.mutable,
                },
            });
            data.globals.push(&mut *gd);
            inner.globals.push(gd);
        }
        for t in &meta.tables {
            let init = match &t.init {
                Some(e) => data.eval(e, inner)?.as_usize(),
                None => 0,
            };
            let ty = TableType {
                elem: crate::types::canonical_ref(t.ty.elem, ids),
                ..t.ty
            };
            data.tables.push(inner.new_table(ty, init)?);
        }

        // Fill the VMContext.
        unsafe {
            let h = &mut *vmctx;
            h.magic = VMCTX_MAGIC;
            h.limits = inner.limits_ptr();
            h.builtins = &crate::builtins::BUILTINS;
            h.memory0_base = data
                .memories
                .first()
                .map_or(std::ptr::null_mut(), |m| (**m).base());
            h.instance = &mut *data as *mut InstanceData as *mut u8;
            h.type_displays = crate::types::displays();
            let base = vmctx as *mut u8;
            for (i, f) in data.funcs.iter().enumerate() {
                *(base.add(offsets.func(i as u32) as usize) as *mut *const VMFuncRef) = f.as_ptr();
            }
            for (i, g) in data.globals.iter().enumerate() {
                *(base.add(offsets.global(i as u32) as usize) as *mut *mut VMGlobal) =
                    &mut (**g).vm;
            }
            for (i, t) in data.tables.iter().enumerate() {
                *(base.add(offsets.table(i as u32) as usize) as *mut *mut VMTable) = (**t).vm();
            }
            for (i, m) in data.memories.iter().enumerate() {
                *(base.add(offsets.memory(i as u32) as usize) as *mut *mut VMMemory) = (**m).vm();
            }
            for (i, t) in data.tags.iter().enumerate() {
                *(base.add(offsets.tag(i as u32) as usize) as *mut *const VMTag) = *t;
            }
            for (i, id) in module.type_ids().iter().enumerate() {
                *(base.add(offsets.type_id(i as u32) as usize) as *mut u32) = *id;
            }
        }

        // Evaluate element segments (their items may refer to functions of this instance).
        let mut elems = Vec::with_capacity(meta.elements.len());
        for seg in &meta.elements {
            let items = seg
                .items
                .iter()
                .map(|e| data.eval(e, inner).map(|v| v.as_usize()))
                .collect::<Result<Vec<_>, _>>()?;
            elems.push(items);
        }
        data.elems = elems;

        let data_ptr: *mut InstanceData = &mut *data;
        inner.funcref_arrays.push(
            data._defined_funcs.as_ptr_range().start as usize
                ..data._defined_funcs.as_ptr_range().end as usize,
        );
        inner.instances.push(data);
        // From here on the instance is part of the store even if a segment traps: functions it
        // already wrote into imported tables stay callable, as the specification requires.
        let data = unsafe { &mut *data_ptr };
        let trap = |t: Trap, inner: &StoreInner| {
            unwind_to_error(
                inner,
                crate::traps::Unwind::Trap(crate::traps::TrapRecord::new(t)),
            )
        };
        for (i, seg) in meta.elements.iter().enumerate() {
            match &seg.kind {
                ElemKind::Active { table, offset } => {
                    // The offset is an i32 for 32-bit tables and an i64 for 64-bit ones.
                    let off = data.eval(offset, inner)?;
                    let items = std::mem::take(&mut data.elems[i]);
                    let t = data.table(*table);
                    let off = if t.declared_type().table64 {
                        off.as_u64()
                    } else {
                        off.as_u32() as u64
                    };
                    let end = off.checked_add(items.len() as u64);
                    if end.is_none_or(|e| e > t.size()) {
                        return Err(trap(Trap::TableOutOfBounds, inner));
                    }
                    t.elems_mut()[off as usize..off as usize + items.len()].copy_from_slice(&items);
                }
                ElemKind::Declared => data.elems[i].clear(),
                ElemKind::Passive => {}
            }
        }
        for (i, seg) in meta.data.iter().enumerate() {
            if let DataKind::Active { memory, offset } = &seg.kind {
                let m = data.memory(*memory);
                // The offset is an i32 for 32-bit memories and an i64 for 64-bit ones.
                let off = data.eval(offset, inner)?;
                let off = if m.declared_type().memory64 {
                    off.as_u64()
                } else {
                    off.as_u32() as u64
                };
                let bytes = module.data_segment(i);
                if off
                    .checked_add(bytes.len() as u64)
                    .is_none_or(|e| e > m.byte_len())
                {
                    return Err(trap(Trap::MemoryOutOfBounds, inner));
                }
                m.init(off, bytes);
                data.data_dropped[i] = true;
            }
        }
        let exports = meta
            .exports
            .iter()
            .map(|e| data.export(inner.id, e.kind, e.index))
            .collect::<Option<Box<[Extern]>>>()
            .ok_or_else(|| {
                Error::Module(crate::module::ModuleError::Corrupt(
                    "export index out of range".into(),
                ))
            })?;
        let instance = Instance(Rc::new(InstanceExports {
            module: module.clone(),
            exports,
            vmctx: data.vmctx(),
        }));
        if let Some(start) = meta.start {
            let f = data.funcs[start as usize];
            f.call(store, &[])?;
        }
        Ok(instance)
    }

    pub fn module(&self) -> &Arc<Module> {
        &self.0.module
    }

    /// The export called `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let i = self
            .0
            .module
            .meta()
            .exports
            .iter()
            .position(|e| e.name == name)?;
        self.0.exports.get(i).copied()
    }

    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.get_export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        match self.get_export(name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    pub fn get_global(&self, name: &str) -> Option<Global> {
        match self.get_export(name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// All exports, in the module's order.
    pub fn exports(&self) -> Vec<(String, Extern)> {
        let names = self.0.module.meta().exports.iter().map(|e| e.name.clone());
        names.zip(self.0.exports.iter().copied()).collect()
    }

    /// The `VMContext` offsets of this instance (for tests of the layout).
    pub fn offsets(&self) -> VMOffsets {
        self.0.module.meta().offsets()
    }

    pub fn vmctx_ptr(&self) -> *const VMContext {
        self.0.vmctx
    }
}

/// Null value of a reference type.
pub fn null_ref(ty: RefType) -> Val {
    match ty.heap.top() {
        HeapType::Func => Val::FuncRef(None),
        HeapType::Exn => Val::ExnRef(None),
        HeapType::Any => Val::AnyRef(None),
        _ => Val::ExternRef(None),
    }
}

/// What an instance's own (defined) state is at one moment: what `wasic build --preinit`
/// snapshots after the initialiser ran.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceState {
    /// Bytes of each defined memory (its whole current size).
    pub memories: Vec<Vec<u8>>,
    /// Raw value of each defined global.
    pub globals: Vec<wasic_abi::ValRaw>,
    /// Raw elements of each defined table (function-reference pointers; 0 is null): enough to
    /// tell whether a table changed.
    pub tables: Vec<Vec<usize>>,
    /// Whether each data segment was dropped (`data.drop`, or active ones by instantiation).
    pub data_dropped: Vec<bool>,
    /// Whether each element segment is empty now (dropped, or active or declared).
    pub elems_empty: Vec<bool>,
    /// The function-reference pointer of every function, by function index: what turns a
    /// table's elements back into function indices.
    pub func_refs: Vec<usize>,
}

impl Instance {
    /// The instance's own state in `store` (`None` if it is not one of `store`'s instances).
    /// A shared memory's bytes are not included (other threads may write them).
    pub fn state(&self, store: &Store) -> Option<InstanceState> {
        // Found by address among the store's instances, so a handle of another (or a dropped)
        // store is never dereferenced.
        let data = store
            .inner
            .instances
            .iter()
            .find(|d| std::ptr::eq(d.vmctx(), self.0.vmctx))?;
        let meta = data.module.meta();
        let defined = |n: usize, imported: u32| (imported as usize)..n;
        // SAFETY (all): the pointers are the store's memories, globals and tables, alive with
        // it; `&Store` keeps wasm from running meanwhile.
        let memories = defined(data.memories.len(), meta.num_imported_memories)
            .map(|i| unsafe { &*data.memories[i] })
            .filter(|m| !m.declared_type().shared)
            .map(|m| m.data().to_vec())
            .collect();
        let globals = defined(data.globals.len(), meta.num_imported_globals)
            .map(|i| unsafe { (*data.globals[i]).vm.0 })
            .collect();
        let tables = defined(data.tables.len(), meta.num_imported_tables)
            .map(|i| unsafe { (*data.tables[i]).elems().to_vec() })
            .collect();
        Some(InstanceState {
            memories,
            globals,
            tables,
            data_dropped: data.data_dropped.clone(),
            elems_empty: data.elems.iter().map(Vec::is_empty).collect(),
            func_refs: data.funcs.iter().map(|f| f.as_ptr() as usize).collect(),
        })
    }
}
