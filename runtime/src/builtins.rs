//! The builtins compiled code calls, expanded from the single list in
//! `wasic_abi::for_each_builtin!` into the [`BUILTINS`] table every `VMContext` points to.
//!
//! Each builtin does its work in an inner function returning `Result<_, Trap>` and raises the
//! trap only afterwards, so no value with a destructor is live when `raise` unwinds.
//!
//! `memmove` and `memset` are the C library's own functions: compiled code calls them only
//! after checking the ranges itself (`compiler/src/translate/memory.rs`), with its `vmctx` last
//! for the entry stub, which the C function never sees.

use crate::instance::InstanceData;
use crate::traps::{raise, TrapRecord, Unwind};
use wasic_abi::builtins::VMBuiltins;
use wasic_abi::vmctx::VMContext;
use wasic_abi::Trap;

use libc::c_int;
use std::sync::atomic::Ordering::SeqCst;

#[allow(non_camel_case_types)]
type vmctx = *mut VMContext;
#[allow(non_camel_case_types)]
type ptr = *mut libc::c_void;
#[allow(non_camel_case_types)]
type cptr = *const libc::c_void;

fn instance<'a>(vmctx: vmctx) -> &'a mut InstanceData {
    // SAFETY: compiled code passes its own, live vmctx.
    unsafe { InstanceData::from_vmctx(vmctx) }.expect("builtin called with a foreign vmctx")
}

fn finish<T>(r: Result<T, Trap>) -> T {
    match r {
        Ok(v) => v,
        // SAFETY: builtins are only called by compiled code, and nothing needing drop is live.
        Err(t) => unsafe { raise(Unwind::Trap(TrapRecord::new(t))) },
    }
}

/// `[start, start + len)` as a usize range if it lies within `size`.
fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}

