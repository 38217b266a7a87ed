//! Canonical signature ids: one process-wide number per distinct function type, so that
//! `call_indirect` compares two `u32`s even across modules and stores.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wasic_abi::FuncType;

/// Ids by type, and types by id. Fx hashing: the keys are the types of compiled modules, not
/// input worth a DoS-resistant hash, and SipHash with a random seed was a measurable part of
/// every executable's start-up.
type Registry = (
    HashMap<FuncType, u32, rustc_hash::FxBuildHasher>,
    Vec<FuncType>,
);

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// The canonical id of `ty` (stable for the life of the process).
pub fn canonical_id(ty: &FuncType) -> u32 {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = r.0.get(ty) {
        return *id;
    }
    let id = r.1.len() as u32;
    r.1.push(ty.clone());
    r.0.insert(ty.clone(), id);
    id
}

/// The type behind a canonical id.
pub fn type_of(id: u32) -> Option<FuncType> {
    let r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.1.get(id as usize).cloned()
}
