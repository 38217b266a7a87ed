//! The `wasic` command: `wasic build` turns a WASI program into a native executable,
//! `wasic run` builds (with a cache) and runs one.

mod cache;
mod header;
mod invoke;
mod link;
mod preinit;
mod progress;

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
    ///
    /// The compiled module is cached in $WASIC_CACHE_DIR, $XDG_CACHE_HOME/wasic or
    /// ~/.cache/wasic: running it again, with the same settings, compiles nothing.
    /// WASIC_CACHE=off turns the cache off; WASIC_LOG=cache says what it did on stderr.
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
    /// Grant access to a host directory, seen by the program at GUEST (default: HOST);
    /// `:ro` after GUEST grants it read-only
    #[arg(long = "dir", value_name = "HOST[::GUEST[:ro]]")]
    pub dirs: Vec<String>,
    /// Set an environment variable for the program
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Pass the host environment (except WASIC_* variables) to the program
    #[arg(long)]
    pub inherit_env: bool,
    /// Hand the program a TCP socket listening on HOST:PORT (IPv6 in brackets; port 0: any
    /// free port), bound when the program starts; it gets the descriptors after the
    /// directories, in order (wasmtime's `-S tcplisten`)
    #[arg(long = "tcplisten", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub tcplisten: Vec<String>,
    /// CPU level the code may assume. `build` defaults to the portable x86-64-v2 (the
    /// executable runs on any x86-64 CPU since ~2009); `run` defaults to native, since it
    /// runs where it compiles
    #[arg(long, value_enum)]
    pub target_cpu: Option<TargetCpu>,
    /// Turn one whole-module optimization on or off (repeatable): inline, static-tables,
    /// libc-memops, const-globals, stack-guard, libc-idioms; all are on by default
    #[arg(short = 'O', long = "optimize", value_name = "NAME=on|off", value_parser = parse_optimization)]
    pub optimize: Vec<String>,
    /// Largest size any linear memory may grow to (memory.grow beyond it returns -1), and the
    /// most the GC heap and the exception objects may each take (beyond it, after a
    /// collection, allocation traps); suffixes K, M, G (powers of 1024)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Native stack the program's wasm code may use before it traps with
    /// "call stack exhausted"; suffixes K, M, G
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_stack: Option<u64>,
    /// Most elements all tables of the program may hold together (table.grow beyond it
    /// returns -1)
    #[arg(long, value_name = "N")]
    pub max_table_elements: Option<u64>,
    /// Stop the program with an "interrupted" trap after this long (e.g. 500ms, 10s, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// The C compiler driver used to link (default: $CC or `cc`)
    #[arg(long, value_name = "PROGRAM")]
    pub linker: Option<String>,
    /// Keep the debug information of wasic's runtime (and Rust's standard library) in the
    /// output, for debugging wasic itself; by default the output carries none of it
    #[arg(long)]
    pub debug: bool,
}

#[derive(Args)]
struct BuildArgs {
    /// The WebAssembly module (.wasm binary or .wat text)
    input: PathBuf,
    /// Where to write the executable
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Produce a fully static executable (a static PIE: still moved by ASLR)
    #[arg(long = "static", conflicts_with = "lib")]
    static_: bool,
    /// Build a library instead of an executable: OUT ending in .a (static) or .so (shared),
    /// exposing the module's exports through a C API (see --header)
    #[arg(long)]
    lib: bool,
    /// With --lib: also write a C header declaring the API and one function per export
    #[arg(long, value_name = "NAME.h", requires = "lib")]
    header: Option<PathBuf>,
    /// Drop every symbol and all debug information from the executable: the smallest output.
    /// Trap backtraces keep their function names; perf, gdb and nm see none
    #[arg(long, conflicts_with_all = ["debug", "lib"])]
    strip: bool,
    /// Store the host directory tree HOST inside the executable, served to the program at
    /// GUEST (default: HOST) read-only and read in place from the executable (or library).
    /// A run-time WASIC_DIR grant (for a library: wasic_config_dir) of the same GUEST
    /// replaces it
    #[arg(long = "embed-dir", value_name = "HOST[::GUEST]")]
    embed_dirs: Vec<String>,
    /// Run the module's initialisation function (see --init-func) now, at build time, with
    /// the build-time grants, and make the executable start from the state it leaves
    /// (Wizer's snapshot): start-up work done once instead of on every run
    #[arg(long)]
    preinit: bool,
    /// With --preinit: the exported function that initialises (type [] -> [])
    #[arg(long, value_name = "NAME", requires = "preinit", default_value = preinit::DEFAULT_INIT_FUNC)]
    init_func: String,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
#[command(trailing_var_arg = true)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Call this exported function instead of running `_start` (after `_initialize` for
    /// reactors) and print its results. Its parameters are parsed from the first ARGS; all
    /// ARGS are also the program's argv, after the module's file name (as wasmtime does)
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// The WebAssembly module (.wasm binary or .wat text)
    input: PathBuf,
    /// Arguments passed to the program
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
}

