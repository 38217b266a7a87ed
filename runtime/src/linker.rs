//! Resolving imports by name: a map from (module, name) to what to provide.

use crate::error::Error;
use crate::instance::{Extern, Instance};
use crate::module::Module;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Linker {
    defs: HashMap<(String, String), Extern>,
}

impl Linker {
    pub fn new() -> Linker {
        Linker::default()
    }

    pub fn define(&mut self, module: &str, name: &str, ext: Extern) -> &mut Self {
        self.defs
            .insert((module.to_string(), name.to_string()), ext);
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
        self.defs
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(&self, store: &mut Store, module: &Arc<Module>) -> Result<Instance, Error> {
        let imports = module
            .meta()
            .imports
            .iter()
            .map(|i| {
                self.get(&i.module, &i.name).ok_or_else(|| {
                    Error::Link(format!("unknown import: `{}`.`{}`", i.module, i.name))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Instance::new(store, module, &imports)
    }
}
