//! Running a WASI command: what the `main` of every executable built by `wasic build` does.
//!
//! The executable carries the module descriptor and an [`ExecConfig`] (the grants and limits
//! given at build time; defined in `abi/src/exec_config.rs`, the contract with the CLI). The
//! person running it can add grants through reserved environment variables that the guest
//! never sees:
//!
//! * `WASIC_DIR=HOST[::GUEST][:ro]` (and `WASIC_DIR_<suffix>=...` for more) preopens a
//!   directory, read-only with `:ro`;
//! * `WASIC_ENV=NAME=VALUE` (and `WASIC_ENV_<suffix>`) sets a guest environment variable;
//! * `WASIC_TCPLISTEN=HOST:PORT` (and `WASIC_TCPLISTEN_<suffix>`) hands the guest a listening
//!   socket.
//!
//! Run-time grants come after the baked-in ones, the bare variable first, then by suffix
//! (numbers by value). An executable in secure-execution mode (setuid, setgid or file
//! capabilities: `AT_SECURE`) ignores them all: only what was baked in is granted.
//!
//! Listening sockets, baked in or not, are bound when the executable starts (before any wasm
//! runs); an address that cannot be bound stops it with one line naming the address. The guest
//! gets them as the descriptors after all preopened directories.
//!
//! Every variable whose name starts with `WASIC_` is hidden from the guest, even with
//! `--inherit-env`. The executable's argv becomes the guest's args untouched.
//!
//! Exit behaviour follows wasmtime: returning from `_start` exits 0; `proc_exit(n)` exits with
//! `n` (the OS keeps its low 8 bits, as for any native program); a trap prints one line naming
//! it and the wasm backtrace to stderr and exits with 134.
//!
//! Files: `grants.rs` (the WASI context from config, environment and argv), `checks.rs` (is
//! this module a command or library wasic can run), `linking.rs` (WASI functions as host
//! functions), `instance.rs` ([`WasiInstance`]), `command.rs` (the executable's `main`),
//! `cpu.rs` (CPU feature check), `threads.rs` (wasi-threads: one OS thread per wasm thread).

mod checks;
mod command;
mod cpu;
mod grants;
mod instance;
mod linking;
mod threads;

pub use checks::{check_command, check_command_exports, check_imports, check_library};
pub use command::{main, report_error, store_config, with_timeout};
pub use cpu::{check_cpu, cpu_has};
pub use grants::{
    bind_listener, env_grant_policy, is_grant_variable, secure_execution, wasi_ctx_for_process,
    EnvGrants, GrantSetupError,
};
pub use instance::WasiInstance;
pub use linking::{add_wasi_to_linker, resolve_wasi, wasi_imports, WasiImports};
pub use threads::{thread_spawn_type, thread_start_type, uses_threads, THREAD_SPAWN, THREAD_START};

pub use wasic_abi::exec_config::{
    check_listen_addr, parse_env_grant, ConfigError, DirGrant, ExecConfig, GrantError,
};

/// Exit status of a trapped program (as wasmtime's, the status of an abort).
pub const TRAP_EXIT_STATUS: i32 = 134;

/// Prefix of the environment variables reserved for the runtime.
pub const RESERVED_ENV_PREFIX: &str = "WASIC_";
