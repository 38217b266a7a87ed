//! `wasic build`: compile, check that the module is something wasic can run (a WASI command,
//! or for `--lib` any module importing only WASI), and link the object with the embedded runtime
//! library into an executable or a static/shared library. Outputs appear atomically (written
//! aside, then renamed): a failed build never leaves a half-written file behind. Executables
//! are position independent (`--static`: a static PIE), so ASLR applies, and linked with full
//! RELRO.

use crate::progress::Reporter;
use crate::CommonArgs;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasic_abi::exec_config::{parse_env_grant, DirGrant, ExecConfig};
use wasic_abi::meta::ModuleMeta;
use wasic_runtime::exec;

/// What the runtime library needs from the system when linking.
const NATIVE_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm", "-lrt", "-Wl,--gc-sections"];

/// Full RELRO: relocations are all resolved at start-up (`now`) and the GOT is then made
/// read-only (`relro`), so a memory-corruption bug in the runtime cannot redirect calls.
const HARDENING: &[&str] = &["-Wl,-z,relro,-z,now"];

/// The runtime static library, built by build.rs: with its debug information (`--debug`) and
/// without (the default).
static RT_LIB_DEBUG: &[u8] = include_bytes!(env!("WASIC_RT_LIB"));
static RT_LIB: &[u8] = include_bytes!(env!("WASIC_RT_LIB_STRIPPED"));

/// How an executable is linked, besides the shared options.
#[derive(Clone, Debug, Default)]
pub struct ExeOptions {
    /// `--static`: a static PIE.
    pub static_: bool,
    /// `--strip`: no symbols, no debug information.
    pub strip: bool,
    /// `--embed-dir`: the image of the embedded directories (`wasic_abi::embed`), or empty.
    pub embedded: Vec<u8>,
}

/// The image of the `--embed-dir HOST::GUEST` trees: each HOST read whole (files, directories,
/// symlinks as links, with permissions and timestamps), served read-only at GUEST. A GUEST
/// given twice, or also granted with `--dir`, is an error.
pub fn embedded_image(flags: &[String], dirs: &[String]) -> Result<Vec<u8>> {
    if flags.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = wasic_abi::embed::TreeWriter::default();
    let mut guests: Vec<String> = Vec::new();
    for d in dirs {
        guests.push(DirGrant::parse(d).map(|g| g.guest).unwrap_or_default());
    }
    let mut seen = Vec::new();
    for flag in flags {
        let g = DirGrant::parse(flag).map_err(|e| anyhow::anyhow!("--embed-dir {flag}: {e}"))?;
        if !Path::new(&g.host).is_dir() {
            bail!("--embed-dir {flag}: `{}` is not a directory", g.host);
        }
        if guests.contains(&g.guest) {
            bail!(
                "--embed-dir {flag}: `{}` is also granted with --dir",
                g.guest
            );
        }
        if seen.contains(&g.guest) {
            bail!("--embed-dir {flag}: `{}` is embedded twice", g.guest);
        }
        let tree = wasic_runtime::wasi::read_host_tree(Path::new(&g.host))
            .map_err(|e| anyhow::anyhow!("--embed-dir {flag}: {e}"))?;
        w.add_root(g.guest.as_bytes(), tree);
        seen.push(g.guest);
    }
    Ok(w.finish())
}

pub fn compile_options(common: &CommonArgs) -> wasic_compiler::CompileOptions {
    wasic_compiler::CompileOptions {
        target_cpu: match common.target_cpu.unwrap_or_default() {
            crate::TargetCpu::V2 => wasic_compiler::TargetCpu::X86_64V2,
            crate::TargetCpu::V3 => wasic_compiler::TargetCpu::X86_64V3,
            crate::TargetCpu::Native => wasic_compiler::TargetCpu::Native,
        },
        optimizations: optimizations(common),
        ..Default::default()
    }
}

