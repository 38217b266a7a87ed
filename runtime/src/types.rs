//! Canonical type ids: one process-wide number per distinct defined type (function types, so that
//! `call_indirect` compares two `u32`s even across modules and stores, and for every struct
//! and array type, which GC objects carry in their header (`wasic_abi::gc`).
//!
//! A module's types refer to one another by module type index (`HeapType::Concrete` in
//! `(ref $t)`); everywhere in the runtime (tables, globals, `Func::ty`, the host API) a
//! concrete type is its canonical id instead, so that types of different modules compare
//! directly. Types are canonicalized by recursion group, as WebAssembly 3.0 defines type
//! equality: a group is registered under a key in which each reference to a type before the
//! group is that type's canonical id and each reference into the group is [`REC`] plus the
//! position there; two groups with the same key are the same types, member by member. The
//! type kept for an id has canonical ids everywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wasic_abi::{FuncType, RefType, SubTypeDecl, ValType};

/// Marks a reference into the type's own recursion group, in a registry key. Canonical ids
/// stay far below it (one per distinct type of the process).
const REC: u32 = 1 << 31;

/// One defined type: its signature (empty for struct and array types) and what it is
/// besides (kind, finality, supertype). Two defined types are equal when both parts are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeDef {
    pub func: FuncType,
    pub sub: SubTypeDecl,
}

impl TypeDef {
    fn refers_to_types(&self) -> bool {
        self.func.refers_to_types() || self.sub.refers_to_types()
    }

    fn map_concrete(&self, f: impl Fn(u32) -> u32) -> TypeDef {
        TypeDef {
            func: self.func.map_concrete(&f),
            sub: self.sub.map_concrete(&f),
        }
    }
}

/// Ids of plain types (no reference to another type: most of them, looked up without a
/// copy), ids of the first member of each group with references, and types by id. Fx
/// hashing: the keys are the types of compiled modules, not input worth a DoS-resistant
/// hash, and SipHash with a random seed was a measurable part of every executable's start-up.
struct Registry {
    plain: HashMap<Arc<TypeDef>, u32, rustc_hash::FxBuildHasher>,
    /// Plain function types (final, no supertype): nearly every type of a module without GC,
    /// looked up by signature without building a [`TypeDef`].
    plain_funcs: HashMap<FuncKey, u32, rustc_hash::FxBuildHasher>,
    groups: HashMap<Vec<TypeDef>, u32, rustc_hash::FxBuildHasher>,
    types: Vec<Arc<TypeDef>>,
    /// The display table once a non-final type or a subtype was registered (null before:
    /// programs without subtyping never map it).
    displays: *mut *const u32,
}

// SAFETY: `displays` points at the process-wide table, shared by design (see [`Displays`]).
unsafe impl Send for Registry {}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            plain: Default::default(),
            plain_funcs: Default::default(),
            groups: Default::default(),
            types: Vec::new(),
            displays: std::ptr::null_mut(),
        }
    }
}

/// A registered plain function type as a key looked up by its signature alone (one
/// allocation shared with `Registry::types`).
struct FuncKey(Arc<TypeDef>);

impl std::borrow::Borrow<FuncType> for FuncKey {
    fn borrow(&self) -> &FuncType {
        &self.0.func
    }
}

impl std::hash::Hash for FuncKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.func.hash(h)
    }
}

impl PartialEq for FuncKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.func == other.0.func
    }
}

impl Eq for FuncKey {}

/// The most canonical ids a process may have: the size of the display table (reserved address
/// space, touched only as far as ids are used).
pub const MAX_TYPES: usize = 1 << 24;

/// The subtype display table compiled code reads (`VMContext::type_displays`): one pointer
/// per canonical id to its leaked display.
struct Displays(*mut *const u32);

// The table is written only under the registry's lock, before the id it holds is handed
// out, and read-only afterwards.
unsafe impl Send for Displays {}
unsafe impl Sync for Displays {}

/// The base of the display table, for `VMContext::type_displays`: null until a type with
/// subtyping is registered (compiled code reads it only when its module has one, and a
/// module's types are registered when it is loaded).
pub fn displays() -> *const *const u32 {
    lock().displays
}

