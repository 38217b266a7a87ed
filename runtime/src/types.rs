//! Canonical signature ids: one process-wide number per distinct function type, so that
//! `call_indirect` compares two `u32`s even across modules and stores.
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
use wasic_abi::{FuncType, RefType, ValType};

/// Marks a reference into the type's own recursion group, in a registry key. Canonical ids
/// stay far below it (one per distinct type of the process).
const REC: u32 = 1 << 31;

/// Ids of plain types (no reference to another type: most of them, looked up without a
/// copy), ids of the first member of each group with references, and types by id. Fx
/// hashing: the keys are the types of compiled modules, not input worth a DoS-resistant
/// hash, and SipHash with a random seed was a measurable part of every executable's start-up.
#[derive(Default)]
struct Registry {
    plain: HashMap<Arc<FuncType>, u32, rustc_hash::FxBuildHasher>,
    groups: HashMap<Vec<FuncType>, u32, rustc_hash::FxBuildHasher>,
    types: Vec<Arc<FuncType>>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

impl Registry {
    /// The id of plain type `ty` (one whose concrete types, if any, are canonical ids).
    fn plain_id(&mut self, ty: &FuncType) -> u32 {
        if let Some(id) = self.plain.get(ty) {
            return *id;
        }
        let id = self.types.len() as u32;
        let ty = Arc::new(ty.clone());
        self.types.push(ty.clone());
        self.plain.insert(ty, id);
        id
    }

    /// The id of the first member of the group whose key is `key`; a new group's members get
    /// consecutive ids, and are kept with [`REC`] references resolved to them.
    fn group_id(&mut self, key: Vec<FuncType>) -> u32 {
        if let Some(id) = self.groups.get(&key) {
            return *id;
        }
        let first = self.types.len() as u32;
        for t in &key {
            let resolved = t.map_concrete(|i| if i >= REC { first + (i - REC) } else { i });
            self.types.push(Arc::new(resolved));
        }
        self.groups.insert(key, first);
        first
    }
}

/// The canonical id of `ty`, whose concrete types are canonical ids (stable for the life of
/// the process).
pub fn canonical_id(ty: &FuncType) -> u32 {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .plain_id(ty)
}

/// The canonical ids of a module's types, whose concrete types are module type indices,
/// grouped as `rec_groups` says (`ModuleMeta::rec_groups`: empty when every group has one
/// type), under one lock (an executable's start-up registers all of them at once).
/// Validation has made every reference point to an earlier type or into its own group.
pub fn canonical_ids(types: &[FuncType], rec_groups: &[u32]) -> Vec<u32> {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.plain.reserve(types.len());
    r.types.reserve(types.len());
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
        let group = &types[start..(start + size).min(types.len())];
        if let [t] = group {
            if !t.refers_to_types() {
                let id = r.plain_id(t);
                ids.push(id);
                start += 1;
                continue;
            }
        }
        let recursive = std::cell::Cell::new(false);
        let key: Vec<FuncType> = group
            .iter()
            .map(|t| {
                t.map_concrete(|j| {
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
        ids.extend((0..group.len() as u32).map(|k| first + k));
        start += group.len();
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

/// The type behind a canonical id.
pub fn type_of(id: u32) -> Option<FuncType> {
    let r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.types.get(id as usize).map(|t| FuncType::clone(t))
}