/// The optimizations after every `-O NAME=on|off`, in order (each was checked when parsed).
fn optimizations(common: &CommonArgs) -> wasic_compiler::Optimizations {
    let mut o = wasic_compiler::Optimizations::default();
    for setting in &common.optimize {
        o.set(setting)
            .expect("-O settings are checked when the command line is parsed");
    }
    o
}

/// Parses and checks a `--dir` flag: the host directory must exist.
pub fn dir_grant(flag: &str) -> Result<DirGrant> {
    let g = DirGrant::parse(flag).map_err(|e| anyhow::anyhow!("--dir {flag}: {e}"))?;
    if !Path::new(&g.host).is_dir() {
        bail!("--dir {flag}: `{}` is not a directory", g.host);
    }
    Ok(g)
}

/// The configuration baked into the executable; `with_grants` includes dirs, env and
/// listeners (`wasic run` passes those at run time instead, see `cache.rs`).
pub fn exec_config(common: &CommonArgs, with_grants: bool) -> Result<ExecConfig> {
    let mut cfg = ExecConfig {
        inherit_env: common.inherit_env,
        max_memory: common.max_memory,
        max_wasm_stack: common.max_stack.map(|s| s as usize),
        max_table_elements: common.max_table_elements,
        timeout_ms: common.timeout.map(|d| d.as_millis().max(1) as u64),
        required_cpu: wasic_compiler::required_cpu_features(&compile_options(common))
            .into_iter()
            .map(String::from)
            .collect(),
        ..Default::default()
    };
    if with_grants {
        for d in &common.dirs {
            let mut g = dir_grant(d)?;
            // Baked-in grants must not depend on the directory the executable is run from.
            let abs = std::fs::canonicalize(&g.host).with_context(|| format!("--dir {d}"))?;
            g.host = abs.to_string_lossy().into_owned();
            cfg.dirs.push(g);
        }
        for e in &common.env {
            cfg.env.push(parse_env_grant(e)?);
        }
        // Checked by the argument parser; bound when the executable starts.
        cfg.tcplisten = common.tcplisten.clone();
    }
    Ok(cfg)
}

pub fn linker_program(common: &CommonArgs) -> String {
    common
        .linker
        .clone()
        .or_else(|| std::env::var("CC").ok())
        .unwrap_or_else(|| "cc".into())
}

/// Refuses a module that cannot be a command (no `_start`: a reactor, say) from its export
/// section alone, before the compiler spends any time on it. A module whose sections cannot
/// be read is left to the compiler, which reports where it is malformed.
pub fn check_entry_point(wasm: &[u8], input: &Path) -> Result<()> {
    use wasmparser::{Parser, Payload};
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ExportSection(section)) => {
                for e in section {
                    let Ok(e) = e else { return Ok(()) };
                    exports.push((e.name, e.kind == wasmparser::ExternalKind::Func));
                }
            }
            // The export section comes before the code: everything is known by now.
            Ok(Payload::CodeSectionStart { .. }) | Ok(Payload::End(_)) => break,
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    exec::check_command_exports(exports).map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))
}

/// Compiles `wasm` and loads the result to read its metadata.
/// With `reporter`, the functions compiled are counted for its display.
pub fn compile(
    wasm: &[u8],
    input: &Path,
    common: &CommonArgs,
    reporter: &Reporter,
) -> Result<(Vec<u8>, ModuleMeta)> {
    // The metadata the compiler returns is what it encoded into the object: the checks read
    // it there instead of loading the object into this process (for Yosys, mapping and
    // relocating a second copy of its 170 MB only to read the metadata back).
    wasic_compiler::compile_with_progress(wasm, &compile_options(common), reporter.compile())
        .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))
}

