//! The `wasic` command: `wasic build` turns a WASI program into a native executable,
//! `wasic run` builds (with a cache) and runs one.

mod cache;
mod header;
mod invoke;
mod link;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "wasic",
    version,
    about = "Ahead-of-time compiler from WebAssembly (WASI preview1) to standalone native executables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a WebAssembly module into a native executable
    Build(BuildArgs),
    /// Compile (cached) and run a WebAssembly module
    Run(RunArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, Default, PartialEq, Eq, Hash)]
pub enum TargetCpu {
    /// x86-64 with SSE4.2 and POPCNT (runs on any x86-64 CPU since ~2009)
    #[default]
    #[value(name = "x86-64-v2")]
    V2,
    /// x86-64 with AVX2, BMI1/2, LZCNT, FMA
    #[value(name = "x86-64-v3")]
    V3,
    /// The CPU of this machine
    Native,
}

/// Options shared by `build` and `run`.
#[derive(Args, Clone, Debug)]
pub struct CommonArgs {
    /// Grant access to a host directory, seen by the program at GUEST (default: HOST)
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,
    /// Set an environment variable for the program
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Pass the host environment (except WASIC_* variables) to the program
    #[arg(long)]
    pub inherit_env: bool,
    /// CPU level the executable requires
    #[arg(long, value_enum, default_value_t = TargetCpu::V2)]
    pub target_cpu: TargetCpu,
    /// The C compiler driver used to link (default: $CC or `cc`)
    #[arg(long, value_name = "PROGRAM")]
    pub linker: Option<String>,
}

#[derive(Args)]
struct BuildArgs {
    /// The WebAssembly module (.wasm binary or .wat text)
    input: PathBuf,
    /// Where to write the executable
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Produce a fully static executable
    #[arg(long = "static", conflicts_with = "lib")]
    static_: bool,
    /// Build a library instead of an executable: OUT ending in .a (static) or .so (shared),
    /// exposing the module's exports through a C API (see --header)
    #[arg(long)]
    lib: bool,
    /// With --lib: also write a C header declaring the API and one function per export
    #[arg(long, value_name = "NAME.h", requires = "lib")]
    header: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
#[command(trailing_var_arg = true)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Call this exported function with ARGS (parsed by its parameter types) and print its
    /// results, after `_initialize` for reactors, instead of running `_start`
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// The WebAssembly module (.wasm binary or .wat text)
    input: PathBuf,
    /// Arguments passed to the program
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Build(a) => build(a),
        Command::Run(a) => run(a),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// Reads a module: binary as is, text through `wat`.
pub fn read_module(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| {
            anyhow::anyhow!(
                "`{}` is neither a wasm binary nor valid WebAssembly text: {e}",
                path.display()
            )
        })
}

fn build(a: BuildArgs) -> Result<i32> {
    let wasm = read_module(&a.input)?;
    if a.lib {
        if !a.common.dirs.is_empty() || !a.common.env.is_empty() || a.common.inherit_env {
            anyhow::bail!("--dir, --env and --inherit-env do not apply to --lib: libraries get their grants through wasic_config_* at run time");
        }
        link::build_library(&wasm, &a.input, &a.output, &a.common, a.header.as_deref())?;
        return Ok(0);
    }
    let cfg = link::exec_config(&a.common, true)?;
    link::build_executable(&wasm, &a.input, &a.output, &a.common, &cfg, a.static_)?;
    Ok(0)
}

fn run(a: RunArgs) -> Result<i32> {
    let wasm = read_module(&a.input)?;
    if let Some(name) = &a.invoke {
        return invoke::invoke(&wasm, &a.input, name, &a.args, &a.common);
    }
    let exe = cache::cached_executable(&wasm, &a.input, &a.common)?;
    cache::exec(&exe, &a.input, &a.args, &a.common)
}
