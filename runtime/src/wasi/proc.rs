//! Process-level calls: `proc_exit`, `proc_raise`, `sched_yield` and `random_get`.

use super::ctx::WasiCtx;
use super::errno::{cvt, Errno};
use super::host::{interrupted, retry};
use super::memory::GuestMemory;
use super::{done, WasiExit};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

pub fn random_get(_ctx: &mut WasiCtx, mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    let (buf, len) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let mut mem = GuestMemory::new(mem);
        let mut dst = mem.slice_mut(buf, len)?;
        // getrandom may return fewer bytes than asked (large requests, signals); a request
        // of gigabytes takes seconds, so a timeout is checked between rounds.
        while !dst.is_empty() {
            interrupted()?;
            let n = retry(|| unsafe { libc::getrandom(dst.as_mut_ptr().cast(), dst.len(), 0) })?;
            dst = &mut dst[n as usize..];
        }
        Ok(())
    })
}

pub fn proc_exit(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    Err(WasiExit::Exit(a[0].as_i32()))
}

pub fn proc_raise(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    // Signals do not exist for a WASI guest; wasmtime answers ENOTSUP as well.
    done(a, || Err(Errno::NOTSUP))
}

pub fn sched_yield(_ctx: &mut WasiCtx, _mem: &mut [u8], a: &mut [ValRaw]) -> Ret {
    done(a, || cvt(unsafe { libc::sched_yield() }).map(drop))
}
