//! WASI preview 1 for wasic: every function of `wasi_snapshot_preview1` and `wasi_unstable`
//! (snapshot 0), independent of how wasm is executed.
//!
//! A host function receives the guest's memory 0 as a byte slice and its arguments as
//! [`ValRaw`] cells, and stores its `errno` result in cell 0; [`functions`] lists them all with
//! their module, name and wasm type, from one table. [`WasiCtx`] holds the per-instance state
//! and is made with [`WasiCtxBuilder`].
//!
//! Files: `memory.rs` (bounds-checked guest memory), `errno.rs` (errno table), `types.rs` (witx
//! constants and layouts of both flavors), `sandbox.rs` (path resolution, sandbox-critical),
//! `ctx.rs` (context, descriptor table, rights), `embedded.rs` (read-only trees
//! embedded in the executable), `host.rs` (host-call helpers), `readdir.rs`
//! (`fd_readdir`'s directory streams), and the functions by family in `args.rs`, `clock.rs`,
//! `fd.rs`, `path.rs`, `poll.rs`, `proc.rs`, `sock.rs`.
//!
//! Behavior follows wasmtime's preview 1 where the specification leaves room. As there, the
//! rights a guest asks for only choose the host open mode: what a descriptor may do follows
//! from what it is, its grant (read-write, or read-only: `EPERM`) and that mode; stdio is a
//! stream to read or write whatever the host descriptor is. Deliberate differences: a guest
//! pointer or length out of bounds is `EFAULT` (wasmtime traps); `fd_fdstat_set_rights` lets
//! the guest give rights up, after which they are `ENOTCAPABLE` (wasmtime says `ENOTSUP`); a
//! guest-made symlink may not climb above its grant (wasmtime refuses only absolute targets);
//! `fd_allocate` works (`posix_fallocate`), and so do `fd_sync`/`fd_datasync` on directories
//! and the `SYNC`/`DSYNC`/`RSYNC` flags of `path_open`; `fd_filestat_get` on stdio describes
//! the host object (wasmtime: zeros); the CPU-time clocks can be read;
//! `sock_*` work on descriptors that really are sockets (e.g. a socket passed as stdio);
//! `poll_oneoff` reports byte counts (`FIONREAD`, bytes left in a file) rather than 1.

mod args;
mod clock;
mod ctx;
mod embedded;
mod errno;
mod fd;
mod host;
mod memory;
mod path;
mod poll;
mod proc;
mod readdir;
mod sandbox;
mod sock;
mod types;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_embedded;
#[cfg(test)]
mod tests_sandbox;

pub use ctx::{DirAccess, WasiCtx, WasiCtxBuilder, WasiError};
pub use embedded::read_host_tree;
pub use errno::Errno;
pub use memory::GuestMemory;

use wasic_abi::{FuncType, ValRaw, ValType};

/// Outcome of a WASI call that does not simply return an errno.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WasiExit {
    /// `proc_exit(code)`: the instance is done; unwind and exit with `code`.
    Exit(i32),
    /// The call cannot continue and must trap with this message.
    Trap(String),
}