/// A scratch directory holding the compiled object and the runtime library.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// With `debug` (`--debug`), the runtime library keeps its debug information.
    fn new(object: &[u8], debug: bool) -> Result<Scratch> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        std::fs::write(dir.path().join("module.o"), object)?;
        let lib = if debug { RT_LIB_DEBUG } else { RT_LIB };
        std::fs::write(dir.path().join("libwasic_rt.a"), lib)?;
        Ok(Scratch { dir })
    }
    /// Writes the object holding the embedded directories' `image` (possibly empty) and the
    /// table of the WASI functions `meta` imports, which everything the CLI links carries;
    /// returns its path. Only through that table do executables and libraries refer to WASI
    /// functions, so they contain only those their module imports.
    fn runtime_data(
        &self,
        image: &[u8],
        meta: &ModuleMeta,
        common: &CommonArgs,
    ) -> Result<PathBuf> {
        let path = self.path("embedded.o");
        let wasi: Vec<Option<String>> = exec::resolve_wasi(meta)
            .into_iter()
            .map(|e| e.map(wasic_runtime::wasi::WasiEntry::symbol))
            .collect();
        std::fs::write(
            &path,
            wasic_compiler::runtime_data_object(image, &wasi, &compile_options(common))?,
        )?;
        Ok(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Where an output is written before it is complete. Normally a temporary file beside the
/// output, renamed over it by [`PartialOutput::commit`]: a failed build leaves nothing behind.
/// When the output is a special file (`/dev/null`, a FIFO, ...) it must not be replaced, so the
/// bytes are written aside and then copied into it.
struct PartialOutput {
    path: tempfile::TempPath,
    target: PathBuf,
    special: bool,
}

impl PartialOutput {
    fn new(output: &Path) -> Result<PartialOutput> {
        let special = match std::fs::metadata(output) {
            Ok(m) if m.is_dir() => bail!("`{}` is a directory", output.display()),
            Ok(m) => !m.is_file(),
            Err(_) => false,
        };
        let dir = match output.parent() {
            _ if special => std::env::temp_dir(),
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => ".".into(),
        };
        let path = tempfile::Builder::new()
            .prefix(".wasic-partial-")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot write into `{}`", dir.display()))?
            .into_temp_path();
        Ok(PartialOutput {
            path,
            target: output.to_path_buf(),
            special,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the finished output in place.
    fn commit(self) -> Result<()> {
        let what = || format!("cannot write `{}`", self.target.display());
        if self.special {
            let mut from = std::fs::File::open(&self.path).with_context(what)?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.target)
                .with_context(what)?;
            std::io::copy(&mut from, &mut to).with_context(what)?;
            return Ok(());
        }
        let target = self.target.clone();
        self.path
            .persist(&target)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        Ok(())
    }
}

fn run_tool(mut cmd: Command, what: &str) -> Result<()> {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `{prog}` ({what})"))?;
    if !out.status.success() {
        bail!(
            "{what} with `{prog}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

pub fn build_executable(
    wasm: &[u8],
    input: &Path,
    output: &Path,
    common: &CommonArgs,
    cfg: &ExecConfig,
    exe: ExeOptions,
) -> Result<()> {
    check_entry_point(wasm, input)?;
    let reporter = Reporter::start(input.display().to_string());
    let (object, meta) = compile(wasm, input, common, &reporter)?;
    exec::check_command(&meta).map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    let scratch = Scratch::new(&object, common.debug)?;
    let entry = scratch.path("entry.o");
    std::fs::write(
        &entry,
        wasic_compiler::entry_object(&cfg.encode(), &compile_options(common))?,
    )?;
    let embedded = scratch.runtime_data(&exe.embedded, &meta, common)?;
    let partial = PartialOutput::new(output)?;
    let cc = linker_program(common);
    let mut cmd = Command::new(&cc);
    cmd.arg("-o")
        .arg(partial.path())
        .arg(scratch.path("module.o"))
        .arg(&entry)
        .arg(&embedded)
        .arg(scratch.path("libwasic_rt.a"));
    // A static executable is a static PIE, so ASLR still moves it.
    if exe.static_ {
        cmd.arg("-static-pie");
    } else {
        cmd.arg("-pie");
    }
    if exe.strip {
        cmd.arg("-Wl,--strip-all");
    }
    cmd.args(NATIVE_LIBS).args(HARDENING);
    // Fewer shared objects to load at start-up: the unwinder (libgcc_s) goes in statically and
    // libraries nothing refers to are dropped.
    cmd.args(["-static-libgcc", "-Wl,--as-needed"]);
    reporter.linking();
    run_tool(cmd, "linking")?;
    reporter.finish(input);
    partial.commit()
}

/// `wasic build --lib`: a static (`.a`) or shared (`.so`) library exposing the C API of
/// `rt/src/capi.rs`, plus optionally a header declaring it and one wrapper per export.
pub fn build_library(
    wasm: &[u8],
    input: &Path,
    output: &Path,
    common: &CommonArgs,
    header: Option<&Path>,
    embedded: &[u8],
) -> Result<()> {
    let reporter = Reporter::start(input.display().to_string());
    let (object, meta) = compile(wasm, input, common, &reporter)?;
    reporter.linking();
    exec::check_library(&meta).map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    let header_text = match header {
        Some(h) => Some(crate::header::generate(
            &meta,
            &crate::header::prefix_for(h),
            input,
        )?),
        None => None,
    };
    let scratch = Scratch::new(&object, common.debug)?;
    let embedded = scratch.runtime_data(embedded, &meta, common)?;
    let partial = PartialOutput::new(output)?;
    match output.extension().and_then(|e| e.to_str()) {
        Some("a") => {
            // One relocatable object holding the module and the whole runtime, in an archive
            // of its own: hosts then link `libNAME.a` alone. (Merging the archives member by
            // member loses members whose names collide, which Rust's archives have.)
            let merged = scratch.path("merged.o");
            let mut cmd = Command::new("ld");
            cmd.arg("-r")
                .arg("-o")
                .arg(&merged)
                .arg(scratch.path("module.o"))
                .arg(&embedded);
            cmd.arg("--whole-archive")
                .arg(scratch.path("libwasic_rt.a"))
                .arg("--no-whole-archive");
            run_tool(cmd, "merging the library")?;
            // Rust's objects carry LLVM bitcode that binutils' LTO plugin (installed with clang)
            // cannot read; the library does not need it.
            let mut cmd = Command::new("objcopy");
            cmd.args(["--remove-section=.llvmbc", "--remove-section=.llvmcmd"])
                .arg(&merged);
            run_tool(cmd, "stripping bitcode from the library")?;
            let archive = scratch.path("lib.a");
            let mut cmd = Command::new("ar");
            cmd.arg("crs").arg(&archive).arg(&merged);
            run_tool(cmd, "archiving")?;
            std::fs::copy(&archive, partial.path()).context("writing the library")?;
        }
        Some("so") => {
            let exports: String = crate::header::CAPI_SYMBOLS
                .iter()
                .map(|s| format!("{s}; "))
                .collect();
            std::fs::write(
                scratch.path("exports.map"),
                format!("{{ global: {exports}local: *; }};\n"),
            )?;
            let cc = linker_program(common);
            let mut cmd = Command::new(&cc);
            cmd.arg("-shared")
                .arg("-o")
                .arg(partial.path())
                .arg(scratch.path("module.o"))
                .arg(&embedded);
            for sym in crate::header::CAPI_SYMBOLS {
                cmd.arg(format!("-Wl,--undefined={sym}"));
            }
            cmd.arg(scratch.path("libwasic_rt.a"));
            cmd.arg(format!(
                "-Wl,--version-script={}",
                scratch.path("exports.map").display()
            ));
            cmd.args(NATIVE_LIBS).args(HARDENING);
            run_tool(cmd, "linking")?;
        }
        _ => bail!(
            "--lib output `{}` must end in .a (static) or .so (shared)",
            output.display()
        ),
    }
    if let (Some(h), Some(text)) = (header, header_text) {
        let partial_h = PartialOutput::new(h)?;
        std::fs::write(partial_h.path(), text)?;
        partial_h.commit()?;
    }
    reporter.finish(input);
    partial.commit()
}
