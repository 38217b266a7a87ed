//! Resolving imports by name: a map from (module, name) to what to provide.

use crate::error::Error;
use crate::instance::{Extern, Instance};
use crate::module::Module;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Linker {
    /// Definitions by module name, then by name: looked up with `&str`s, no allocation.
    defs: HashMap<String, HashMap<String, Extern>>,
}

impl Linker {
    pub fn new() -> Linker {
        Linker::default()
    }

    pub fn define(&mut self, module: &str, name: &str, ext: Extern) -> &mut Self {
        self.defs
            .entry(module.to_string())
            .or_default()
            .insert(name.to_string(), ext);
        self
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn define_instance(&mut self, module: &str, instance: &Instance) -> &mut Self {
        for (name, ext) in instance.exports() {
            self.define(module, &name, ext);
        }
        self
    }

    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.defs.get(module)?.get(name).copied()
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(&self, store: &mut Store, module: &Arc<Module>) -> Result<Instance, Error> {
        let imports = module
            .meta()
            .imports
            .iter()
            .map(|i| {
                self.get(&i.module, &i.name)
                    .ok_or_else(|| unknown_import(&i.module, &i.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Instance::new(store, module, &imports)
    }
}

/// The error for an import nothing defines.
pub(crate) fn unknown_import(module: &str, name: &str) -> Error {
    Error::Link(format!("unknown import: `{module}`.`{name}`"))
}
