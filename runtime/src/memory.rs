//! Linear memories. Sandbox-critical: this file and `wasic_abi::MEMORY_RESERVATION` are why the
//! compiler may omit bounds checks. Each memory reserves the full reservation up front as
//! inaccessible address space and makes only `[0, length)` accessible, so every out-of-bounds
//! access of compiled code faults (and becomes a trap) and the base never moves on grow.
//!
//! 64-bit memories (memory64) reserve the same region; compiled code checks their accesses
//! explicitly against `VMMemory::length`, so the reservation only has to hold their maximum:
//! a 64-bit memory can grow to [`MAX_PAGES_64`] pages (the whole reservation) at most, and
//! `memory.grow` beyond that fails (returns -1), as the specification allows.

use crate::sys::Mmap;
use wasic_abi::vmctx::VMMemory;
use wasic_abi::{MemoryType, MEMORY_RESERVATION, WASM_PAGE_SIZE};

/// The largest number of pages a 32-bit memory can have.
pub const MAX_PAGES_32: u64 = 1 << 16;
/// The largest number of pages a 64-bit memory can have in wasic: its reservation, so that its
/// base never moves.
pub const MAX_PAGES_64: u64 = MEMORY_RESERVATION / WASM_PAGE_SIZE;

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("cannot reserve linear memory: {0}")]
    Reserve(std::io::Error),
    #[error("memory minimum of {0} pages exceeds the limit of {1} pages")]
    TooLarge(u64, u64),
}

/// A linear memory owned by a store. `vm` is what compiled code sees, at a stable address.
#[derive(Debug)]
pub struct LinearMemory {
    vm: Box<VMMemory>,
    mmap: Mmap,
    ty: MemoryType,
    /// Effective maximum in pages: the type's maximum, the address space and the embedder's cap.
    max_pages: u64,
}

impl LinearMemory {
    /// Creates a memory of `ty.min` pages. `cap_bytes` is the embedder's limit on its size.
    pub fn new(ty: MemoryType, cap_bytes: Option<u64>) -> Result<LinearMemory, MemoryError> {
        let limit = if ty.memory64 {
            MAX_PAGES_64
        } else {
            MAX_PAGES_32
        };
        let mut max_pages = ty.max.unwrap_or(limit).min(limit);
        if let Some(cap) = cap_bytes {
            max_pages = max_pages.min(cap / WASM_PAGE_SIZE);
        }
        if ty.min > max_pages {
            return Err(MemoryError::TooLarge(ty.min, max_pages));
        }
        let mmap = Mmap::reserve(MEMORY_RESERVATION as usize).map_err(MemoryError::Reserve)?;
        let len = ty.min * WASM_PAGE_SIZE;
        mmap.make_accessible(0, len as usize)
            .map_err(MemoryError::Reserve)?;
        let vm = Box::new(VMMemory {
            base: mmap.as_ptr(),
            length: len,
        });
        Ok(LinearMemory {
            vm,
            mmap,
            ty,
            max_pages,
        })
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min: self.pages(),
            ..self.ty
        }
    }

    /// The declared type (with the declared minimum), used for import matching.
    pub fn declared_type(&self) -> MemoryType {
        self.ty
    }

    pub fn vm(&mut self) -> *mut VMMemory {
        &mut *self.vm
    }

    pub fn base(&self) -> *mut u8 {
        self.vm.base
    }

    pub fn byte_len(&self) -> u64 {
        self.vm.length
    }

    pub fn pages(&self) -> u64 {
        self.vm.length / WASM_PAGE_SIZE
    }

    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` (memory.grow's -1).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        let old_len = self.vm.length as usize;
        let new_len = (new * WASM_PAGE_SIZE) as usize;
        self.mmap.make_accessible(old_len, new_len - old_len).ok()?;
        self.vm.length = new_len as u64;
        Some(old)
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `[base, base + length)` is mapped read-write for as long as we live.
        unsafe { std::slice::from_raw_parts(self.vm.base, self.vm.length as usize) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and we hold the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.vm.base, self.vm.length as usize) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            min,
            max,
            memory64: false,
            shared: false,
        }
    }

    #[test]
    fn memory64_grows_up_to_its_reservation_and_keeps_the_base() {
        let t = MemoryType {
            memory64: true,
            ..ty(1, None)
        };
        let mut m = LinearMemory::new(t, None).unwrap();
        let base = m.base();
        assert_eq!(m.max_pages(), MAX_PAGES_64);
        assert_eq!(m.grow(MAX_PAGES_32), Some(1));
        assert_eq!(m.base(), base);
        assert_eq!(m.grow(MAX_PAGES_64), None);
        assert_eq!(m.grow(u64::MAX), None);
        m.data_mut()[(MAX_PAGES_32 * WASM_PAGE_SIZE) as usize] = 7;
        assert!(LinearMemory::new(ty(0, Some(1 << 48)), None).is_ok());
        let huge = MemoryType {
            memory64: true,
            ..ty(MAX_PAGES_64 + 1, None)
        };
        assert!(LinearMemory::new(huge, None).is_err());
    }

    #[test]
    fn grow_honours_the_declared_maximum_and_keeps_the_base() {
        let mut m = LinearMemory::new(ty(1, Some(3)), None).unwrap();
        let base = m.base();
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.pages(), 3);
        assert_eq!(m.base(), base);
        m.data_mut()[3 * 65536 - 1] = 7;
        assert_eq!(m.data()[3 * 65536 - 1], 7);
    }

    #[test]
    fn embedder_cap_limits_growth() {
        let mut m = LinearMemory::new(ty(1, None), Some(2 * WASM_PAGE_SIZE)).unwrap();
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(1), None);
        assert!(LinearMemory::new(ty(3, None), Some(2 * WASM_PAGE_SIZE)).is_err());
    }
}
