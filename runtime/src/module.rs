//! A compiled module in this process: its decoded metadata, the addresses of its code, and its
//! entry in the global code registry that the signal handler uses to recognize wasm PCs.

use crate::loader::{self, LoadedObject};
use crate::types;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};
use wasic_abi::meta::{
    self, DataKind, ElemKind, ExternKind, ImportKind, ModuleDescriptor, ModuleMeta,
    DESCRIPTOR_MAGIC,
};
use wasic_abi::{FuncType, Trap, ABI_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Load(#[from] loader::LoadError),
    #[error(transparent)]
    Meta(#[from] meta::MetaError),
    #[error(
        "compiled module has ABI version {found}, this runtime expects {expected}: recompile it"
    )]
    AbiVersion { found: u64, expected: u32 },
    #[error("compiled module descriptor is corrupt: {0}")]
    Corrupt(String),
    /// Compiling the module failed ([`Module::from_wasm`]).
    #[cfg(feature = "compiler")]
    #[error(transparent)]
    Compile(#[from] wasic_compiler::CompileError),
}

fn corrupt(what: impl Into<String>) -> ModuleError {
    ModuleError::Corrupt(what.into())
}

/// Code of one module, as the trap handler sees it.
#[derive(Debug)]
pub struct CodeInfo {
    /// (start address, length, defined function index), sorted by start.
    funcs: Vec<(usize, usize, u32)>,
    /// (start address, length, `u32::MAX`) of the array trampolines and host adapters, sorted
    /// by start: the element type of `funcs`, so that one sort serves both (and the exception
    /// collector's ranges): each sort instance is kilobytes of code.
    stubs: Vec<(usize, usize, u32)>,
    pub meta: Arc<ModuleMeta>,
    /// `meta.lines`, decoded when a backtrace first needs them.
    lines: std::sync::OnceLock<Option<meta::SourceLines>>,
}

/// Where a PC lies in wasm code.
#[derive(Clone, Debug)]
pub struct CodeLookup {
    pub code: Arc<CodeInfo>,
    /// Index in the module's function index space (imports included).
    pub func_index: u32,
    pub offset: u32,
}

impl CodeLookup {
    pub fn trap(&self) -> Option<Trap> {
        let sites = self.code.meta.traps.get(self.defined_index() as usize)?;
        sites.find(self.offset)
    }

    fn defined_index(&self) -> u32 {
        self.func_index - self.code.meta.num_imported_funcs
    }

    pub fn func_name(&self) -> Option<&str> {
        self.code.meta.func_names.get(self.func_index)
    }

    /// The source file and line of this code, when the module had DWARF. Not for the signal
    /// handler: the lines are decoded on first use.
    pub fn source_line(&self) -> Option<(&str, u32)> {
        let lines = self
            .code
            .lines
            .get_or_init(|| self.code.meta.lines.decode());
        lines
            .as_ref()?
            .lookup(self.defined_index() as usize, self.offset)
    }
}

/// Process-wide map from code end address to the module code containing it.
static REGISTRY: RwLock<BTreeMap<usize, (usize, Arc<CodeInfo>)>> = RwLock::new(BTreeMap::new());

/// Finds the wasm function containing `pc`. Called from the signal handler: it only takes the
/// read lock, which writers hold only while (un)registering modules, never while running wasm.
pub fn lookup_pc(pc: usize) -> Option<CodeLookup> {
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (_, (start, code)) = reg.range(pc + 1..).next()?;
    if pc < *start {
        return None;
    }
    let i = code
        .funcs
        .partition_point(|(s, _, _)| *s <= pc)
        .checked_sub(1)?;
    let (s, len, idx) = code.funcs[i];
    if pc >= s + len {
        return None;
    }
    Some(CodeLookup {
        code: code.clone(),
        func_index: idx + code.meta.num_imported_funcs,
        offset: (pc - s) as u32,
    })
}

/// Whether `pc` lies in compiled code: a wasm function, an array trampoline or a host adapter
/// (code that holds no host state, so a fault in it may abandon it). For the signal handler,
/// like [`lookup_pc`].
pub fn in_compiled_code(pc: usize) -> bool {
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let Some((_, (start, code))) = reg.range(pc + 1..).next() else {
        return false;
    };
    pc >= *start
        && (covers(&code.stubs, pc, |&(s, len, _)| (s, len))
            || covers(&code.funcs, pc, |&(s, len, _)| (s, len)))
}

/// Whether one of `pieces` (sorted by start; `span` gives (start, length)) contains `pc`.
fn covers<T>(pieces: &[T], pc: usize, span: impl Fn(&T) -> (usize, usize)) -> bool {
    let i = pieces.partition_point(|p| span(p).0 <= pc);
    i > 0 && {
        let (start, len) = span(&pieces[i - 1]);
        pc < start + len
    }
}

/// Whether `pc` lies in wasm code, without blocking: `None` when the registry is busy. For
/// asynchronous signals, which may arrive while this thread holds the registry's lock.
pub fn try_lookup_pc(pc: usize) -> Option<bool> {
    let reg = REGISTRY.try_read().ok()?;
    let Some((_, (start, code))) = reg.range(pc + 1..).next() else {
        return Some(false);
    };
    if pc < *start {
        return Some(false);
    }
    let i = code.funcs.partition_point(|(s, _, _)| *s <= pc);
    Some(i > 0 && pc < code.funcs[i - 1].0 + code.funcs[i - 1].1)
}

/// The memory a loaded object's descriptor must point into.
struct ObjectBounds {
    mapping: Range<usize>,
    text: Range<usize>,
}

/// A module loaded into this process, ready to instantiate any number of times.
#[derive(Debug)]
pub struct Module {
    meta: Arc<ModuleMeta>,
    desc: *const ModuleDescriptor,
    code: Arc<CodeInfo>,
    /// Canonical signature id of each type index.
    type_ids: Vec<u32>,
    range: (usize, usize),
    _object: Option<LoadedObject>,
}

// The descriptor and everything it points to are immutable.
unsafe impl Send for Module {}
unsafe impl Sync for Module {}

/// `len` values of type `T` at `ptr`, a descriptor's array. With `within`, the array must lie
/// in that address range.
///
/// # Safety
/// Without `within`, `ptr` must point at `len` values valid for `'a`; with it, the range must
/// be readable memory valid for `'a`.
unsafe fn descriptor_array<'a, T>(
    ptr: *const T,
    len: u64,
    within: Option<&Range<usize>>,
    what: &str,
) -> Result<&'a [T], ModuleError> {
    if len == 0 {
        return Ok(&[]);
    }
    let bytes = usize::try_from(len)
        .ok()
        .and_then(|n| n.checked_mul(size_of::<T>()))
        .ok_or_else(|| corrupt(format!("{what} of {len} entries")))?;
    let start = ptr as usize;
    if ptr.is_null() || !start.is_multiple_of(align_of::<T>()) {
        return Err(corrupt(format!("{what} at {start:#x}")));
    }
    if let Some(r) = within {
        if !start
            .checked_add(bytes)
            .is_some_and(|end| r.start <= start && end <= r.end)
        {
            return Err(corrupt(format!(
                "{what} ({bytes} bytes at {start:#x}) lies outside the loaded object"
            )));
        }
    }
    // SAFETY: non-null, aligned, and valid for `len` values (the caller's guarantee, or the
    // range check above: any bit pattern is a valid `u8` or pointer).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
}

