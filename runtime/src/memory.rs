//! Linear memories. Sandbox-critical: this file and `wasic_abi::MEMORY_RESERVATION` are why the
//! compiler may omit bounds checks. Each memory reserves the full reservation up front as
//! inaccessible address space and makes only `[0, length)` accessible, so every out-of-bounds
//! access of compiled code faults (and becomes a trap) and the base never moves on grow.
//!
//! 64-bit memories (memory64) reserve the same region; compiled code checks their accesses
//! explicitly against `VMMemory::length`, so the reservation only has to hold their maximum:
//! a 64-bit memory can grow to [`MAX_PAGES_64`] pages (the whole reservation) at most, and
//! `memory.grow` beyond that fails (returns -1), as the specification allows.
//!
//! Shared memories (threads proposal) are the same thing behind an `Arc` several stores may
//! hold ([`SharedMemory`]): since the base never moves, growing one is a locked `mprotect` and
//! an atomic store of the new length, and every thread sees it on its next access.

use crate::sys::Mmap;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    #[error("a shared memory needs a shared memory type")]
    NotShared,
}

/// The mapping of a linear memory and the record compiled code reads, at a stable address.
/// Behind an `Arc` so that a shared memory can be used by several stores and threads
/// ([`SharedMemory`]); a non-shared memory's region has one owner.
#[derive(Debug)]
struct Region {
    /// What compiled code sees. `base` never changes; `length` changes only in [`Region::grow`],
    /// under `grow_lock`, with an atomic store (compiled code reads it with plain 8-byte loads,
    /// which are atomic on x86-64).
    vm: UnsafeCell<VMMemory>,
    mmap: Mmap,
    ty: MemoryType,
    /// Effective maximum in pages: the type's maximum, the address space and the embedder's cap.
    max_pages: u64,
    /// Serializes `memory.grow` of a shared memory by several threads (the check against the
    /// maximum and the `mprotect` must not interleave).
    grow_lock: Mutex<()>,
}

// SAFETY: `vm.base` and the mapping never change after construction and `vm.length` is only
// written under `grow_lock` with atomic stores (read with atomic loads here), so sharing a
// region between threads adds no race of the runtime's own; accesses to the bytes themselves
// are the guest's (shared memories are racy by design, as in every wasm engine).
unsafe impl Send for Region {}
// SAFETY: as for `Send`.
unsafe impl Sync for Region {}

impl Region {
    fn length(&self) -> &AtomicU64 {
        // SAFETY: `length` is an aligned u64 living as long as `self`, and every access of the
        // runtime to it goes through this atomic view.
        unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.vm.get()).length)) }
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: `base` is written once, before the region is shared.
        unsafe { (*self.vm.get()).base }
    }

    fn grow(&self, delta: u64) -> Option<u64> {
        let _guard = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let old_len = self.length().load(Ordering::Acquire);
        let old = old_len / WASM_PAGE_SIZE;
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        let new_len = new * WASM_PAGE_SIZE;
        self.mmap
            .make_accessible(old_len as usize, (new_len - old_len) as usize)
            .ok()?;
        // Release: a thread that sees the new length also sees the pages accessible.
        self.length().store(new_len, Ordering::Release);
        Some(old)
    }
}

/// A linear memory owned by a store. [`LinearMemory::vm`] is what compiled code sees, at a
/// stable address.
#[derive(Debug)]
pub struct LinearMemory {
    region: Arc<Region>,
}

/// A shared linear memory (threads proposal: `(memory min max shared)`), independent of any
/// store: it can be imported by instances of several stores, on several threads
/// ([`crate::Memory::from_shared`]); every one sees the same bytes and the same length, and
/// `memory.grow` by any of them is seen by all (the base never moves).
#[derive(Clone, Debug)]
pub struct SharedMemory(Arc<Region>);