unsafe extern "C" fn memory_grow(vmctx: vmctx, mem: u32, delta: u64) -> u64 {
    let inst = instance(vmctx);
    inst.memory(mem).grow(delta).unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_fill(vmctx: vmctx, mem: u32, dst: u64, val: u32, len: u64) {
    let inst = instance(vmctx);
    let m = inst.memory(mem);
    finish(
        range(dst, len, m.byte_len())
            .ok_or(Trap::MemoryOutOfBounds)
            .map(|r| m.data_mut()[r].fill(val as u8)),
    )
}

unsafe extern "C" fn memory_copy(
    vmctx: vmctx,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let inst = instance(vmctx);
    let (d, s) = (
        inst.memory(dst_mem) as *mut crate::memory::LinearMemory,
        inst.memory(src_mem) as *mut crate::memory::LinearMemory,
    );
    // SAFETY: both memories are live; `ptr::copy` allows the ranges to overlap (same memory).
    let r = unsafe {
        match (
            range(dst, len, (*d).byte_len()),
            range(src, len, (*s).byte_len()),
        ) {
            (Some(dr), Some(sr)) => {
                std::ptr::copy(
                    (*s).base().add(sr.start),
                    (*d).base().add(dr.start),
                    dr.len(),
                );
                Ok(())
            }
            _ => Err(Trap::MemoryOutOfBounds),
        }
    };
    finish(r)
}

unsafe extern "C" fn memory_init(vmctx: vmctx, mem: u32, data: u32, dst: u64, src: u32, len: u32) {
    let inst = instance(vmctx);
    let seg = inst.data_segment(data) as *const [u8];
    let m = inst.memory(mem);
    // SAFETY: the segment lives in the module, which the instance keeps alive.
    let seg = unsafe { &*seg };
    let r = match (
        range(dst, len as u64, m.byte_len()),
        range(src as u64, len as u64, seg.len() as u64),
    ) {
        (Some(dr), Some(sr)) => {
            m.data_mut()[dr].copy_from_slice(&seg[sr]);
            Ok(())
        }
        _ => Err(Trap::MemoryOutOfBounds),
    };
    finish(r)
}

unsafe extern "C" fn data_drop(vmctx: vmctx, data: u32) {
    instance(vmctx).data_dropped[data as usize] = true;
}

unsafe extern "C" fn table_grow(vmctx: vmctx, table: u32, init: u64, delta: u64) -> u64 {
    let inst = instance(vmctx);
    let t = inst.tables[table as usize];
    // SAFETY: the store outlives its instances and is not otherwise borrowed while wasm runs.
    let store = unsafe { &mut *inst.store };
    // SAFETY: `t` is a table of this store (the instance's own or one it imports).
    unsafe { store.grow_table(t, delta, init as usize) }.unwrap_or(u64::MAX)
}

unsafe extern "C" fn table_fill(vmctx: vmctx, table: u32, dst: u64, val: u64, len: u64) {
    let t = instance(vmctx).table(table);
    finish(
        range(dst, len, t.size())
            .ok_or(Trap::TableOutOfBounds)
            .map(|r| t.elems_mut()[r].fill(val as usize)),
    )
}

unsafe extern "C" fn table_copy(
    vmctx: vmctx,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let inst = instance(vmctx);
    let (d, s) = (
        inst.tables[dst_table as usize],
        inst.tables[src_table as usize],
    );
    // SAFETY: both tables are live; `ptr::copy` handles the overlap of a table with itself.
    let r = unsafe {
        match (range(dst, len, (*d).size()), range(src, len, (*s).size())) {
            (Some(dr), Some(sr)) => {
                let sp = (*s).elems().as_ptr().add(sr.start);
                let dp = (*d).elems_mut().as_mut_ptr().add(dr.start);
                std::ptr::copy(sp, dp, dr.len());
                Ok(())
            }
            _ => Err(Trap::TableOutOfBounds),
        }
    };
    finish(r)
}

unsafe extern "C" fn table_init(vmctx: vmctx, table: u32, elem: u32, dst: u64, src: u32, len: u32) {
    let inst = instance(vmctx);
    let seg = &inst.elems[elem as usize] as *const Vec<usize>;
    let t = inst.table(table);
    // SAFETY: the segment vector is not touched while we copy from it.
    let seg = unsafe { &*seg };
    let r = match (
        range(dst, len as u64, t.size()),
        range(src as u64, len as u64, seg.len() as u64),
    ) {
        (Some(dr), Some(sr)) => {
            t.elems_mut()[dr].copy_from_slice(&seg[sr]);
            Ok(())
        }
        _ => Err(Trap::TableOutOfBounds),
    };
    finish(r)
}

unsafe extern "C" fn elem_drop(vmctx: vmctx, elem: u32) {
    instance(vmctx).elems[elem as usize] = Vec::new();
}

unsafe extern "C" fn raise_trap(_vmctx: vmctx, trap: u32) {
    finish::<()>(Err(Trap::from_u8(trap as u8).unwrap_or(Trap::Unreachable)))
}

unsafe extern "C" fn exception_new(vmctx: vmctx, tag: u32) -> u64 {
    let inst = instance(vmctx);
    let (t, n) = (inst.tags[tag as usize], inst.tag_payload_lens[tag as usize]);
    // SAFETY: the store outlives its instances and is not otherwise borrowed while wasm runs.
    let store = unsafe { &mut *inst.store };
    // SAFETY: called by compiled code of this store, on its thread.
    match unsafe { store.new_exception_from_wasm(t, n as usize) } {
        Ok(p) => p as u64,
        // SAFETY: as in `finish`; the message moves into the unwind record.
        Err(full) => unsafe { raise(Unwind::Resource(full.to_string())) },
    }
}

unsafe extern "C" fn throw_ref(_vmctx: vmctx, exn: u64) {
    if exn == 0 {
        finish::<()>(Err(Trap::NullReference));
    }
    // SAFETY: called by compiled code with a live exnref; nothing needing drop is live here.
    unsafe { crate::exceptions::throw(exn as usize as *const wasic_abi::ValRaw) }
}

/// The store of `inst`, for builtins that allocate.
// The store owns the instance: handing out `&mut` from `&self` mirrors the other builtins,
// which reach the store through the instance's raw pointer while wasm is suspended in them.
#[allow(clippy::mut_from_ref)]
fn store_of(inst: &InstanceData) -> &mut crate::store::StoreInner {
    // SAFETY: the store outlives its instances and is not otherwise borrowed while wasm runs.
    unsafe { &mut *inst.store }
}

/// Allocates an object for compiled code, or raises the trap.
fn gc_alloc_in(inst: &InstanceData, ty: u32, bytes: u64, array: bool) -> usize {
    let id = inst.module.type_ids()[ty as usize];
    // SAFETY: builtins run for compiled code of this store, on its thread.
    finish(unsafe { store_of(inst).gc_alloc_from_wasm(id, bytes, array) })
}

unsafe extern "C" fn gc_alloc(vmctx: vmctx, ty: u32, bytes: u32) -> u64 {
    gc_alloc_in(instance(vmctx), ty, u64::from(bytes), false) as u64
}

/// A new zeroed array of `len` elements of type index `ty` of `inst`'s module.
fn new_array(inst: &InstanceData, ty: u32, len: u32) -> usize {
    let size = crate::gc::elem_size(inst.module.meta(), ty);
    let bytes = wasic_abi::gc::array_bytes(size, len).unwrap_or(u64::MAX);
    let p = gc_alloc_in(inst, ty, bytes, true);
    // SAFETY: a new array object of `bytes` bytes.
    unsafe { *((p + wasic_abi::gc::ARRAY_LEN_OFFSET as usize) as *mut u32) = len };
    p
}

unsafe extern "C" fn array_new(vmctx: vmctx, ty: u32, len: u32) -> u64 {
    new_array(instance(vmctx), ty, len) as u64
}

/// The bytes of `len` elements of `size` bytes from byte `offset` of data segment `data`.
fn data_range(
    inst: &InstanceData,
    data: u32,
    offset: u32,
    len: u32,
    size: u32,
) -> Result<*const u8, Trap> {
    let seg = inst.data_segment(data);
    let bytes = u64::from(len) * u64::from(size);
    range(u64::from(offset), bytes, seg.len() as u64)
        .map(|r| seg[r].as_ptr())
        .ok_or(Trap::MemoryOutOfBounds)
}

unsafe extern "C" fn array_new_data(
    vmctx: vmctx,
    ty: u32,
    data: u32,
    offset: u32,
    len: u32,
) -> u64 {
    let inst = instance(vmctx);
    let size = crate::gc::elem_size(inst.module.meta(), ty);
    let src = finish(data_range(inst, data, offset, len, size));
    let p = new_array(inst, ty, len);
    // SAFETY: the segment (kept alive by the module) has the bytes; the new array has room.
    unsafe {
        std::ptr::copy_nonoverlapping(
            src,
            (p + wasic_abi::gc::ARRAY_DATA_OFFSET as usize) as *mut u8,
            len as usize * size as usize,
        )
    };
    p as u64
}

unsafe extern "C" fn array_new_elem(
    vmctx: vmctx,
    ty: u32,
    elem: u32,
    offset: u32,
    len: u32,
) -> u64 {
    let inst = instance(vmctx);
    let seg_len = inst.elems[elem as usize].len() as u64;
    let r = finish(range(u64::from(offset), u64::from(len), seg_len).ok_or(Trap::TableOutOfBounds));
    // The segment is a collection root, so its objects survive the allocation.
    let p = new_array(inst, ty, len);
    let seg = &inst.elems[elem as usize][r];
    // SAFETY: the new array has `len` word elements.
    unsafe {
        std::ptr::copy_nonoverlapping(
            seg.as_ptr(),
            (p + wasic_abi::gc::ARRAY_DATA_OFFSET as usize) as *mut usize,
            seg.len(),
        )
    };
    p as u64
}

unsafe extern "C" fn array_init_data(
    vmctx: vmctx,
    ty: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    let inst = instance(vmctx);
    let size = crate::gc::elem_size(inst.module.meta(), ty);
    let from = finish(data_range(inst, data, src, len, size));
    // SAFETY: compiled code checked that `len` elements at `dst` are in the array.
    unsafe { std::ptr::copy(from, dst as *mut u8, len as usize * size as usize) };
}

unsafe extern "C" fn array_init_elem(vmctx: vmctx, elem: u32, dst: u64, src: u32, len: u32) {
    let inst = instance(vmctx);
    let seg = &inst.elems[elem as usize];
    let r = finish(
        range(u64::from(src), u64::from(len), seg.len() as u64).ok_or(Trap::TableOutOfBounds),
    );
    // SAFETY: compiled code checked that `len` word elements at `dst` are in the array.
    unsafe { std::ptr::copy(seg[r].as_ptr(), dst as *mut usize, len as usize) };
}

/// The native address of byte `addr` of memory `mem`, which compiled code checked to hold an
/// aligned cell of the waited-on width (`compiler/src/translate/atomics.rs`).
fn cell(vmctx: vmctx, mem: u32, addr: u64) -> usize {
    let m = instance(vmctx).memory(mem);
    debug_assert!(addr < m.byte_len());
    m.base() as usize + addr as usize
}

/// The builtins' result of a wait: its code, or the `--timeout` watchdog's trap.
fn wait_result(r: Option<crate::parking::WaitResult>) -> u32 {
    finish(r.map(|r| r as u32).ok_or(Trap::Interrupted))
}

unsafe extern "C" fn memory_atomic_wait32(
    vmctx: vmctx,
    mem: u32,
    addr: u64,
    expected: u32,
    timeout: u64,
) -> u32 {
    let p = cell(vmctx, mem, addr);
    let matches = || {
        // SAFETY: `p` is an aligned, in-bounds cell of a live memory (checked by compiled code;
        // memories never shrink), accessed atomically by every thread that shares it.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(p as *mut u32) }.load(SeqCst) == expected
    };
    wait_result(crate::parking::wait(
        p,
        matches,
        crate::parking::timeout_of(timeout),
        crate::traps::interrupt::pending,
    ))
}

unsafe extern "C" fn memory_atomic_wait64(
    vmctx: vmctx,
    mem: u32,
    addr: u64,
    expected: u64,
    timeout: u64,
) -> u32 {
    let p = cell(vmctx, mem, addr);
    let matches = || {
        // SAFETY: as in `memory_atomic_wait32`, for an 8-byte-aligned cell.
        unsafe { std::sync::atomic::AtomicU64::from_ptr(p as *mut u64) }.load(SeqCst) == expected
    };
    wait_result(crate::parking::wait(
        p,
        matches,
        crate::parking::timeout_of(timeout),
        crate::traps::interrupt::pending,
    ))
}

unsafe extern "C" fn memory_atomic_notify(vmctx: vmctx, mem: u32, addr: u64, count: u32) -> u32 {
    crate::parking::notify(cell(vmctx, mem, addr), count)
}

unsafe extern "C" fn memmove(dst: ptr, src: cptr, len: usize, _vmctx: vmctx) -> ptr {
    // SAFETY: compiled code checked that both ranges lie in their linear memories.
    unsafe { libc::memmove(dst, src, len) }
}

unsafe extern "C" fn memset(dst: ptr, val: c_int, len: usize, _vmctx: vmctx) -> ptr {
    // SAFETY: compiled code checked that the range lies in its linear memory.
    unsafe { libc::memset(dst, val, len) }
}

/// The argument register (C convention) of the `vmctx` among a builtin's parameter types.
macro_rules! vmctx_reg {
    (vmctx $(, $t:ident)*) => {
        "rdi"
    };
    ($a:ident, vmctx $(, $t:ident)*) => {
        "rsi"
    };
    ($a:ident, $b:ident, vmctx $(, $t:ident)*) => {
        "rdx"
    };
    ($a:ident, $b:ident, $c:ident, vmctx $(, $t:ident)*) => {
        "rcx"
    };
}

macro_rules! builtin_table {
    ($( $(#[$attr:meta])* $name:ident($($arg:ident: $ty:ident),*) $(-> $ret:ident)?; )*) => {
        /// The table of builtins every `VMContext` points to: each entry runs its builtin
        /// through `wasic_host_call`, which keeps host code off the wasm stack's guard.
        pub static BUILTINS: VMBuiltins = VMBuiltins {
            fns: [$({
                // Checks the implementation against the declared signature.
                const _: unsafe extern "C" fn($($ty),*) $(-> $ret)? = $name;
                crate::traps::enter::host_entry!($name, vmctx_reg!($($ty),*))
            },)*],
        };
    };
}
wasic_abi::for_each_builtin!(builtin_table);
