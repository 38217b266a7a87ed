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
    /// Largest size any linear memory may grow to (memory.grow beyond it returns -1);
    /// suffixes K, M, G (powers of 1024)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Native stack the program's wasm code may use before it traps with
    /// "call stack exhausted"; suffixes K, M, G
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_stack: Option<u64>,
    /// Stop the program with an "interrupted" trap after this long (e.g. 500ms, 10s, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
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

/// `65536`, `64K`, `16M`, `1G` (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("`{s}` is not a size in bytes (e.g. 65536, 64K, 16M, 1G)"))
}

/// `500ms`, `10s`, `2m`, `1h`; a bare number is seconds.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let err = || format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)");
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: f64 = num.parse().map_err(|_| err())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(err()),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(err());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
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
    let looks_like_text = std::str::from_utf8(&bytes).is_ok_and(|t| {
        let t = t.trim_start();
        t.starts_with('(') || t.starts_with(";;")
    });
    if !looks_like_text {
        anyhow::bail!(
            "`{}` is not a WebAssembly module: bad magic number at offset 0 (expected `\\0asm`, or WebAssembly text)",
            path.display()
        );
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| {
            // One line: the message and where, without the source excerpt `wat` appends.
            let text = e.to_string();
            let mut lines = text.lines();
            let msg = lines.next().unwrap_or_default();
            let at = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("--> "))
                .unwrap_or_default();
            anyhow::anyhow!(
                "`{}`: invalid WebAssembly text at {at}: {msg}",
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