impl SharedMemory {
    /// A new shared memory of `ty.min` pages; `ty` must be shared (and so have a maximum).
    /// `cap_bytes` is the embedder's limit on its size.
    pub fn new(ty: MemoryType, cap_bytes: Option<u64>) -> Result<SharedMemory, MemoryError> {
        if !ty.shared {
            return Err(MemoryError::NotShared);
        }
        Ok(SharedMemory(LinearMemory::new(ty, cap_bytes)?.region))
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min: self.pages(),
            ..self.0.ty
        }
    }

    pub fn pages(&self) -> u64 {
        self.0.length().load(Ordering::Acquire) / WASM_PAGE_SIZE
    }

    /// Grows by `delta` pages, as `memory.grow` does; returns the old size in pages.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        self.0.grow(delta)
    }

    /// The address of byte 0. Bytes `[0, pages() * 64 KiB)` are accessible as long as this
    /// memory (any clone, or any store using it) lives; other threads may access them at any
    /// time, so go through atomics or raw pointers, not references.
    pub fn base(&self) -> *mut u8 {
        self.0.base()
    }

    /// Copies `out.len()` bytes at `offset` out; `None` (nothing copied) when out of bounds.
    /// A copy racing with other threads' stores sees some mix of old and new bytes, as a
    /// wasm load would.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Option<()> {
        let start = self.checked(offset, out.len())?;
        // SAFETY: in bounds of the accessible bytes (checked, and memories never shrink);
        // raw copies, never references, to bytes other threads may write.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base().add(start), out.as_mut_ptr(), out.len())
        };
        Some(())
    }

    /// Copies `bytes` in at `offset`; `None` (nothing copied) when out of bounds.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Option<()> {
        let start = self.checked(offset, bytes.len())?;
        // SAFETY: as in `read`.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base().add(start), bytes.len())
        };
        Some(())
    }

    fn checked(&self, offset: u64, len: usize) -> Option<usize> {
        let end = offset.checked_add(len as u64)?;
        (end <= self.0.length().load(Ordering::Acquire)).then_some(offset as usize)
    }

    /// Whether `self` and `other` are the same memory.
    pub fn same(&self, other: &SharedMemory) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
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
        let vm = UnsafeCell::new(VMMemory {
            base: mmap.as_ptr(),
            length: len,
        });
        Ok(LinearMemory {
            region: Arc::new(Region {
                vm,
                mmap,
                ty,
                max_pages,
                grow_lock: Mutex::new(()),
            }),
        })
    }

    /// This store's view of a shared memory.
    pub fn from_shared(shared: &SharedMemory) -> LinearMemory {
        LinearMemory {
            region: shared.0.clone(),
        }
    }

    /// The shared memory this is, if it is one.
    pub fn shared(&self) -> Option<SharedMemory> {
        self.region
            .ty
            .shared
            .then(|| SharedMemory(self.region.clone()))
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min: self.pages(),
            ..self.region.ty
        }
    }

    /// The declared type (with the declared minimum), used for import matching.
    pub fn declared_type(&self) -> MemoryType {
        self.region.ty
    }

    /// The record compiled code reads; every store using a shared memory gets the same one.
    pub fn vm(&mut self) -> *mut VMMemory {
        self.region.vm.get()
    }

    pub fn base(&self) -> *mut u8 {
        self.region.base()
    }

    pub fn byte_len(&self) -> u64 {
        self.region.length().load(Ordering::Acquire)
    }

    pub fn pages(&self) -> u64 {
        self.byte_len() / WASM_PAGE_SIZE
    }

    pub fn max_pages(&self) -> u64 {
        self.region.max_pages
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` (memory.grow's -1).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        self.region.grow(delta)
    }

    /// Writes a data segment's `bytes` at `offset` (in bounds: checked by the caller). The
    /// whole pages of a large segment whose bytes lie in a file mapping (the executable) at the
    /// same offset within a page as their target (the compiler places them so:
    /// `wasic_abi::meta::DATA_MAP_MIN`) are mapped copy-on-write from that file instead of
    /// copied: nothing is read until the program touches it. Anything else is copied.
    pub fn init(&mut self, offset: u64, bytes: &[u8]) {
        let (start, len) = (offset as usize, bytes.len());
        assert!(start
            .checked_add(len)
            .is_some_and(|e| e as u64 <= self.byte_len()));
        let mut copied_from = 0;
        if len as u64 >= wasic_abi::meta::DATA_MAP_MIN && !self.region.ty.shared {
            // SAFETY: `[start, start + len)` is accessible (asserted) and nothing else holds a
            // reference into this (non-shared) memory while we have `&mut self`.
            if let Some((head, mapped)) = unsafe { map_from_file(self.base().add(start), bytes) } {
                self.data_mut()[start..start + head].copy_from_slice(&bytes[..head]);
                copied_from = head + mapped;
            }
        }
        // The tail after the mapped pages, or everything when nothing was mapped.
        self.data_mut()[start + copied_from..start + len].copy_from_slice(&bytes[copied_from..]);
    }

    /// The accessible bytes. (Of a shared memory, only while no other thread writes them: the
    /// spec harness and single-threaded embedders; wasi-threads needs raw accesses instead.)
    pub fn data(&self) -> &[u8] {
        // SAFETY: `[base, base + length)` is mapped read-write for as long as we live.
        unsafe { std::slice::from_raw_parts(self.base(), self.byte_len() as usize) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and we hold the only reference in this store (see `data` for
        // a shared memory).
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.byte_len() as usize) }
    }
}

/// Maps the whole pages of `bytes` (inside a private file mapping of this process) over the
/// same-offset pages of `dst`; returns (bytes before the first mapped page, bytes mapped), or
/// `None` (nothing mapped) when `bytes` is not in a file mapping, not page-congruent with
/// `dst`, has no whole page, or anything fails.
///
/// # Safety
/// `[dst, dst + bytes.len())` must be accessible memory of a linear memory that nothing else
/// references.
unsafe fn map_from_file(dst: *mut u8, bytes: &[u8]) -> Option<(usize, usize)> {
    use std::os::unix::fs::MetadataExt;
    const PAGE: usize = wasic_abi::meta::DATA_PAGE as usize;
    let src = bytes.as_ptr() as usize;
    if (dst as usize) % PAGE != src % PAGE {
        return None;
    }
    let head = (PAGE - src % PAGE) % PAGE;
    let mapped = bytes.len().checked_sub(head)? / PAGE * PAGE;
    if mapped == 0 {
        return None;
    }
    let first = src + head;
    // The mapping holding the pages: `start-end perms offset major:minor inode path`.
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| {
        let range = l.split(' ').next().unwrap_or("");
        let (a, b) = range.split_once('-').unwrap_or(("", ""));
        let (a, b) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16));
        matches!((a, b), (Ok(a), Ok(b)) if a <= first && first + mapped <= b)
    })?;
    let mut f = line.split_whitespace();
    let start = usize::from_str_radix(f.next()?.split('-').next()?, 16).ok()?;
    let _perms = f.next()?;
    let file_off = u64::from_str_radix(f.next()?, 16).ok()?;
    let (major, minor) = f.next()?.split_once(':')?;
    let dev = libc::makedev(
        u32::from_str_radix(major, 16).ok()?,
        u32::from_str_radix(minor, 16).ok()?,
    );
    let inode: u64 = f.next()?.parse().ok()?;
    let path: String = f.collect::<Vec<_>>().join(" ");
    if inode == 0 || !path.starts_with('/') {
        return None;
    }
    // The same file the loader mapped (not one renamed into its place since).
    let file = std::fs::File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    if meta.ino() != inode || meta.dev() != dev {
        return None;
    }
    let off = file_off + (first - start) as u64;
    // SAFETY: `[dst + head, dst + head + mapped)` is page-aligned accessible linear memory
    // nothing references (the caller's contract); MAP_FIXED replaces it with a private
    // (copy-on-write) read-write mapping of the same bytes the segment holds.
    let p = unsafe {
        libc::mmap(
            dst.add(head).cast(),
            mapped,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            std::os::fd::AsRawFd::as_raw_fd(&file),
            off as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        // A failed MAP_FIXED may have unmapped the range: make it plain zeroed memory again,
        // for the caller to copy into.
        // SAFETY: as above, an anonymous mapping instead of the file.
        let again = unsafe {
            libc::mmap(
                dst.add(head).cast(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            again != libc::MAP_FAILED,
            "out of memory re-mapping linear memory"
        );
        return None;
    }
    Some((head, mapped))
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
