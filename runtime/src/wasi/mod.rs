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

/// One WASI function of one module. Each is a static of its own, exported as
/// [`WasiEntry::symbol`] says (`wasic_wasi_p1_NAME` for preview 1, `wasic_wasi_u_NAME` for
/// `wasi_unstable`), so that an executable links only the functions its module imports:
/// `wasic build` emits the table of their addresses (`wasic_wasi_imports`, read by
/// `wasic_main` and `wasic_instance_new`), and nothing else the executable runs refers to
/// them, so the linker's `--gc-sections` drops the others with their code. [`functions`] and
/// [`lookup`] (the embedding API, `wasic run`) see them all.
#[derive(Debug)]
pub struct WasiEntry {
    pub module: &'static str,
    pub name: &'static str,
    /// Parameter types: `i` = i32, `I` = i64.
    params: &'static str,
    /// Whether it returns an errno (all but `proc_exit`).
    errno: bool,
    pub func: WasiFn,
}

impl WasiEntry {
    /// The entry's own symbol in the runtime library, as `wasi_functions!` exports it:
    /// computed (by `wasic build`) rather than stored, so that executables do not carry it.
    pub fn symbol(&self) -> String {
        let prefix = if self.module == PREVIEW1 { "p1" } else { "u" };
        format!("wasic_wasi_{prefix}_{}", self.name)
    }

    /// The function with its wasm type.
    pub fn func(&self) -> WasiFunc {
        WasiFunc {
            module: self.module,
            name: self.name,
            ty: FuncType {
                params: self
                    .params
                    .chars()
                    .map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 })
                    .collect(),
                results: if self.errno {
                    vec![ValType::I32]
                } else {
                    vec![]
                },
            },
            func: self.func,
        }
    }
}

/// Defines the statics of [`WasiEntry`], [`PREVIEW1_TABLE`] and [`UNSTABLE_TABLE`] from one
/// line per function: name, parameter types, whether it returns an errno, the preview 1
/// implementation, and its `wasi_unstable` form: `same`, `own(f)` (a layout or constant
/// differs) or `absent`.
macro_rules! wasi_functions {
    ($( ($name:ident, $params:literal, $errno:literal, $func:path, $($unstable:tt)+) ),* $(,)?) => {
        /// The statics, one module per function.
        #[allow(non_snake_case)]
        mod entries {
            use super::*;
            $(
                pub mod $name {
                    use super::*;
                    wasi_functions!(@entry P1, "p1", PREVIEW1, $name, $params, $errno, $func);
                    wasi_functions!(@unstable $name, $params, $errno, $func, $($unstable)+);
                }
            )*
        }

        /// Every preview 1 function.
        const PREVIEW1_TABLE: &[&WasiEntry] = &[$( &entries::$name::P1, )*];
        /// The `wasi_unstable` form of each, where it has one.
        const UNSTABLE_TABLE: &[Option<&WasiEntry>] =
            &[$( wasi_functions!(@unstable_ref $name, $($unstable)+), )*];
    };
    (@entry $static:ident, $prefix:literal, $module:ident, $name:ident, $params:literal,
     $errno:literal, $func:path) => {
        #[unsafe(export_name = concat!("wasic_wasi_", $prefix, "_", stringify!($name)))]
        pub static $static: WasiEntry = WasiEntry {
            module: $module,
            name: stringify!($name),
            params: $params,
            errno: $errno,
            func: $func,
        };
    };
    (@unstable $name:ident, $params:literal, $errno:literal, $func:path, same) => {
        wasi_functions!(@entry U, "u", UNSTABLE, $name, $params, $errno, $func);
    };
    (@unstable $name:ident, $params:literal, $errno:literal, $func:path, own($own:path)) => {
        wasi_functions!(@entry U, "u", UNSTABLE, $name, $params, $errno, $own);
    };
    (@unstable $name:ident, $params:literal, $errno:literal, $func:path, absent) => {};
    (@unstable_ref $name:ident, absent) => { None };
    (@unstable_ref $name:ident, $($other:tt)+) => { Some(&entries::$name::U) };
}

