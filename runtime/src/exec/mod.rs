//! Running a WASI command: what the `main` of every executable built by `wasic build` does.
//!
//! The executable carries the module descriptor and an [`ExecConfig`] (the grants given at
//! build time). The person running it can add grants through reserved environment variables
//! that the guest never sees:
//!
//! * `WASIC_DIR=HOST[::GUEST]` (and `WASIC_DIR_<anything>=...` for more) preopens a directory;
//! * `WASIC_ENV=NAME=VALUE` (and `WASIC_ENV_<anything>=...`) sets a guest environment variable.
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
//! `cpu.rs` (CPU feature check).

mod checks;
mod command;
mod cpu;
mod grants;
mod instance;
mod linking;

pub use checks::{check_command, check_imports, check_library};
pub use command::{main, report_error, run_command};
pub use cpu::{check_cpu, cpu_has};
pub use grants::{parse_dir_grant, parse_env_grant, wasi_ctx_for_process};
pub use instance::WasiInstance;
pub use linking::{add_wasi_imports_to_linker, add_wasi_to_linker};

use serde::{Deserialize, Serialize};

/// Exit status of a trapped program (as wasmtime's, the status of an abort).
pub const TRAP_EXIT_STATUS: i32 = 134;

/// Prefix of the environment variables reserved for the runtime.
pub const RESERVED_ENV_PREFIX: &str = "WASIC_";

/// Grants and limits baked into an executable at build time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecConfig {
    /// (host path, guest path)
    pub dirs: Vec<(String, String)>,
    /// (name, value)
    pub env: Vec<(String, String)>,
    pub inherit_env: bool,
    pub max_memory: Option<u64>,
    pub max_wasm_stack: Option<usize>,
    /// Stop the program with an "interrupted" trap after this many milliseconds.
    pub timeout_ms: Option<u64>,
    /// CPU features the compiled code needs (`is_x86_feature_detected!` names).
    pub required_cpu: Vec<String>,
}

impl ExecConfig {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serializing into a Vec cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<ExecConfig, String> {
        if bytes.is_empty() {
            return Ok(ExecConfig::default());
        }
        postcard::from_bytes(bytes).map_err(|e| format!("corrupt executable configuration: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_config_round_trips_and_an_empty_config_is_the_default() {
        let cfg = ExecConfig {
            dirs: vec![("/h".into(), "/g".into())],
            env: vec![("A".into(), "b".into())],
            inherit_env: true,
            max_memory: Some(1 << 20),
            max_wasm_stack: Some(65536),
            timeout_ms: Some(5),
            required_cpu: vec!["avx2".into()],
        };
        assert_eq!(ExecConfig::decode(&cfg.encode()).unwrap(), cfg);
        assert_eq!(ExecConfig::decode(&[]).unwrap(), ExecConfig::default());
        assert!(ExecConfig::decode(&[0xff, 0xff]).is_err());
    }
}