/// Concrete reference types name a type of the module, and in a type only an earlier one or
/// one of its own recursion group (what `types::canonical_ids` relies on); the groups cover
/// the types.
fn validate_type_references(meta: &ModuleMeta) -> Result<(), ModuleError> {
    use wasic_abi::ValType;
    let types = meta.types.len();
    let in_range = |t: &ValType, what: &dyn Fn() -> String| match t.concrete() {
        Some(i) if i as usize >= types => {
            Err(corrupt(format!("{} refers to type {i} of {types}", what())))
        }
        _ => Ok(()),
    };
    let grouped: u64 = meta.rec_groups.iter().map(|&n| u64::from(n)).sum();
    if grouped > types as u64 || meta.rec_groups.contains(&0) {
        return Err(corrupt("recursion groups do not match the types"));
    }
    let mut group_end = 0;
    let mut sizes = meta.rec_groups.iter();
    for (i, t) in meta.types.iter().enumerate() {
        if i == group_end {
            group_end += sizes.next().map_or(1, |&n| n as usize);
        }
        for v in t.params.iter().chain(&t.results) {
            if v.concrete().is_some_and(|j| j as usize >= group_end) {
                return Err(corrupt(format!("type {i} refers to a later type")));
            }
        }
        // A declaration refers to earlier types or its group, and a supertype only to an
        // earlier one (so that supertype chains end); struct and array types have no
        // signature.
        let sub = meta.subtype(i as u32);
        let later = std::cell::Cell::new(false);
        sub.map_concrete(|j| {
            later.set(later.get() || j as usize >= group_end);
            j
        });
        if later.get()
            || sub.supertype.is_some_and(|s| s as usize >= i)
            || (!matches!(sub.composite, wasic_abi::Composite::Func) && *t != Default::default())
        {
            return Err(corrupt(format!("type {i} is declared inconsistently")));
        }
    }
    if !meta.subtypes.is_empty() && meta.subtypes.len() != types {
        return Err(corrupt("subtype declarations do not match the types"));
    }
    let is_func = |t: u32| matches!(meta.subtype(t).composite, wasic_abi::Composite::Func);
    if let Some(f) = meta
        .funcs
        .iter()
        .chain(&meta.tags)
        .position(|&t| !is_func(t))
    {
        return Err(corrupt(format!(
            "function or tag {f} has a type that is no function type"
        )));
    }
    for (i, g) in meta.globals.iter().enumerate() {
        in_range(&g.ty.ty, &|| format!("global {i}"))?;
    }
    for (i, t) in meta.tables.iter().enumerate() {
        in_range(&ValType::Ref(t.ty.elem), &|| format!("table {i}"))?;
    }
    for imp in &meta.imports {
        let t = match &imp.kind {
            ImportKind::Global(g) => g.ty,
            ImportKind::Table(t) => ValType::Ref(t.elem),
            _ => continue,
        };
        in_range(&t, &|| format!("import `{}`.`{}`", imp.module, imp.name))?;
    }
    for (i, seg) in meta.elements.iter().enumerate() {
        in_range(&ValType::Ref(seg.ty), &|| format!("element segment {i}"))?;
    }
    Ok(())
}