#[rustfmt::skip]
wasi_functions! {
    (args_get, "ii", true, args::args_get, same),
    (args_sizes_get, "ii", true, args::args_sizes_get, same),
    (environ_get, "ii", true, args::environ_get, same),
    (environ_sizes_get, "ii", true, args::environ_sizes_get, same),
    (clock_res_get, "ii", true, clock::clock_res_get, same),
    (clock_time_get, "iIi", true, clock::clock_time_get, same),
    (fd_advise, "iIIi", true, fd::fd_advise, same),
    (fd_allocate, "iII", true, fd::fd_allocate, same),
    (fd_close, "i", true, fd::fd_close, same),
    (fd_datasync, "i", true, fd::fd_datasync, same),
    (fd_fdstat_get, "ii", true, fd::fd_fdstat_get, own(fd::fd_fdstat_get_unstable)),
    (fd_fdstat_set_flags, "ii", true, fd::fd_fdstat_set_flags, same),
    (fd_fdstat_set_rights, "iII", true, fd::fd_fdstat_set_rights, same),
    (fd_filestat_get, "ii", true, fd::fd_filestat_get, own(fd::fd_filestat_get_unstable)),
    (fd_filestat_set_size, "iI", true, fd::fd_filestat_set_size, same),
    (fd_filestat_set_times, "iIIi", true, fd::fd_filestat_set_times, same),
    (fd_pread, "iiiIi", true, fd::fd_pread, same),
    (fd_prestat_get, "ii", true, fd::fd_prestat_get, same),
    (fd_prestat_dir_name, "iii", true, fd::fd_prestat_dir_name, same),
    (fd_pwrite, "iiiIi", true, fd::fd_pwrite, same),
    (fd_read, "iiii", true, fd::fd_read, same),
    (fd_readdir, "iiiIi", true, fd::fd_readdir, same),
    (fd_renumber, "ii", true, fd::fd_renumber, same),
    (fd_seek, "iIii", true, fd::fd_seek, own(fd::fd_seek_unstable)),
    (fd_sync, "i", true, fd::fd_sync, same),
    (fd_tell, "ii", true, fd::fd_tell, same),
    (fd_write, "iiii", true, fd::fd_write, same),
    (path_create_directory, "iii", true, path::path_create_directory, same),
    (path_filestat_get, "iiiii", true, path::path_filestat_get, own(path::path_filestat_get_unstable)),
    (path_filestat_set_times, "iiiiIIi", true, path::path_filestat_set_times, same),
    (path_link, "iiiiiii", true, path::path_link, same),
    (path_open, "iiiiiIIii", true, path::path_open, same),
    (path_readlink, "iiiiii", true, path::path_readlink, same),
    (path_remove_directory, "iii", true, path::path_remove_directory, same),
    (path_rename, "iiiiii", true, path::path_rename, same),
    (path_symlink, "iiiii", true, path::path_symlink, same),
    (path_unlink_file, "iii", true, path::path_unlink_file, same),
    (poll_oneoff, "iiii", true, poll::poll_oneoff, own(poll::poll_oneoff_unstable)),
    (proc_exit, "i", false, proc::proc_exit, same),
    (proc_raise, "i", true, proc::proc_raise, same),
    (random_get, "ii", true, proc::random_get, same),
    (sched_yield, "", true, proc::sched_yield, same),
    (sock_accept, "iii", true, sock::sock_accept, absent),
    (sock_recv, "iiiiii", true, sock::sock_recv, same),
    (sock_send, "iiiii", true, sock::sock_send, same),
    (sock_shutdown, "ii", true, sock::sock_shutdown, same),
}

/// Every entry of both modules.
fn entries() -> impl Iterator<Item = &'static WasiEntry> {
    PREVIEW1_TABLE
        .iter()
        .copied()
        .chain(UNSTABLE_TABLE.iter().flatten().copied())
}

/// Every WASI function, for both `wasi_snapshot_preview1` and `wasi_unstable`.
pub fn functions() -> Vec<WasiFunc> {
    entries().map(WasiEntry::func).collect()
}

/// The entry of WASI function `name` of `module`, if there is one.
pub fn lookup_entry(module: &str, name: &str) -> Option<&'static WasiEntry> {
    entries().find(|e| e.module == module && e.name == name)
}

/// WASI function `name` of `module`, if there is one.
pub fn lookup(module: &str, name: &str) -> Option<WasiFunc> {
    lookup_entry(module, name).map(WasiEntry::func)
}
