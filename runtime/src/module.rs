//! A compiled module in this process: its decoded metadata, the addresses of its code, and its
//! entry in the global code registry that the signal handler uses to recognize wasm PCs.

use crate::loader::{self, LoadedObject};
use crate::types;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use wasic_abi::meta::{self, ModuleDescriptor, ModuleMeta, TrapSite, DESCRIPTOR_MAGIC};
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
    Corrupt(&'static str),
}

/// Code of one module, as the trap handler sees it.
#[derive(Debug)]
pub struct CodeInfo {
    /// (start address, length, defined function index), sorted by start.
    funcs: Vec<(usize, usize, u32)>,
    pub meta: Arc<ModuleMeta>,
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
        let sites: &[TrapSite] = self.code.meta.traps.get(self.defined_index() as usize)?;
        let i = sites
            .binary_search_by_key(&self.offset, |s| s.offset)
            .ok()?;
        Some(sites[i].trap)
    }

    fn defined_index(&self) -> u32 {
        self.func_index - self.code.meta.num_imported_funcs
    }

    pub fn func_name(&self) -> Option<&str> {
        let names = &self.code.meta.func_names;
        names
            .binary_search_by_key(&self.func_index, |(i, _)| *i)
            .ok()
            .map(|i| names[i].1.as_str())
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

impl Module {
    /// Loads an object produced by `wasic_compiler::compile` into this process.
    pub fn from_object(bytes: &[u8]) -> Result<Arc<Module>, ModuleError> {
        let obj = loader::load(bytes)?;
        let desc = obj.descriptor();
        // SAFETY: the loader returned a descriptor inside the mapping it keeps alive.
        unsafe { Self::new(desc, Some(obj)) }
    }

    /// Wraps the descriptor a linked executable carries.
    ///
    /// # Safety
    /// `desc` must be a descriptor emitted by the compiler, valid for the whole program.
    pub unsafe fn from_descriptor(
        desc: &'static ModuleDescriptor,
    ) -> Result<Arc<Module>, ModuleError> {
        // SAFETY: forwarded from the caller.
        unsafe { Self::new(desc, None) }
    }

    unsafe fn new(
        desc: *const ModuleDescriptor,
        object: Option<LoadedObject>,
    ) -> Result<Arc<Module>, ModuleError> {
        // SAFETY: the caller guarantees `desc` is a descriptor; its arrays have the lengths it
        // states.
        let d = unsafe { &*desc };
        if d.magic != DESCRIPTOR_MAGIC {
            return Err(ModuleError::Corrupt("bad magic"));
        }
        if d.abi_version != ABI_VERSION as u64 {
            return Err(ModuleError::AbiVersion {
                found: d.abi_version,
                expected: ABI_VERSION,
            });
        }
        let meta_bytes = unsafe { std::slice::from_raw_parts(d.meta, d.meta_len as usize) };
        let meta = Arc::new(meta::decode(meta_bytes)?);
        let num_defined = meta.funcs.len() - meta.num_imported_funcs as usize;
        if d.num_funcs as usize != num_defined
            || meta.func_sizes.len() != num_defined
            || meta.traps.len() != num_defined
            || d.num_types as usize != meta.types.len()
        {
            return Err(ModuleError::Corrupt("function or type counts disagree"));
        }
        let addrs = unsafe { std::slice::from_raw_parts(d.funcs, num_defined) };
        let mut funcs: Vec<(usize, usize, u32)> = addrs
            .iter()
            .zip(&meta.func_sizes)
            .enumerate()
            .map(|(i, (a, s))| (*a as usize, *s as usize, i as u32))
            .collect();
        funcs.sort_unstable();
        let range = match (funcs.first(), funcs.last()) {
            (Some(first), Some(last)) => (first.0, last.0 + last.1),
            _ => (0, 0),
        };
        let type_ids = meta.types.iter().map(types::canonical_id).collect();
        let code = Arc::new(CodeInfo {
            funcs,
            meta: meta.clone(),
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
        unsafe { *d.funcs.add(defined_index as usize) }
    }

    pub fn array_trampoline(&self, type_index: u32) -> *const u8 {
        let d = self.descriptor();
        assert!((type_index as u64) < d.num_types);
        unsafe { *d.array_trampolines.add(type_index as usize) }
    }

    pub fn host_adapter(&self, type_index: u32) -> *const u8 {
        let d = self.descriptor();
        assert!((type_index as u64) < d.num_types);
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