/// Checks that every index the metadata holds is in range, so that instantiating cannot index
/// out of bounds (the checks compiled code relies on are the compiler's, see
/// [`Module::from_object`]).
fn validate(meta: &ModuleMeta, data_len: u64) -> Result<(), ModuleError> {
    let types = meta.types.len();
    let ty = |t: u32, what: &dyn Fn() -> String| {
        if (t as usize) < types {
            Ok(())
        } else {
            Err(corrupt(format!("{} has type {t} of {types}", what())))
        }
    };
    let count = |f: fn(&ImportKind) -> bool| meta.imports.iter().filter(|i| f(&i.kind)).count();
    let imported = [
        (
            count(|k| matches!(k, ImportKind::Func(_))),
            meta.num_imported_funcs,
            "functions",
        ),
        (
            count(|k| matches!(k, ImportKind::Table(_))),
            meta.num_imported_tables,
            "tables",
        ),
        (
            count(|k| matches!(k, ImportKind::Memory(_))),
            meta.num_imported_memories,
            "memories",
        ),
        (
            count(|k| matches!(k, ImportKind::Global(_))),
            meta.num_imported_globals,
            "globals",
        ),
        (
            count(|k| matches!(k, ImportKind::Tag(_))),
            meta.num_imported_tags,
            "tags",
        ),
    ];
    for (n, claimed, what) in imported {
        if n != claimed as usize {
            return Err(corrupt(format!("{n} imported {what}, {claimed} declared")));
        }
    }
    if meta.funcs.len() < meta.num_imported_funcs as usize {
        return Err(corrupt("fewer functions than imported functions"));
    }
    // The VMContext offsets are u32s: the counts must keep them in range (which also keeps
    // every `num_*` sum below from overflowing).
    let slots = [
        meta.funcs.len(),
        meta.num_imported_globals as usize + meta.globals.len(),
        meta.num_imported_tables as usize + meta.tables.len(),
        meta.num_imported_memories as usize + meta.memories.len(),
        meta.num_imported_tags as usize + meta.tags.len(),
    ]
    .iter()
    .try_fold(0u64, |acc, n| acc.checked_add(*n as u64));
    let vmctx = slots
        .and_then(|n| n.checked_mul(size_of::<usize>() as u64))
        .and_then(|n| n.checked_add(types as u64 * 4 + 4096));
    if vmctx.is_none_or(|n| n > u32::MAX as u64) {
        return Err(corrupt(
            "too many functions, globals, tables, memories or tags",
        ));
    }
    for (i, t) in meta.funcs.iter().enumerate() {
        ty(*t, &|| format!("function {i}"))?;
    }
    validate_type_references(meta)?;
    for imp in &meta.imports {
        if let ImportKind::Func(t) | ImportKind::Tag(t) = imp.kind {
            ty(t, &|| format!("import `{}`.`{}`", imp.module, imp.name))?;
        }
    }
    for (i, t) in meta.tags.iter().enumerate() {
        ty(*t, &|| format!("tag {i}"))?;
    }
    let (funcs, tables, memories) = (
        meta.funcs.len() as u64,
        meta.num_tables(),
        meta.num_memories(),
    );
    for e in &meta.exports {
        let n = match e.kind {
            ExternKind::Func => funcs,
            ExternKind::Table => tables as u64,
            ExternKind::Memory => memories as u64,
            ExternKind::Global => meta.num_globals() as u64,
            ExternKind::Tag => meta.num_tags() as u64,
        };
        if e.index as u64 >= n {
            return Err(corrupt(format!(
                "export `{}` is {} {} of {n}",
                e.name, e.kind, e.index
            )));
        }
    }
    if meta.start.is_some_and(|s| s as u64 >= funcs) {
        return Err(corrupt("start function out of range"));
    }
    for (i, seg) in meta.elements.iter().enumerate() {
        if let ElemKind::Active { table, .. } = seg.kind {
            if table >= tables {
                return Err(corrupt(format!(
                    "element segment {i} targets table {table}"
                )));
            }
        }
    }
    for (i, seg) in meta.data.iter().enumerate() {
        if let DataKind::Active { memory, .. } = seg.kind {
            if memory >= memories {
                return Err(corrupt(format!("data segment {i} targets memory {memory}")));
            }
        }
        if seg.offset.checked_add(seg.len).is_none_or(|e| e > data_len) {
            return Err(corrupt(format!(
                "data segment {i} lies outside the data blob"
            )));
        }
    }
    let defined = meta.funcs.len() - meta.num_imported_funcs as usize;
    if meta.func_sizes.len() != defined
        || meta.traps.len() != defined
        || meta.handlers.len() > defined
    {
        return Err(corrupt(
            "per-function tables disagree with the function count",
        ));
    }
    let types = meta.types.len();
    if meta.trampoline_sizes.len() != types || meta.adapter_sizes.len() != types {
        return Err(corrupt("per-type code sizes disagree with the type count"));
    }
    Ok(())
}