/// What `wasic run` changes in the shared defaults: it runs where it compiles, so it compiles
/// for this machine's CPU unless told otherwise.
fn run_defaults(common: &mut CommonArgs) {
    common.target_cpu.get_or_insert(TargetCpu::Native);
}

/// One `-O NAME=on|off`, checked against the compiler's list of optimizations.
fn parse_optimization(s: &str) -> Result<String, String> {
    wasic_compiler::Optimizations::default().set(s)?;
    Ok(s.to_string())
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

fn parse_listen_addr(s: &str) -> Result<String, String> {
    wasic_abi::exec_config::check_listen_addr(s)
        .map(|()| s.to_string())
        .map_err(|e| e.to_string())
}

/// `500ms`, `10s`, `2m`, `1h`, `1.5s`; a bare number is seconds. At most `u64::MAX`
/// milliseconds (the executable counts in milliseconds); whole numbers are taken exactly.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let err = || format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)");
    let too_long = || format!("`{s}` is too long a duration (at most {} ms)", u64::MAX);
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let ms_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(err()),
    };
    if let Ok(n) = num.parse::<u64>() {
        if n == 0 {
            return Err(err());
        }
        let ms = n.checked_mul(ms_per_unit).ok_or_else(too_long)?;
        return Ok(std::time::Duration::from_millis(ms));
    }
    let ms = num.parse::<f64>().map_err(|_| err())? * ms_per_unit as f64;
    if !(ms.is_finite() && ms > 0.0) {
        return Err(err());
    }
    // 2^64 as a float: anything below it fits in u64 milliseconds (and in a Duration).
    if ms >= u64::MAX as f64 {
        return Err(too_long());
    }
    Ok(std::time::Duration::from_secs_f64(ms / 1000.0))
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        if !e.use_stderr() {
            e.exit(); // --help, --version
        }
        // clap's message, without the "For more information, try '--help'." tail: a bad
        // value is then one line, like every other error of ours.
        let text = e.to_string();
        let text = text.trim_end();
        let text = text
            .strip_suffix("For more information, try '--help'.")
            .unwrap_or(text);
        // And without the usage summary clap prints after a conflict or a missing argument.
        let text = text.split("\n\nUsage:").next().unwrap_or(text);
        eprintln!("{}", text.trim_end());
        std::process::exit(2);
    });
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

/// `--preinit`: `wasm` rewritten to start from its initialiser's state; the initialiser sees
/// the `embedded` directories too.
fn preinitialize(a: &BuildArgs, wasm: &[u8], embedded: &[u8], library: bool) -> Result<Vec<u8>> {
    // The image must outlive the instance; the build ends with the process.
    let image: &'static [u8] = Box::leak(embedded.to_vec().into_boxed_slice());
    let tree = (!image.is_empty())
        .then(|| wasic_abi::embed::Tree::parse(image))
        .transpose()?;
    preinit::preinitialize(wasm, &a.input, &a.common, &a.init_func, tree, library)
}

