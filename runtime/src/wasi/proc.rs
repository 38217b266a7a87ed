//! Process-level calls: `proc_exit`, `proc_raise`, `sched_yield` and `random_get`.

use super::ctx::WasiCtx;
use super::errno::{cvt, Errno};
use super::host::{interrupted, retry};
use super::memory::GuestMemory;
use super::{done, WasiExit};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

pub fn random_get(_ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (buf, len) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let mut dst = mem.range(buf, len)?;
        // getrandom may return fewer bytes than asked (large requests, signals); a request
        // of gigabytes takes seconds, so a timeout is checked between rounds.
        while !dst.is_empty() {
            interrupted()?;
            let p = mem.ptr_mut(&dst);
            // SAFETY: the kernel writes into the validated guest range.
            let n = retry(|| unsafe { libc::getrandom(p.cast(), dst.len(), 0) })?;
            dst.start += n as usize;
        }
        Ok(())
    })
}

pub fn proc_exit(_ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    Err(WasiExit::Exit(a[0].as_i32()))
}

pub fn proc_raise(_ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    // Signals do not exist for a WASI guest; wasmtime answers ENOTSUP as well.
    done(a, || Err(Errno::NOTSUP))
}

pub fn sched_yield(_ctx: &WasiCtx, _mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    done(a, || cvt(unsafe { libc::sched_yield() }).map(drop))
}
