//! Thin wrappers over the few OS calls the runtime makes for memory: anonymous mappings and
//! page protection. Everything above works with [`Mmap`] and never calls `libc::mmap` itself.

use std::io;
use std::ptr;

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// An owned anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// The mapping is plain memory owned by this value.
unsafe impl Send for Mmap {}
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Reserves `len` bytes of address space, inaccessible and not backed by memory.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        Self::map(len, libc::PROT_NONE, libc::MAP_NORESERVE)
    }

    /// Like [`Mmap::reserve`], for a thread stack (no transparent huge pages).
    pub fn reserve_stack(len: usize) -> io::Result<Mmap> {
        Self::map(len, libc::PROT_NONE, libc::MAP_NORESERVE | libc::MAP_STACK)
    }

    /// Maps `len` bytes of zeroed read-write memory.
    pub fn read_write(len: usize) -> io::Result<Mmap> {
        Self::map(len, libc::PROT_READ | libc::PROT_WRITE, 0)
    }

    fn map(len: usize, prot: i32, extra: i32) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap {
                ptr: ptr::NonNull::dangling().as_ptr(),
                len: 0,
            });
        }
        // SAFETY: an anonymous private mapping at an address of the kernel's choice.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: p as *mut u8,
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Changes the protection of `[start, start + len)` (page-aligned, inside the mapping).
    pub fn protect(&self, start: usize, len: usize, prot: i32) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above).
        let r = unsafe { libc::mprotect(self.ptr.add(start) as *mut libc::c_void, len, prot) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Makes `[start, start + len)` readable and writable.
    pub fn make_accessible(&self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ | libc::PROT_WRITE)
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: we own the mapping and nothing refers to it once we are dropped.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
        }
    }
}
