//! `clock_res_get` and `clock_time_get`: the four WASI clocks on their host counterparts.

use super::ctx::WasiCtx;
use super::errno::{cvt, Errno};
use super::memory::GuestMemory;
use super::types::clockid;
use super::{done, WasiExit};
use wasic_abi::ValRaw;

type Ret = Result<(), WasiExit>;

fn host_clock(id: u32) -> Result<libc::clockid_t, Errno> {
    Ok(match id {
        clockid::REALTIME => libc::CLOCK_REALTIME,
        clockid::MONOTONIC => libc::CLOCK_MONOTONIC,
        clockid::PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        clockid::THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::INVAL),
    })
}

fn ns(ts: libc::timespec) -> Result<u64, Errno> {
    (ts.tv_sec as u64)
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(ts.tv_nsec as u64))
        .ok_or(Errno::OVERFLOW)
}

/// The current time of WASI clock `id` in nanoseconds.
pub(crate) fn clock_ns(id: u32) -> Result<u64, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    cvt(unsafe { libc::clock_gettime(host_clock(id)?, &mut ts) })?;
    ns(ts)
}

pub fn clock_res_get(_ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    let (id, out) = (a[0].as_u32(), a[1].as_u32());
    done(a, || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        cvt(unsafe { libc::clock_getres(host_clock(id)?, &mut ts) })?;
        mem.write_u64(out as u64, ns(ts)?)
    })
}

pub fn clock_time_get(_ctx: &WasiCtx, mem: &mut GuestMemory<'_>, a: &mut [ValRaw]) -> Ret {
    // The precision argument (a[1]) is a hint we cannot use.
    let (id, out) = (a[0].as_u32(), a[2].as_u32());
    done(a, || mem.write_u64(out as u64, clock_ns(id)?))
}