impl Module {
    /// Loads an object produced by `wasic_compiler::compile` into this process.
    ///
    /// The object's layout (ELF structure, descriptor, metadata) is checked and a corrupt one
    /// is an error, but its machine code cannot be: it runs as it is when the module is
    /// instantiated or called.
    ///
    /// # Safety
    /// `bytes` must be an object produced by `wasic_compiler::compile` of this wasic version
    /// (or an unmodified copy of one): the compiler is what makes its code memory-safe.
    pub unsafe fn from_object(bytes: &[u8]) -> Result<Arc<Module>, ModuleError> {
        let obj = loader::load(bytes)?;
        let desc = obj.descriptor();
        let bounds = ObjectBounds {
            mapping: obj.mapping(),
            text: obj.text(),
        };
        // SAFETY: the loader returned a descriptor inside the mapping it keeps alive, and the
        // bounds make `new` check everything the descriptor points to against the mapping.
        unsafe { Self::new(desc, Some(bounds), Some(obj)) }
    }

    /// Wraps the descriptor a linked executable carries.
    ///
    /// # Safety
    /// `desc` must be a descriptor emitted by the compiler, valid for the whole program.
    pub unsafe fn from_descriptor(
        desc: &'static ModuleDescriptor,
    ) -> Result<Arc<Module>, ModuleError> {
        // SAFETY: forwarded from the caller.
        unsafe { Self::new(desc, None, None) }
    }

