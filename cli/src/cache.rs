//! `wasic run`'s use of the compile cache (`wasic_runtime::cache`, which holds the mechanism):
//! `--invoke` loads the module compiled before with the same settings instead of compiling,
//! and a plain run execs the executable built before. An executable's key is the module's
//! content hash and everything else that changes the executable (CPU level, optimizations,
//! baked settings, linker); directory, environment and listener grants are not baked in: they
//! are passed through the runtime's reserved `WASIC_DIR_<n>` / `WASIC_ENV_<n>` /
//! `WASIC_TCPLISTEN_<n>` variables, so one cached executable serves every set of grants.
//! Whatever grant variables `wasic run` itself was started with are removed first: it grants
//! exactly its flags.
//!
//! `WASIC_CACHE=off` turns the cache off; a cache that cannot be used (say an unwritable
//! directory) is said once on stderr and the run goes on without it. `WASIC_LOG=cache` says on
//! stderr what the cache did: `wasic: cache hit: ...` or `wasic: compiled ...`.

use crate::link;
use crate::CommonArgs;
use anyhow::{anyhow, Context, Result};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasic_runtime::cache::{Cache, CacheError, CacheOutcome, KeyBuilder, Lookup};
use wasic_runtime::Module;

/// Whether `WASIC_LOG` asks for the cache's decisions (a comma-separated list of topics).
fn logging() -> bool {
    std::env::var("WASIC_LOG").is_ok_and(|v| v.split(',').any(|t| t.trim() == "cache"))
}

fn log(what: impl std::fmt::Display) {
    if logging() {
        eprintln!("wasic: {what}");
    }
}

/// The cache to use, `None` when it is turned off. A bad `WASIC_CACHE` is an error; no
/// directory to put it in is a warning.
fn user_cache() -> Result<Option<Cache>> {
    match Cache::from_env() {
        Ok(c) => Ok(c),
        Err(e @ CacheError::Setting(_)) => Err(e.into()),
        Err(e) => {
            warn(&e);
            Ok(None)
        }
    }
}

fn warn(e: &CacheError) {
    eprintln!("wasic: warning: compile cache not used: {e} (WASIC_CACHE=off turns it off)");
}

/// The module compiled from `wasm` with the command line's settings, from the cache when it
/// was compiled before.
pub fn compiled_module(wasm: &[u8], input: &Path, common: &CommonArgs) -> Result<Arc<Module>> {
    let opts = link::compile_options(common);
    let error = |e: wasic_runtime::module::ModuleError| match e {
        wasic_runtime::module::ModuleError::Compile(e) => anyhow!("{}: {e}", input.display()),
        e => anyhow::Error::new(e).context("loading the compiled module"),
    };
    // A compilation longer than a second shows progress on a terminal, as builds do.
    let reporter = crate::progress::Reporter::start(input.display().to_string());
    let Some(cache) = user_cache()? else {
        let module =
            Module::from_wasm_with_progress(wasm, &opts, reporter.compile()).map_err(error)?;
        reporter.finish(input);
        log(format_args!("`{}`: compiled, cache off", input.display()));
        return Ok(module);
    };
    let (module, outcome) =
        Module::from_wasm_cached_with_progress(wasm, &opts, &cache, reporter.compile())
            .map_err(error)?;
    reporter.finish(input);
    if let CacheOutcome::Compiled { stored: Err(e), .. } = &outcome {
        warn(e);
    }
    log(format_args!("`{}`: {outcome}", input.display()));
    Ok(module)
}

/// An executable to run: an entry of the cache, or a temporary file when there is no cache.
pub enum Executable {
    Cached(PathBuf),
    Temporary(tempfile::TempPath),
}

/// The executable for `wasm`, building it first if the cache does not have it.
pub fn executable(wasm: &[u8], input: &Path, common: &CommonArgs) -> Result<Executable> {
    let cfg = link::exec_config(common, false)?;
    let why_not = match user_cache()? {
        Some(cache) => match cached_executable(wasm, input, common, &cfg, &cache) {
            Ok(exe) => return Ok(Executable::Cached(exe)),
            Err(Unusable::Build(e)) => return Err(e),
            Err(Unusable::Cache(e)) => {
                warn(&e);
                "not cached"
            }
        },
        None => "cache off",
    };
    let temp = tempfile::Builder::new()
        .prefix("wasic-run-")
        .tempfile()
        .context("creating a temporary executable")?
        .into_temp_path();
    link::build_executable(wasm, input, &temp, common, &cfg, Default::default())?;
    log(format_args!("`{}`: compiled, {why_not}", input.display()));
    Ok(Executable::Temporary(temp))
}

/// Why [`cached_executable`] gave no executable: the module cannot be built (an error), or the
/// cache cannot be used (build without it).
enum Unusable {
    Build(anyhow::Error),
    Cache(CacheError),
}

fn cached_executable(
    wasm: &[u8],
    input: &Path,
    common: &CommonArgs,
    cfg: &wasic_abi::exec_config::ExecConfig,
    cache: &Cache,
) -> Result<PathBuf, Unusable> {
    let key = KeyBuilder::new("executable")
        .map_err(Unusable::Cache)?
        .part(env!("WASIC_RT_LIB").as_bytes())
        .part(if common.debug { b"debug" } else { b"stripped" })
        .part(format!("{:?}", link::compile_options(common)).as_bytes())
        .part(format!("{cfg:?}").as_bytes())
        .part(link::linker_program(common).as_bytes())
        .part(wasm)
        .finish();
    let rejected = match cache.file(&key) {
        Lookup::Hit(exe) => {
            log(format_args!(
                "`{}`: cache hit: running `{}`",
                input.display(),
                exe.display()
            ));
            return Ok(exe);
        }
        Lookup::Missing => String::new(),
        Lookup::Rejected(why) => format!(" (the cache entry was rejected: {why})"),
    };
    let temp = cache.temp_file().map_err(Unusable::Cache)?.into_temp_path();
    link::build_executable(wasm, input, &temp, common, cfg, Default::default())
        .map_err(Unusable::Build)?;
    let exe = cache.commit(temp, &key).map_err(Unusable::Cache)?;
    log(format_args!(
        "`{}`: compiled{rejected}, cached as `{}`",
        input.display(),
        exe.display()
    ));
    Ok(exe)
}

/// The guest's argv[0] for a module: its file name without the directories, as wasmtime
/// gives it (the host path is none of the guest's business).
pub fn guest_argv0(input: &Path) -> &std::ffi::OsStr {
    input.file_name().unwrap_or(input.as_os_str())
}

/// Replaces this process with the executable, so its exit status (or signal) is ours. A
/// temporary executable is opened and deleted first, then executed through its descriptor:
/// nothing is left behind, since nothing runs after a successful exec to clean up.
pub fn exec(exe: Executable, input: &Path, args: &[String], common: &CommonArgs) -> Result<i32> {
    // Opened close-on-exec: the kernel resolves the path before closing it.
    let (path, _open) = match exe {
        Executable::Cached(p) => (p, None),
        Executable::Temporary(t) => {
            let f = std::fs::File::open(&t).context("opening the temporary executable")?;
            drop(t);
            (
                PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd())),
                Some(f),
            )
        }
    };
    let mut cmd = std::process::Command::new(&path);
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
    Err(anyhow::Error::new(err).context(format!("cannot run `{}`", path.display())))
}
