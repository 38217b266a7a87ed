//! Bounds-checked access to the guest's linear memory.
//!
//! Every guest pointer and length goes through [`GuestMemory`]: ranges are computed in `u64`
//! (a `u32` pointer plus a `u32` length cannot overflow it) and compared with the memory size,
//! so an out-of-bounds or wrapping range yields `EFAULT` instead of a panic or a host access.
//! Guest memory is little-endian and may be unaligned, so values are assembled byte-wise.
//!
//! The memory may be shared with other threads running wasm (wasi-threads), so no Rust
//! reference to its bytes is ever made here: every access copies through raw pointers
//! (`ptr::copy_nonoverlapping`), as wasm's own racy accesses would, and host calls get raw
//! pointers (`iovec`s). What another thread writes meanwhile is the guest's race, never
//! undefined behaviour of ours.

use super::errno::Errno;
use std::marker::PhantomData;
use std::ops::Range;

/// A view of guest memory 0 (possibly empty when the module has no memory).
pub struct GuestMemory<'a> {
    base: *mut u8,
    len: usize,
    _memory: PhantomData<&'a mut [u8]>,
}

/// One `iovec`/`ciovec` after validation: a range that lies inside guest memory.
pub type GuestRange = Range<usize>;

impl<'a> GuestMemory<'a> {
    pub fn new(mem: &'a mut [u8]) -> Self {
        GuestMemory {
            base: mem.as_mut_ptr(),
            len: mem.len(),
            _memory: PhantomData,
        }
    }

    /// A view of `len` bytes at `base`.
    ///
    /// # Safety
    /// `[base, base + len)` must stay mapped read-write for `'a`, and nothing may hold a Rust
    /// reference to any of it meanwhile (other threads' wasm code may access it).
    pub unsafe fn from_raw(base: *mut u8, len: usize) -> Self {
        GuestMemory {
            base,
            len,
            _memory: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The host range of `len` bytes at guest address `ptr`, or `EFAULT`.
    pub fn range(&self, ptr: u32, len: u32) -> Result<GuestRange, Errno> {
        self.range64(ptr as u64, len as u64)
    }

    /// Like [`Self::range`] for addresses computed by the host (array elements), which are
    /// checked in `u64` and may exceed `u32`.
    fn range64(&self, ptr: u64, len: u64) -> Result<GuestRange, Errno> {
        let end = ptr.checked_add(len).ok_or(Errno::FAULT)?;
        if end > self.len as u64 {
            return Err(Errno::FAULT);
        }
        Ok(ptr as usize..end as usize)
    }

    /// Address of element `index` of an array of `size`-byte elements at `base`.
    pub fn elem(base: u32, index: u32, size: u32) -> u64 {
        base as u64 + index as u64 * size as u64
    }

    /// A raw pointer to a validated range, for handing guest buffers straight to `readv` & co.
    pub fn ptr_mut(&mut self, r: &GuestRange) -> *mut u8 {
        assert!(r.start <= r.end && r.end <= self.len, "range was validated");
        // SAFETY: in bounds (checked above) of the mapping `from_raw`'s caller vouched for.
        unsafe { self.base.add(r.start) }
    }

    /// Copies `out.len()` bytes at guest address `ptr` out.
    fn get(&self, ptr: u64, out: &mut [u8]) -> Result<(), Errno> {
        let r = self.range64(ptr, out.len() as u64)?;
        // SAFETY: `r` is in bounds; `out` is host memory, disjoint from the guest's.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(r.start), out.as_mut_ptr(), r.len()) };
        Ok(())
    }

    fn array<const N: usize>(&self, ptr: u64) -> Result<[u8; N], Errno> {
        let mut out = [0; N];
        self.get(ptr, &mut out)?;
        Ok(out)
    }

    fn put(&mut self, ptr: u64, bytes: &[u8]) -> Result<(), Errno> {
        let r = self.range64(ptr, bytes.len() as u64)?;
        // SAFETY: as in `get`, the other way round.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(r.start), r.len()) };
        Ok(())
    }

    pub fn read_u8(&self, ptr: u64) -> Result<u8, Errno> {
        Ok(self.array::<1>(ptr)?[0])
    }
    pub fn read_u16(&self, ptr: u64) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }
    pub fn read_u32(&self, ptr: u64) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }
    pub fn read_u64(&self, ptr: u64) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }
    pub fn write_u8(&mut self, ptr: u64, v: u8) -> Result<(), Errno> {
        self.put(ptr, &[v])
    }
    pub fn write_u16(&mut self, ptr: u64, v: u16) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }
    pub fn write_u32(&mut self, ptr: u64, v: u32) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }
    pub fn write_u64(&mut self, ptr: u64, v: u64) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }
    pub fn write_bytes(&mut self, ptr: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.put(ptr, bytes)
    }

    /// Fails with `EFAULT` unless `len` bytes at `ptr` are in bounds. Used before side effects
    /// (opening a file, accepting a connection) whose result must then be written back.
    pub fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        self.range(ptr, len).map(drop)
    }

    /// Reads and validates an array of `count` (c)iovecs (`{buf: u32, buf_len: u32}`, 8 bytes).
    /// At most `IOV_MAX` entries are kept: a shorter transfer is always allowed.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<GuestRange>, Errno> {
        self.range64(ptr as u64, count as u64 * 8)?;
        let mut out = Vec::with_capacity(count.min(IOV_MAX) as usize);
        for i in 0..count.min(IOV_MAX) {
            let at = Self::elem(ptr, i, 8);
            let buf = self.read_u32(at)?;
            let len = self.read_u32(at + 4)?;
            out.push(self.range(buf, len)?);
        }
        Ok(out)
    }

    /// Host `iovec`s pointing into guest memory for validated ranges. They stay valid while
    /// this `GuestMemory` is borrowed mutably by the caller.
    pub fn host_iovecs(&mut self, ranges: &[GuestRange]) -> Vec<libc::iovec> {
        ranges
            .iter()
            .map(|r| libc::iovec {
                iov_base: self.ptr_mut(r).cast(),
                iov_len: r.len(),
            })
            .collect()
    }

    /// A guest string (path, symlink target) copied out, length-checked.
    pub fn string(&self, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
        let mut out = vec![0; self.range(ptr, len)?.len()];
        self.get(ptr as u64, &mut out)?;
        Ok(out)
    }
}

/// Linux's limit on iovecs per call.
pub const IOV_MAX: u32 = 1024;
