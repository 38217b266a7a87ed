//! Tables: a growable run of pointer-sized elements behind a [`VMTable`] at a stable address
//! (compiled code reloads `base` on every access because `grow` may move it).
//!
//! Limits: each table holds at most its type's maximum and [`MAX_TABLE_ELEMENTS`]; all tables
//! of a store together hold at most the store's `max_table_elements` (counted when a table is
//! made and when it grows, like wasmtime's resource limiter): `table.grow` beyond it returns
//! -1, and making a table beyond it fails with `Error::Resource`.

use crate::error::Error;
use crate::store::StoreInner;
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
        let index_max = if self.ty.table64 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let max = self.ty.max.unwrap_or(index_max).min(MAX_TABLE_ELEMENTS);
        if new > max {
            return None;
        }
        // Host memory running out is table.grow's -1 too, not an abort.
        self.elems.try_reserve(delta as usize).ok()?;
        self.elems.resize(new as usize, init);
        self.vm.base = self.elems.as_mut_ptr();
        self.vm.length = new;
        Some(old)
    }
}

impl StoreInner {
    /// A new table of this store of type `ty` with its elements set to `init`, counted against
    /// the store's `max_table_elements`.
    pub(crate) fn new_table(&mut self, ty: TableType, init: usize) -> Result<*mut Table, Error> {
        let too_large = |why: String| {
            Error::Resource(format!(
                "table minimum size of {} elements exceeds table limits ({why})",
                ty.min
            ))
        };
        let per_table = || too_large(format!("at most {MAX_TABLE_ELEMENTS} elements per table"));
        if ty.min > MAX_TABLE_ELEMENTS {
            return Err(per_table());
        }
        let total = self.table_elements + ty.min;
        if let Some(max) = self.config.max_table_elements.filter(|m| total > *m) {
            return Err(too_large(format!(
                "the store's tables may hold {max} elements together, {} are in use",
                self.table_elements
            )));
        }
        let mut t = Box::new(Table::new(ty, init).ok_or_else(per_table)?);
        let p: *mut Table = &mut *t;
        self.tables.push(t);
        self.table_elements = total;
        Ok(p)
    }

    /// `table.grow` of table `t`: the old size, or `None` (-1) beyond the table's or the
    /// store's limits.
    ///
    /// # Safety
    /// `t` must be a live table of this store.
    pub(crate) unsafe fn grow_table(
        &mut self,
        t: *mut Table,
        delta: u64,
        init: usize,
    ) -> Option<u64> {
        let total = self.table_elements.checked_add(delta)?;
        if self.config.max_table_elements.is_some_and(|m| total > m) {
            return None;
        }
        // SAFETY: forwarded from the caller; the table is a separate allocation of the store.
        let old = unsafe { (*t).grow(delta, init) }?;
        self.table_elements = total;
        Some(old)
    }
}
