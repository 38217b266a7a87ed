//! `args_*` and `environ_*`: the program's arguments and environment, copied out to the guest.

use super::ctx::WasiCtx;
use super::errno::Errno;
use super::memory::GuestMemory;
use super::{done, WasiExit};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

/// Count and total size (each string plus its NUL) of a string list, as `u32`s.
fn sizes(list: &[Vec<u8>]) -> Result<(u32, u32), Errno> {
    let count = u32::try_from(list.len()).map_err(|_| Errno::OVERFLOW)?;
    let total: usize = list.iter().map(|s| s.len() + 1).sum();
    Ok((count, u32::try_from(total).map_err(|_| Errno::OVERFLOW)?))
}

/// Writes the `char*` array at `ptrs` and the NUL-terminated strings at `buf`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    list: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let (count, total) = sizes(list)?;
    mem.check(ptrs, count.checked_mul(4).ok_or(Errno::FAULT)?)?;
    mem.check(buf, total)?;
    let mut at = buf as u64;
    for (i, s) in list.iter().enumerate() {
        mem.write_u32(GuestMemory::elem(ptrs, i as u32, 4), at as u32)?;
        mem.write_bytes(at, s)?;
        mem.write_u8(at + s.len() as u64, 0)?;
        at += s.len() as u64 + 1;
    }
    Ok(())
}

fn write_sizes(
    mem: &mut GuestMemory<'_>,
    list: &[Vec<u8>],
    count_ptr: u32,
    size_ptr: u32,
) -> Result<(), Errno> {
    let (count, total) = sizes(list)?;
    mem.check(count_ptr, 4)?;
    mem.check(size_ptr, 4)?;
    mem.write_u32(count_ptr as u64, count)?;
    mem.write_u32(size_ptr as u64, total)
}

pub fn args_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (ptrs, buf) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_strings(mem, &ctx.args, ptrs, buf))
}

pub fn args_sizes_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (count, size) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_sizes(mem, &ctx.args, count, size))
}

pub fn environ_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (ptrs, buf) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_strings(mem, &ctx.env, ptrs, buf))
}

pub fn environ_sizes_get(ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (count, size) = (a[0].as_u32(), a[1].as_u32());
    done(a, || write_sizes(mem, &ctx.env, count, size))
}