fn displays_table() -> &'static Displays {
    static D: OnceLock<Displays> = OnceLock::new();
    D.get_or_init(|| {
        // SAFETY: a fresh private mapping, nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MAX_TYPES * size_of::<usize>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        Displays(if p == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            p as *mut *const u32
        })
    })
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    registry().lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// The id of plain type `ty` (one whose concrete types, if any, are canonical ids).
    fn plain_id(&mut self, ty: &TypeDef) -> u32 {
        if ty.sub == SubTypeDecl::PLAIN_FUNC {
            return self.plain_func_id(&ty.func);
        }
        if let Some(id) = self.plain.get(ty) {
            return *id;
        }
        let ty = Arc::new(ty.clone());
        let id = self.push(ty.clone());
        self.plain.insert(ty, id);
        id
    }

    /// [`Self::plain_id`] of a plain function type.
    fn plain_func_id(&mut self, ty: &FuncType) -> u32 {
        if let Some(id) = self.plain_funcs.get(ty) {
            return *id;
        }
        let def = Arc::new(TypeDef {
            func: ty.clone(),
            sub: SubTypeDecl::PLAIN_FUNC,
        });
        let id = self.push(def.clone());
        self.plain_funcs.insert(FuncKey(def), id);
        id
    }

    /// Registers a new type (its concrete types canonical ids) and writes its display.
    fn push(&mut self, ty: Arc<TypeDef>) -> u32 {
        let id = self.types.len() as u32;
        let subtyped = !ty.sub.is_final || ty.sub.supertype.is_some();
        self.types.push(ty);
        if self.displays.is_null() && subtyped {
            // The first type a cast may need a display for: from now on every type has one
            // (written for all earlier ones first). Before, no compiled code reads displays:
            // a module's casts read them only when it has a non-final type.
            self.displays = displays_table().0;
            for earlier in 0..id {
                self.write_display(earlier);
            }
        }
        if !self.displays.is_null() {
            self.write_display(id);
        }
        id
    }

    /// Writes the display of registered type `id`, whose supertype's display exists.
    fn write_display(&self, id: u32) {
        let table = self.displays;
        // Beyond the table no id can be handed out: compiled code would read past it.
        // Sixteen million distinct types are far beyond any process's memory.
        if table.is_null() || id as usize >= MAX_TYPES {
            eprintln!(
                "wasic: cannot record the subtypes of WebAssembly type {id} (the display table \
                 could not be mapped, or the process has too many distinct types)"
            );
            std::process::abort();
        }
        let mut chain: Vec<u32> = match self.types[id as usize].sub.supertype {
            // SAFETY: the supertype is an earlier id, whose display was written.
            Some(s) => unsafe {
                let d = *table.add(s as usize);
                std::slice::from_raw_parts(d.add(1), *d as usize).to_vec()
            },
            None => Vec::new(),
        };
        chain.push(id);
        let mut display = Vec::with_capacity(chain.len() + 1);
        display.push(chain.len() as u32);
        display.extend(chain);
        let display: &'static [u32] = Box::leak(display.into_boxed_slice());
        // SAFETY: entry `id` of the table, written once, before any compiled code that reads
        // displays can see an object or function of type `id`.
        unsafe { *table.add(id as usize) = display.as_ptr() };
    }

    /// The id of the first member of the group whose key is `key`; a new group's members get
    /// consecutive ids, and are kept with [`REC`] references resolved to them.
    fn group_id(&mut self, key: Vec<TypeDef>) -> u32 {
        if let Some(id) = self.groups.get(&key) {
            return *id;
        }
        let first = self.types.len() as u32;
        for t in &key {
            let resolved = t.map_concrete(|i| if i >= REC { first + (i - REC) } else { i });
            self.push(Arc::new(resolved));
        }
        self.groups.insert(key, first);
        first
    }

    /// Whether `id` is `want` or one of its declared subtypes (transitively).
    fn is_subtype(&self, mut id: u32, want: u32) -> bool {
        loop {
            if id == want {
                return true;
            }
            match self.types.get(id as usize).and_then(|t| t.sub.supertype) {
                Some(s) => id = s,
                None => return false,
            }
        }
    }
}

