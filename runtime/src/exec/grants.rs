//! The WASI context of a built executable: its baked-in grants plus the run-time grants of the
//! reserved `WASIC_*` environment variables, and the argv.

use super::{ExecConfig, RESERVED_ENV_PREFIX};
use crate::wasi::{WasiCtx, WasiCtxBuilder};

/// Parses `HOST[::GUEST]` (GUEST defaults to HOST).
pub fn parse_dir_grant(s: &str) -> (String, String) {
    match s.split_once("::") {
        Some((h, g)) => (h.to_string(), g.to_string()),
        None => (s.to_string(), s.to_string()),
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_env_grant(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
        _ => Err(format!(
            "environment grant `{s}` is not of the form NAME=VALUE"
        )),
    }
}

/// Builds the WASI context of an executable from its baked-in config, the process environment
/// and its argv.
pub fn wasi_ctx_for_process(
    cfg: &ExecConfig,
    args: Vec<Vec<u8>>,
    env: Vec<(String, String)>,
) -> Result<WasiCtx, String> {
    let mut dirs = cfg.dirs.clone();
    let mut vars = cfg.env.clone();
    let reserved = |name: &str, key: &str| name == key || name.starts_with(&format!("{key}_"));
    for (name, value) in &env {
        if reserved(name, "WASIC_DIR") {
            dirs.push(parse_dir_grant(value));
        } else if reserved(name, "WASIC_ENV") {
            vars.push(parse_env_grant(value).map_err(|e| format!("{name}: {e}"))?);
        }
    }
    let mut b = WasiCtxBuilder::new().args(args);
    if cfg.inherit_env {
        for (n, v) in &env {
            if !n.starts_with(RESERVED_ENV_PREFIX) {
                b = b.env(n.as_str(), v.as_str());
            }
        }
    }
    for (n, v) in &vars {
        b = b.env(n.as_str(), v.as_str());
    }
    for (host, guest) in &dirs {
        b = b
            .preopen_dir(host, guest.as_str())
            .map_err(|e| format!("cannot open directory `{host}`: {e}"))?;
    }
    b.build().map_err(|e| e.to_string())
}
