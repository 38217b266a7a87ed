//! Canonical signature ids: one process-wide number per distinct function type, so that
//! `call_indirect` compares two `u32`s even across modules and stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wasic_abi::FuncType;

/// Ids by type, and types by id, sharing one copy of each type. Fx hashing: the keys are the
/// types of compiled modules, not input worth a DoS-resistant hash, and SipHash with a random
/// seed was a measurable part of every executable's start-up.
type Registry = (
    HashMap<Arc<FuncType>, u32, rustc_hash::FxBuildHasher>,
    Vec<Arc<FuncType>>,
);

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn id_in(r: &mut Registry, ty: &FuncType) -> u32 {
    if let Some(id) = r.0.get(ty) {
        return *id;
    }
    let id = r.1.len() as u32;
    let ty = Arc::new(ty.clone());
    r.1.push(ty.clone());
    r.0.insert(ty, id);
    id
}

/// The canonical id of `ty` (stable for the life of the process).
pub fn canonical_id(ty: &FuncType) -> u32 {
    id_in(
        &mut registry().lock().unwrap_or_else(|e| e.into_inner()),
        ty,
    )
}

/// The canonical ids of a module's types, under one lock (an executable's start-up registers
/// all of them at once).
pub fn canonical_ids(types: &[FuncType]) -> Vec<u32> {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.0.reserve(types.len());
    r.1.reserve(types.len());
    types.iter().map(|t| id_in(&mut r, t)).collect()
}

/// The type behind a canonical id.
pub fn type_of(id: u32) -> Option<FuncType> {
    let r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.1.get(id as usize).map(|t| FuncType::clone(t))
}