fn build(a: BuildArgs) -> Result<i32> {
    let wasm = read_module(&a.input)?;
    if a.lib {
        let c = &a.common;
        if !c.dirs.is_empty() || !c.env.is_empty() || c.inherit_env || !c.tcplisten.is_empty() {
            anyhow::bail!("--dir, --env, --inherit-env and --tcplisten do not apply to --lib: libraries get their grants through wasic_config_* at run time");
        }
        if c.max_memory.is_some()
            || c.max_stack.is_some()
            || c.timeout.is_some()
            || c.max_table_elements.is_some()
        {
            anyhow::bail!("--max-memory, --max-stack, --max-table-elements and --timeout do not apply to --lib: the host sets limits through wasic_config_* at run time");
        }
        let embedded = link::embedded_image(&a.embed_dirs, &[])?;
        let wasm = if a.preinit {
            preinitialize(&a, &wasm, &embedded, true)?
        } else {
            wasm
        };
        link::build_library(
            &wasm,
            &a.input,
            &a.output,
            &a.common,
            a.header.as_deref(),
            &embedded,
        )?;
        return Ok(0);
    }
    let cfg = link::exec_config(&a.common, true)?;
    let exe = link::ExeOptions {
        static_: a.static_,
        strip: a.strip,
        embedded: link::embedded_image(&a.embed_dirs, &a.common.dirs)?,
    };
    let wasm = if a.preinit {
        preinitialize(&a, &wasm, &exe.embedded, false)?
    } else {
        wasm
    };
    link::build_executable(&wasm, &a.input, &a.output, &a.common, &cfg, exe)?;
    Ok(0)
}

fn run(mut a: RunArgs) -> Result<i32> {
    let wasm = read_module(&a.input)?;
    run_defaults(&mut a.common);
    if let Some(name) = &a.invoke {
        return invoke::invoke(&wasm, &a.input, name, &a.args, &a.common);
    }
    let exe = cache::executable(&wasm, &a.input, &a.common)?;
    cache::exec(exe, &a.input, &a.args, &a.common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(flags: &[&str]) -> CommonArgs {
        let args = ["wasic", "build", "x.wasm", "-o", "x"].iter().chain(flags);
        match Cli::try_parse_from(args).unwrap().command {
            Command::Build(b) => b.common,
            Command::Run(_) => unreachable!(),
        }
    }

    #[test]
    fn limits_and_listeners_flags_are_baked_into_the_exec_config() {
        let c = common(&[
            "--max-table-elements",
            "77",
            "--tcplisten",
            "[::1]:0",
            "--tcplisten",
            "127.0.0.1:8080",
            "--timeout",
            "1.5s",
        ]);
        let cfg = link::exec_config(&c, true).unwrap();
        assert_eq!(cfg.max_table_elements, Some(77));
        assert_eq!(cfg.tcplisten, ["[::1]:0", "127.0.0.1:8080"]);
        assert_eq!(cfg.timeout_ms, Some(1500));
        // `wasic run` passes grants at run time; the limits stay in the executable.
        let cfg = link::exec_config(&c, false).unwrap();
        assert!(cfg.tcplisten.is_empty());
        assert_eq!(cfg.max_table_elements, Some(77));
    }

    #[test]
    fn durations_up_to_u64_milliseconds_parse_and_longer_ones_are_refused() {
        let max = format!("{}ms", u64::MAX);
        assert!(parse_duration(&max).is_ok());
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        assert_eq!(parse_duration("0.5").unwrap().as_millis(), 500);
        for s in [
            "18446744073709552s",
            "100000000000000000000s",
            "99999999999999999999999999999999h",
            "18446744073709551616ms",
        ] {
            assert!(parse_duration(s).unwrap_err().contains("too long"), "{s}");
        }
        assert!(parse_duration("inf").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn optimize_flags_turn_single_optimizations_off_and_unknown_names_are_refused() {
        let c = common(&["-O", "inline=off", "--optimize", "stack-guard=no"]);
        let o = link::compile_options(&c).optimizations;
        assert!(!o.inline && !o.stack_guard);
        assert!(o.static_tables && o.libc_memops);
        let err = Cli::try_parse_from(["wasic", "build", "x.wasm", "-o", "x", "-O", "unroll=on"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("`unroll` is not an optimization (known: inline,"),
            "{err}"
        );
        assert!(
            Cli::try_parse_from(["wasic", "build", "x.wasm", "-o", "x", "-O", "inline"]).is_err()
        );
    }

    #[test]
    fn build_defaults_to_the_portable_cpu_level_and_run_to_the_host_cpu() {
        let mut c = common(&[]);
        assert_eq!(
            link::compile_options(&c).target_cpu,
            wasic_compiler::TargetCpu::X86_64V2
        );
        run_defaults(&mut c);
        assert_eq!(
            link::compile_options(&c).target_cpu,
            wasic_compiler::TargetCpu::Native
        );
        let mut c = common(&["--target-cpu", "x86-64-v3"]);
        run_defaults(&mut c);
        assert_eq!(
            link::compile_options(&c).target_cpu,
            wasic_compiler::TargetCpu::X86_64V3
        );
    }
}
