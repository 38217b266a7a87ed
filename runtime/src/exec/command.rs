//! Running a command from a built executable: the whole `main`, its limits, and the report of
//! what ended it.

use super::grants::{env_grant_policy, secure_execution, wasi_ctx_for_process};
use super::{check_cpu, ExecConfig, WasiInstance, RESERVED_ENV_PREFIX, TRAP_EXIT_STATUS};
use crate::error::Error;
use crate::module::Module;
use crate::store::StoreConfig;
use crate::wasi::WasiCtx;
use std::sync::Arc;

/// The store settings of a program run by an executable's command or `wasic run --invoke`:
/// the limits of `cfg`.
pub fn store_config(cfg: &ExecConfig) -> StoreConfig {
    StoreConfig {
        max_wasm_stack: cfg.max_wasm_stack.unwrap_or(COMMAND_WASM_STACK),
        max_memory: cfg.max_memory,
        max_table_elements: cfg.max_table_elements,
    }
}

/// Runs `f` on this thread under `cfg`'s timeout: past it, the wasm `f` runs traps with
/// "interrupted".
pub fn with_timeout<R>(cfg: &ExecConfig, f: impl FnOnce() -> R) -> R {
    let _watchdog = cfg
        .timeout_ms
        .map(|ms| crate::traps::interrupt::Watchdog::start(std::time::Duration::from_millis(ms)));
    f()
}

/// Prints what ended a program and returns the process exit status for it.
pub fn report_error(e: &Error) -> i32 {
    match e {
        Error::Exit(code) => *code,
        Error::Trap(t) => {
            eprintln!("Error: {}", t.report());
            TRAP_EXIT_STATUS
        }
        e => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// Instantiates and runs a command; returns the process exit status. Prints a trap report or
/// error to stderr. Any `--max-stack` works on this thread: wasm runs on a stack of its own
/// (`traps/stack.rs`).
///
/// For an executable's `main` only: the process ends when it returns, so the instance is left
/// to the kernel instead of being torn down piece by piece (unmapping the memory reservation
/// and the wasm stack, freeing every allocation: a twentieth of a hello world's start-up to
/// exit). Nothing in it needs a destructor to run: WASI output is unbuffered and descriptors
/// close with the process.
fn run_command(
    module: &Arc<Module>,
    cfg: &ExecConfig,
    ctx: WasiCtx,
    wasi: super::WasiImports<'_>,
) -> i32 {
    let deadline = cfg
        .timeout_ms
        .map(|ms| std::time::Instant::now() + std::time::Duration::from_millis(ms));
    with_timeout(cfg, || {
        match WasiInstance::new_command(module, ctx, store_config(cfg), deadline, wasi) {
            Ok(mut instance) => {
                let result = instance.start();
                std::mem::forget(instance);
                match result {
                    Ok(code) => code,
                    Err(e) => report_error(&e),
                }
            }
            Err(e) => report_error(&e),
        }
    })
}

/// The process environment's UTF-8 (name, value) pairs whose name `keep` accepts, read in
/// place: `std::env::vars_os` copies every variable first. Entries are parsed as the standard
/// library does (the name is up to the first `=` after its first byte; entries without one are
/// skipped); entries that are not UTF-8 are skipped, as before.
fn environment(keep: impl Fn(&[u8]) -> bool) -> Vec<(String, String)> {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut out = Vec::new();
    // SAFETY: `environ` is the C library's null-terminated array of NUL-terminated strings.
    // Nothing changes the environment while an executable's `main` starts: no other thread
    // exists yet and the runtime never calls `setenv`.
    unsafe {
        let mut p = environ;
        if p.is_null() {
            return out;
        }
        while !(*p).is_null() {
            let entry = std::ffi::CStr::from_ptr(*p).to_bytes();
            p = p.add(1);
            let Some(eq) = entry.iter().skip(1).position(|b| *b == b'=').map(|i| i + 1) else {
                continue;
            };
            let (name, value) = (&entry[..eq], &entry[eq + 1..]);
            if !keep(name) {
                continue;
            }
            if let (Ok(n), Ok(v)) = (std::str::from_utf8(name), std::str::from_utf8(value)) {
                out.push((n.to_string(), v.to_string()));
            }
        }
    }
    out
}

/// Wasm stack a command gets by default: like a native program's 8 MiB main thread stack, less
/// what the C library and the host keep of it.
const COMMAND_WASM_STACK: usize = 6 << 20;

/// The whole `main` of a built executable. `embedded` is the image of the directories
/// embedded at build time (`wasic_abi::embed`; empty for none), `wasi` the WASI function of
/// each import (the table linked into the executable: see [`super::WasiImports`]).
///
/// # Safety
/// `desc` must be the descriptor the compiler emitted into this executable.
pub unsafe fn main(
    desc: &'static wasic_abi::meta::ModuleDescriptor,
    config: &[u8],
    embedded: &'static [u8],
    wasi: super::WasiImports<'static>,
    args: Vec<Vec<u8>>,
) -> i32 {
    // Like wasmtime (and unlike a C program), writing to a closed pipe gives the guest EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let cfg = match ExecConfig::decode(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if let Err(e) = check_cpu(&cfg.required_cpu) {
        eprintln!("Error: {e}");
        return 1;
    }
    let module = match unsafe { Module::from_descriptor(desc) } {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    // Without --inherit-env only the run-time grant variables matter: copying the whole
    // environment was a measurable part of start-up.
    let env =
        environment(|name| cfg.inherit_env || name.starts_with(RESERVED_ENV_PREFIX.as_bytes()));
    let policy = env_grant_policy(secure_execution());
    let embedded = if embedded.is_empty() {
        None
    } else {
        match wasic_abi::embed::Tree::parse(embedded) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        }
    };
    let ctx = match wasi_ctx_for_process(&cfg, args, env, policy, embedded) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let status = run_command(&module, &cfg, ctx, wasi);
    // Like the instance, the module stays until the process ends (see `run_command`).
    std::mem::forget(module);
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_read_in_place_is_what_the_standard_library_reads() {
        let std: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        assert!(!std.is_empty());
        assert_eq!(environment(|_| true), std);
        let path_only = environment(|n| n == b"PATH");
        assert_eq!(
            path_only.len(),
            std.iter().filter(|(k, _)| k == "PATH").count()
        );
    }

    #[test]
    fn the_limits_of_the_exec_config_become_the_store_config() {
        let cfg = ExecConfig {
            max_memory: Some(1 << 20),
            max_wasm_stack: Some(1 << 16),
            max_table_elements: Some(99),
            ..Default::default()
        };
        let s = store_config(&cfg);
        assert_eq!(
            (s.max_memory, s.max_wasm_stack, s.max_table_elements),
            (Some(1 << 20), 1 << 16, Some(99))
        );
        let s = store_config(&ExecConfig::default());
        assert_eq!(
            (s.max_memory, s.max_wasm_stack, s.max_table_elements),
            (None, COMMAND_WASM_STACK, None)
        );
    }
}