    /// # Safety
    /// `desc` must be readable for a `ModuleDescriptor`, for as long as the module lives; and
    /// either everything it points to is valid (as the compiler emits it), or `bounds` gives
    /// the readable memory it must lie in (and the code in it).
    unsafe fn new(
        desc: *const ModuleDescriptor,
        bounds: Option<ObjectBounds>,
        object: Option<LoadedObject>,
    ) -> Result<Arc<Module>, ModuleError> {
        // SAFETY: readable and aligned (the caller's guarantee); every field is plain data.
        let d = unsafe { &*desc };
        if d.magic != DESCRIPTOR_MAGIC {
            return Err(corrupt("bad magic"));
        }
        if d.abi_version != ABI_VERSION as u64 {
            return Err(ModuleError::AbiVersion {
                found: d.abi_version,
                expected: ABI_VERSION,
            });
        }
        let within = bounds.as_ref().map(|b| &b.mapping);
        // SAFETY (the arrays): valid as the compiler emits them, or checked against `bounds`.
        let meta_bytes = unsafe { descriptor_array(d.meta, d.meta_len, within, "metadata") }?;
        let meta = Arc::new(meta::decode(meta_bytes)?);
        unsafe { descriptor_array(d.data, d.data_len, within, "data blob") }?;
        validate(&meta, d.data_len)?;
        let num_defined = meta.funcs.len() - meta.num_imported_funcs as usize;
        if d.num_funcs != num_defined as u64 || d.num_types != meta.types.len() as u64 {
            return Err(corrupt("function or type counts disagree"));
        }
        let addrs = unsafe { descriptor_array(d.funcs, d.num_funcs, within, "function table") }?;
        let tramps = unsafe {
            descriptor_array(d.array_trampolines, d.num_types, within, "trampoline table")
        }?;
        let adapters =
            unsafe { descriptor_array(d.host_adapters, d.num_types, within, "adapter table") }?;
        let mut funcs: Vec<(usize, usize, u32)> = addrs
            .iter()
            .zip(&meta.func_sizes)
            .enumerate()
            .map(|(i, (a, s))| (*a as usize, *s as usize, i as u32))
            .collect();
        if let Some(b) = &bounds {
            let in_text = |start: usize, len: usize| {
                start
                    .checked_add(len)
                    .is_some_and(|end| b.text.start <= start && end <= b.text.end)
            };
            if let Some((a, s, i)) = funcs.iter().find(|(a, s, _)| !in_text(*a, *s)) {
                return Err(corrupt(format!(
                    "function {i} ({s} bytes at {a:#x}) lies outside the object's code"
                )));
            }
            if tramps
                .iter()
                .chain(adapters)
                .any(|p| !in_text(*p as usize, 1))
            {
                return Err(corrupt("a trampoline lies outside the object's code"));
            }
        }
        funcs.sort_unstable();
        let mut stubs: Vec<(usize, usize, u32)> = tramps
            .iter()
            .zip(&meta.trampoline_sizes)
            .chain(adapters.iter().zip(&meta.adapter_sizes))
            .map(|(a, s)| (*a as usize, *s as usize, u32::MAX))
            .collect();
        stubs.sort_unstable();
        if let Some(b) = &bounds {
            if stubs.iter().any(|(a, s, _)| {
                a.checked_add(*s)
                    .is_none_or(|end| *a < b.text.start || end > b.text.end)
            }) {
                return Err(corrupt("a trampoline lies outside the object's code"));
            }
        }
        // The registry's range covers all compiled code (see `in_compiled_code`).
        let pieces = funcs.iter().chain(&stubs).map(|(a, s, _)| (*a, *s));
        let mut range = (usize::MAX, 0);
        for (a, s) in pieces.filter(|(_, s)| *s > 0) {
            let end = a
                .checked_add(s)
                .ok_or_else(|| corrupt("function addresses overflow"))?;
            range = (range.0.min(a), range.1.max(end));
        }
        if range.1 == 0 {
            range = (0, 0);
        }
        let type_ids = types::canonical_ids(&meta.types, &meta.subtypes, &meta.rec_groups);
        let code = Arc::new(CodeInfo {
            funcs,
            stubs,
            meta: meta.clone(),
            lines: Default::default(),
        });
        if range.1 > range.0 {
            let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
            reg.insert(range.1, (range.0, code.clone()));
        }
        Ok(Arc::new(Module {
            meta,
            desc,
            code,
            type_ids,
            range,
            _object: object,
        }))
    }