/// A WASI host function: context (shared by every thread of the program), guest memory 0 (may
/// be empty), then the parameter cells,
/// which it overwrites with its results (cell 0 = errno as i32).
pub type WasiFn = fn(&WasiCtx, &mut GuestMemory<'_>, &mut [ValRaw]) -> Result<(), WasiExit>;

/// One importable WASI function.
#[derive(Clone, Debug)]
pub struct WasiFunc {
    pub module: &'static str,
    pub name: &'static str,
    pub ty: FuncType,
    pub func: WasiFn,
}

/// Module name of WASI preview 1.
pub const PREVIEW1: &str = "wasi_snapshot_preview1";
/// Module name of WASI snapshot 0.
pub const UNSTABLE: &str = "wasi_unstable";

/// Stores the outcome of a call as its errno in cell 0: the common tail of every function.
pub(crate) fn done(
    a: &mut [ValRaw],
    f: impl FnOnce() -> Result<(), Errno>,
) -> Result<(), WasiExit> {
    let errno = match f() {
        Ok(()) => Errno::SUCCESS,
        Err(e) => e,
    };
    a[0] = ValRaw::from_i32(errno.0 as i32);
    Ok(())
}

/// How a function appears in `wasi_unstable`.
#[derive(Clone, Copy)]
enum Unstable {
    /// Same behavior and layouts as preview 1.
    Same,
    /// Its own implementation (a layout or constant differs).
    Own(WasiFn),
    /// Not part of snapshot 0.
    Absent,
}

/// One entry of [`TABLE`]: name, parameter types (`i` = i32, `I` = i64), whether it returns
/// an errno, the preview 1 implementation, and its snapshot 0 form.
type TableEntry = (&'static str, &'static str, bool, WasiFn, Unstable);

/// The one table of WASI functions.
#[rustfmt::skip]
const TABLE: &[TableEntry] = {
    use Unstable::*;
    &[
        ("args_get", "ii", true, args::args_get, Same),
        ("args_sizes_get", "ii", true, args::args_sizes_get, Same),
        ("environ_get", "ii", true, args::environ_get, Same),
        ("environ_sizes_get", "ii", true, args::environ_sizes_get, Same),
        ("clock_res_get", "ii", true, clock::clock_res_get, Same),
        ("clock_time_get", "iIi", true, clock::clock_time_get, Same),
        ("fd_advise", "iIIi", true, fd::fd_advise, Same),
        ("fd_allocate", "iII", true, fd::fd_allocate, Same),
        ("fd_close", "i", true, fd::fd_close, Same),
        ("fd_datasync", "i", true, fd::fd_datasync, Same),
        ("fd_fdstat_get", "ii", true, fd::fd_fdstat_get, Own(fd::fd_fdstat_get_unstable)),
        ("fd_fdstat_set_flags", "ii", true, fd::fd_fdstat_set_flags, Same),
        ("fd_fdstat_set_rights", "iII", true, fd::fd_fdstat_set_rights, Same),
        ("fd_filestat_get", "ii", true, fd::fd_filestat_get, Own(fd::fd_filestat_get_unstable)),
        ("fd_filestat_set_size", "iI", true, fd::fd_filestat_set_size, Same),
        ("fd_filestat_set_times", "iIIi", true, fd::fd_filestat_set_times, Same),
        ("fd_pread", "iiiIi", true, fd::fd_pread, Same),
        ("fd_prestat_get", "ii", true, fd::fd_prestat_get, Same),
        ("fd_prestat_dir_name", "iii", true, fd::fd_prestat_dir_name, Same),
        ("fd_pwrite", "iiiIi", true, fd::fd_pwrite, Same),
        ("fd_read", "iiii", true, fd::fd_read, Same),
        ("fd_readdir", "iiiIi", true, fd::fd_readdir, Same),
        ("fd_renumber", "ii", true, fd::fd_renumber, Same),
        ("fd_seek", "iIii", true, fd::fd_seek, Own(fd::fd_seek_unstable)),
        ("fd_sync", "i", true, fd::fd_sync, Same),
        ("fd_tell", "ii", true, fd::fd_tell, Same),
        ("fd_write", "iiii", true, fd::fd_write, Same),
        ("path_create_directory", "iii", true, path::path_create_directory, Same),
        ("path_filestat_get", "iiiii", true, path::path_filestat_get, Own(path::path_filestat_get_unstable)),
        ("path_filestat_set_times", "iiiiIIi", true, path::path_filestat_set_times, Same),
        ("path_link", "iiiiiii", true, path::path_link, Same),
        ("path_open", "iiiiiIIii", true, path::path_open, Same),
        ("path_readlink", "iiiiii", true, path::path_readlink, Same),
        ("path_remove_directory", "iii", true, path::path_remove_directory, Same),
        ("path_rename", "iiiiii", true, path::path_rename, Same),
        ("path_symlink", "iiiii", true, path::path_symlink, Same),
        ("path_unlink_file", "iii", true, path::path_unlink_file, Same),
        ("poll_oneoff", "iiii", true, poll::poll_oneoff, Own(poll::poll_oneoff_unstable)),
        ("proc_exit", "i", false, proc::proc_exit, Same),
        ("proc_raise", "i", true, proc::proc_raise, Same),
        ("random_get", "ii", true, proc::random_get, Same),
        ("sched_yield", "", true, proc::sched_yield, Same),
        ("sock_accept", "iii", true, sock::sock_accept, Absent),
        ("sock_recv", "iiiiii", true, sock::sock_recv, Same),
        ("sock_send", "iiiii", true, sock::sock_send, Same),
        ("sock_shutdown", "ii", true, sock::sock_shutdown, Same),
    ]
};

/// Every WASI function, for both `wasi_snapshot_preview1` and `wasi_unstable`.
pub fn functions() -> Vec<WasiFunc> {
    let mut out = Vec::with_capacity(2 * TABLE.len());
    for entry in TABLE {
        out.extend(
            [PREVIEW1, UNSTABLE]
                .into_iter()
                .filter_map(|m| wasi_func(entry, m)),
        );
    }
    out
}

/// WASI function `name` of `module`, if there is one: what linking an executable's imports
/// needs, without building the whole list (start-up time).
pub fn lookup(module: &str, name: &str) -> Option<WasiFunc> {
    let module = [PREVIEW1, UNSTABLE].into_iter().find(|m| *m == module)?;
    let entry = TABLE.iter().find(|e| e.0 == name)?;
    wasi_func(entry, module)
}

/// The function a table entry gives `module` (`None` where `wasi_unstable` lacks it).
fn wasi_func(
    &(name, params, errno, func, unstable): &TableEntry,
    module: &'static str,
) -> Option<WasiFunc> {
    let func = if module == PREVIEW1 {
        func
    } else {
        match unstable {
            Unstable::Same => func,
            Unstable::Own(f) => f,
            Unstable::Absent => return None,
        }
    };
    let ty = FuncType {
        params: params
            .chars()
            .map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 })
            .collect(),
        results: if errno { vec![ValType::I32] } else { vec![] },
    };
    Some(WasiFunc {
        module,
        name,
        ty,
        func,
    })
}