/// The canonical id of function type `ty` (final, without supertype), whose concrete types
/// are canonical ids (stable for the life of the process).
pub fn canonical_id(ty: &FuncType) -> u32 {
    lock().plain_func_id(ty)
}

/// The canonical ids of a module's types, whose concrete types are module type indices,
/// grouped as `rec_groups` says (`ModuleMeta::rec_groups`: empty when every group has one
/// type), with `subtypes` as `ModuleMeta::subtypes` (empty: all plain function types), under
/// one lock (an executable's start-up registers all of them at once). Validation has made
/// every reference point to an earlier type or into its own group.
pub fn canonical_ids(types: &[FuncType], subtypes: &[SubTypeDecl], rec_groups: &[u32]) -> Vec<u32> {
    let mut r = lock();
    r.plain_funcs.reserve(types.len());
    r.types.reserve(types.len());
    let def = |i: usize| TypeDef {
        func: types[i].clone(),
        sub: subtypes.get(i).cloned().unwrap_or(SubTypeDecl::PLAIN_FUNC),
    };
    let mut ids: Vec<u32> = Vec::with_capacity(types.len());
    let sizes = rec_groups
        .iter()
        .map(|&n| n as usize)
        .chain(std::iter::repeat(1));
    let mut start = 0;
    for size in sizes {
        if start >= types.len() {
            break;
        }
        let end = (start + size).min(types.len());
        let plain_func = |i: usize| {
            subtypes
                .get(i)
                .is_none_or(|s| *s == SubTypeDecl::PLAIN_FUNC)
        };
        if end == start + 1 && plain_func(start) && !types[start].refers_to_types() {
            ids.push(r.plain_func_id(&types[start]));
            start += 1;
            continue;
        }
        if end == start + 1 {
            let t = def(start);
            if !t.refers_to_types() {
                let id = r.plain_id(&t);
                ids.push(id);
                start += 1;
                continue;
            }
        }
        let recursive = std::cell::Cell::new(false);
        let key: Vec<TypeDef> = (start..end)
            .map(|i| {
                def(i).map_concrete(|j| {
                    let j = j as usize;
                    if j >= start {
                        recursive.set(true);
                        REC + (j - start) as u32
                    } else {
                        ids[j]
                    }
                })
            })
            .collect();
        // A lone type that refers only to earlier types is a plain type, as the host would
        // write it with their canonical ids.
        let first = match &key[..] {
            [t] if !recursive.get() => r.plain_id(t),
            _ => r.group_id(key),
        };
        ids.extend((0..(end - start) as u32).map(|k| first + k));
        start = end;
    }
    ids
}

/// A module's value type `ty` (concrete types as module type indices) with canonical ids for
/// its concrete types, given the module's canonical ids `ids`.
pub fn canonical_val(ty: ValType, ids: &[u32]) -> ValType {
    ty.map_concrete(|i| ids[i as usize])
}

/// [`canonical_val`] of a reference type.
pub fn canonical_ref(r: RefType, ids: &[u32]) -> RefType {
    r.map_concrete(|i| ids[i as usize])
}

/// The signature behind a canonical id.
pub fn type_of(id: u32) -> Option<FuncType> {
    lock().types.get(id as usize).map(|t| t.func.clone())
}

/// The whole type behind a canonical id.
pub fn def_of(id: u32) -> Option<Arc<TypeDef>> {
    lock().types.get(id as usize).cloned()
}

/// Whether canonical type `id` is `want` or one of its declared subtypes.
pub fn is_subtype(id: u32, want: u32) -> bool {
    id == want || lock().is_subtype(id, want)
}

/// Reference subtyping between canonical reference types, with declared subtyping between
/// concrete types.
pub fn ref_is_subtype(a: RefType, b: RefType) -> bool {
    a.is_subtype_with(b, &is_subtype)
}
