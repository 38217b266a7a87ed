//! `wasic run`: a cache of built executables keyed by the module's content hash and everything
//! else that changes the executable (wasic version and binary, CPU level, baked settings), so a
//! second run of the same module starts without compiling. Directory, environment and listener
//! grants are not baked in: they are passed through the runtime's reserved `WASIC_DIR_<n>` /
//! `WASIC_ENV_<n>` / `WASIC_TCPLISTEN_<n>` variables, so one cached executable serves every set
//! of grants. Whatever grant variables `wasic run` itself was started with are removed first:
//! it grants exactly its flags.

use crate::link;
use crate::CommonArgs;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

fn cache_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("WASIC_CACHE_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(d).join("wasic"));
    }
    let home = std::env::var_os("HOME")
        .context("neither WASIC_CACHE_DIR, XDG_CACHE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache").join("wasic"))
}

/// Path of the cached executable for `wasm`, building it first if needed.
pub fn cached_executable(wasm: &[u8], input: &Path, common: &CommonArgs) -> Result<PathBuf> {
    let cfg = link::exec_config(common, false)?;
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(env!("WASIC_RT_LIB"));
    // A rebuilt or upgraded wasic (same version number, other compiler or runtime) must not
    // reuse executables the old one built.
    if let Some(m) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        h.update(format!("{}|{:?}", m.len(), m.modified().ok()));
    }
    h.update(format!(
        "{:?}|{:?}|{:?}|{}",
        common.target_cpu,
        link::compile_options(common).optimizations,
        cfg,
        link::linker_program(common)
    ));
    h.update(wasm);
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let dir = cache_dir()?;
    let exe = dir.join(&key[..32]);
    if exe.is_file() {
        return Ok(exe);
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the cache directory `{}`", dir.display()))?;
    link::build_executable(wasm, input, &exe, common, &cfg, false)?;
    Ok(exe)
}

/// The guest's argv[0] for a module: its file name without the directories, as wasmtime
/// gives it (the host path is none of the guest's business).
pub fn guest_argv0(input: &Path) -> &std::ffi::OsStr {
    input.file_name().unwrap_or(input.as_os_str())
}

/// Replaces this process with the executable, so its exit status (or signal) is ours.
pub fn exec(exe: &Path, input: &Path, args: &[String], common: &CommonArgs) -> Result<i32> {
    let mut cmd = std::process::Command::new(exe);
    cmd.arg0(guest_argv0(input)).args(args);
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(wasic_runtime::exec::is_grant_variable)
        {
            cmd.env_remove(name);
        }
    }
    for (i, d) in common.dirs.iter().enumerate() {
        cmd.env(format!("WASIC_DIR_{i}"), link::dir_grant(d)?.to_string());
    }
    for (i, e) in common.env.iter().enumerate() {
        wasic_abi::exec_config::parse_env_grant(e)?;
        cmd.env(format!("WASIC_ENV_{i}"), e);
    }
    for (i, a) in common.tcplisten.iter().enumerate() {
        cmd.env(format!("WASIC_TCPLISTEN_{i}"), a);
    }
    let err = cmd.exec();
    Err(anyhow::Error::new(err).context(format!("cannot run `{}`", exe.display())))
}
