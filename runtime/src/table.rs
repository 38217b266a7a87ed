//! Tables: a growable run of pointer-sized elements behind a [`VMTable`] at a stable address
//! (compiled code reloads `base` on every access because `grow` may move it).

use wasic_abi::vmctx::VMTable;
use wasic_abi::TableType;

/// The most elements any table may have, whatever its type says: keeps a hostile module from
/// exhausting host memory through `table.grow`.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

#[derive(Debug)]
pub struct Table {
    vm: Box<VMTable>,
    elems: Vec<usize>,
    ty: TableType,
}

impl Table {
    pub fn new(ty: TableType, init: usize) -> Option<Table> {
        if ty.min > MAX_TABLE_ELEMENTS {
            return None;
        }
        let mut elems = vec![init; ty.min as usize];
        let vm = Box::new(VMTable {
            base: elems.as_mut_ptr(),
            length: ty.min,
        });
        Some(Table { vm, elems, ty })
    }

    pub fn ty(&self) -> TableType {
        TableType {
            min: self.size(),
            ..self.ty
        }
    }

    pub fn declared_type(&self) -> TableType {
        self.ty
    }

    pub fn vm(&mut self) -> *mut VMTable {
        &mut *self.vm
    }

    pub fn size(&self) -> u64 {
        self.elems.len() as u64
    }

    pub fn get(&self, i: u64) -> Option<usize> {
        self.elems.get(usize::try_from(i).ok()?).copied()
    }

    pub fn set(&mut self, i: u64, v: usize) -> bool {
        match self.elems.get_mut(i as usize) {
            Some(e) if i <= usize::MAX as u64 => {
                *e = v;
                true
            }
            _ => false,
        }
    }

    pub fn elems(&self) -> &[usize] {
        &self.elems
    }

    pub fn elems_mut(&mut self) -> &mut [usize] {
        &mut self.elems
    }

    /// Grows by `delta` elements set to `init`; returns the old size or `None` (table.grow's -1).
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        let max = self
            .ty
            .max
            .unwrap_or(u32::MAX as u64)
            .min(MAX_TABLE_ELEMENTS);
        if new > max {
            return None;
        }
        self.elems.resize(new as usize, init);
        self.vm.base = self.elems.as_mut_ptr();
        self.vm.length = new;
        Some(old)
    }
}