    pub fn meta(&self) -> &ModuleMeta {
        &self.meta
    }

    pub fn descriptor(&self) -> &ModuleDescriptor {
        // SAFETY: valid for our lifetime (see constructors).
        unsafe { &*self.desc }
    }

    pub fn type_ids(&self) -> &[u32] {
        &self.type_ids
    }

    pub fn func_type(&self, func_index: u32) -> &FuncType {
        &self.meta.types[self.meta.funcs[func_index as usize] as usize]
    }

    /// Entry point of defined function `defined_index`.
    pub fn func_ptr(&self, defined_index: u32) -> *const u8 {
        let d = self.descriptor();
        assert!((defined_index as u64) < d.num_funcs);
        // SAFETY: in range (asserted above) of an array `new` checked.
        unsafe { *d.funcs.add(defined_index as usize) }
    }

    pub fn array_trampoline(&self, type_index: u32) -> *const u8 {
        let d = self.descriptor();
        assert!((type_index as u64) < d.num_types);
        // SAFETY: in range (asserted above) of an array `new` checked.
        unsafe { *d.array_trampolines.add(type_index as usize) }
    }

    pub fn host_adapter(&self, type_index: u32) -> *const u8 {
        let d = self.descriptor();
        assert!((type_index as u64) < d.num_types);
        // SAFETY: in range (asserted above) of an array `new` checked.
        unsafe { *d.host_adapters.add(type_index as usize) }
    }

    /// Bytes of data segment `i`.
    pub fn data_segment(&self, i: usize) -> &[u8] {
        let seg = &self.meta.data[i];
        let d = self.descriptor();
        assert!(seg
            .offset
            .checked_add(seg.len)
            .is_some_and(|e| e <= d.data_len));
        if seg.len == 0 {
            // The blob of a module without data may be any pointer, even null.
            return &[];
        }
        // SAFETY: inside the blob (asserted above, and checked against the loaded object by
        // `new`), which lives as long as the module.
        unsafe { std::slice::from_raw_parts(d.data.add(seg.offset as usize), seg.len as usize) }
    }

    pub fn code(&self) -> &Arc<CodeInfo> {
        &self.code
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        if self.range.1 > self.range.0 {
            let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
            reg.remove(&self.range.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasic_abi::meta::{ConstExpr, DataSegment, ElemSegment, Export, Import};
    use wasic_abi::{MemoryType, RefType, ValType};

    /// A consistent metadata: one imported and one defined function, a memory, a data segment.
    fn meta() -> ModuleMeta {
        ModuleMeta {
            types: vec![FuncType {
                params: vec![ValType::I32],
                results: vec![],
            }],
            imports: vec![Import {
                module: "m".into(),
                name: "f".into(),
                kind: ImportKind::Func(0),
            }],
            funcs: vec![0, 0],
            num_imported_funcs: 1,
            memories: vec![MemoryType {
                min: 1,
                max: None,
                memory64: false,
                shared: false,
            }],
            exports: vec![Export {
                name: "g".into(),
                kind: ExternKind::Func,
                index: 1,
            }],
            data: vec![DataSegment {
                kind: DataKind::Active {
                    memory: 0,
                    offset: ConstExpr(vec![]),
                },
                offset: 2,
                len: 4,
            }],
            func_sizes: vec![16],
            trampoline_sizes: vec![8],
            adapter_sizes: vec![8],
            traps: [Vec::new()].into_iter().collect(),
            ..Default::default()
        }
    }

    fn error_of(m: &ModuleMeta) -> String {
        validate(m, 8)
            .expect_err("corrupt metadata validated")
            .to_string()
    }

    #[test]
    fn consistent_metadata_validates() {
        validate(&meta(), 8).unwrap();
    }

    #[test]
    fn concrete_type_references_in_metadata_must_name_an_earlier_type_or_one_of_the_group() {
        let typed = |i| {
            ValType::Ref(RefType {
                nullable: true,
                heap: wasic_abi::HeapType::Concrete(i),
            })
        };
        let with_types = |types: Vec<FuncType>, groups: Vec<u32>| {
            let mut m = meta();
            for t in types {
                m.types.push(t);
                m.trampoline_sizes.push(8);
                m.adapter_sizes.push(8);
            }
            m.rec_groups = groups;
            m
        };
        let refers = |i| FuncType {
            params: vec![typed(i)],
            results: vec![],
        };
        // Type 1 names itself, type 2 names type 1: fine.
        validate(&with_types(vec![refers(1), refers(1)], vec![]), 8).unwrap();
        // Type 1 names type 2, which comes later: fine only in one group with it.
        let m = with_types(vec![refers(2), refers(1)], vec![]);
        assert!(error_of(&m).contains("type 1 refers to a later type"));
        validate(&with_types(vec![refers(2), refers(1)], vec![1, 2]), 8).unwrap();
        // Out of range, and groups that do not fit the types.
        let m = with_types(vec![refers(9)], vec![]);
        assert!(error_of(&m).contains("refers to a later type"));
        let m = with_types(vec![], vec![1, 1]);
        assert!(error_of(&m).contains("recursion groups"));
        let mut m = meta();
        m.globals.push(wasic_abi::meta::GlobalDecl {
            ty: wasic_abi::GlobalType {
                ty: typed(5),
                mutable: false,
            },
            init: ConstExpr(vec![]),
        });
        assert!(error_of(&m).contains("global 0 refers to type 5 of 1"));
    }

    #[test]
    fn out_of_range_indices_in_metadata_are_errors() {
        let mut m = meta();
        m.exports[0].index = 2;
        assert!(error_of(&m).contains("export `g` is function 2 of 2"));
        let mut m = meta();
        m.funcs[1] = 1;
        assert!(error_of(&m).contains("function 1 has type 1 of 1"));
        let mut m = meta();
        m.imports[0].kind = ImportKind::Func(7);
        assert!(error_of(&m).contains("import `m`.`f` has type 7"));
        let mut m = meta();
        m.start = Some(2);
        assert!(error_of(&m).contains("start function"));
        let mut m = meta();
        m.elements.push(ElemSegment {
            kind: ElemKind::Active {
                table: 0,
                offset: ConstExpr(vec![]),
            },
            ty: RefType::FUNCREF,
            items: vec![],
        });
        assert!(error_of(&m).contains("element segment 0 targets table 0"));
        let mut m = meta();
        m.data[0].kind = DataKind::Active {
            memory: 1,
            offset: ConstExpr(vec![]),
        };
        assert!(error_of(&m).contains("data segment 0 targets memory 1"));
    }

    #[test]
    fn counts_that_disagree_or_overflow_are_errors() {
        let mut m = meta();
        m.num_imported_funcs = 2;
        assert!(error_of(&m).contains("1 imported functions, 2 declared"));
        let mut m = meta();
        m.num_imported_tables = u32::MAX;
        assert!(error_of(&m).contains("0 imported tables"));
        let mut m = meta();
        m.func_sizes.clear();
        assert!(error_of(&m).contains("per-function tables"));
        let mut m = meta();
        m.adapter_sizes.clear();
        assert!(error_of(&m).contains("per-type code sizes"));
        let mut m = meta();
        m.funcs = vec![0; (u32::MAX / 8) as usize];
        assert!(error_of(&m).contains("too many"));
    }

    #[test]
    fn data_segments_past_the_blob_are_errors() {
        for (offset, len) in [(4, 5), (9, 0), (u64::MAX, 2), (2, u64::MAX)] {
            let mut m = meta();
            m.data[0].offset = offset;
            m.data[0].len = len;
            assert!(
                error_of(&m).contains("outside the data blob"),
                "{offset} {len}"
            );
        }
    }
}
