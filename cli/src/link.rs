//! `wasic build`: compile, check that the module is a runnable WASI command, and link the
//! object with the embedded runtime library into an executable with the system C compiler
//! driver. The output appears atomically (written aside, then renamed), never half-written.

use crate::CommonArgs;
use anyhow::{bail, Context, Result};
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};
use std::path::Path;
use std::process::Command;
use wasic_runtime::exec::{self, ExecConfig};

/// The runtime static library, built by build.rs.
static RT_LIB: &[u8] = include_bytes!(env!("WASIC_RT_LIB"));

pub fn compile_options(common: &CommonArgs) -> wasic_compiler::CompileOptions {
    wasic_compiler::CompileOptions {
        target_cpu: match common.target_cpu {
            crate::TargetCpu::V2 => wasic_compiler::TargetCpu::X86_64V2,
            crate::TargetCpu::V3 => wasic_compiler::TargetCpu::X86_64V3,
            crate::TargetCpu::Native => wasic_compiler::TargetCpu::Native,
        },
        ..Default::default()
    }
}

/// The configuration baked into the executable; `with_grants` includes dirs and env.
pub fn exec_config(common: &CommonArgs, with_grants: bool) -> Result<ExecConfig> {
    let mut cfg = ExecConfig {
        inherit_env: common.inherit_env,
        ..Default::default()
    };
    if with_grants {
        for d in &common.dirs {
            let (host, guest) = exec::parse_dir_grant(d);
            if !Path::new(&host).is_dir() {
                bail!("--dir {d}: `{host}` is not a directory");
            }
            // Baked-in grants must not depend on the directory the executable is run from.
            let abs = std::fs::canonicalize(&host).with_context(|| format!("--dir {d}"))?;
            cfg.dirs.push((abs.to_string_lossy().into_owned(), guest));
        }
        for e in &common.env {
            cfg.env
                .push(exec::parse_env_grant(e).map_err(anyhow::Error::msg)?);
        }
    }
    Ok(cfg)
}

/// An object defining `wasic_exec_config` / `wasic_exec_config_len` for the runtime's `main`.
fn config_object(cfg: &ExecConfig) -> Result<Vec<u8>> {
    let bytes = cfg.encode();
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let sec = obj.section_id(StandardSection::ReadOnlyData);
    let mut add = |name: &str, data: &[u8]| {
        let off = obj.append_section_data(sec, data, 16);
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: off,
            size: data.len() as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(sec),
            flags: SymbolFlags::None,
        });
    };
    add("wasic_exec_config", &bytes);
    add("wasic_exec_config_len", &(bytes.len() as u64).to_le_bytes());
    Ok(obj.write()?)
}

pub fn linker_program(common: &CommonArgs) -> String {
    common
        .linker
        .clone()
        .or_else(|| std::env::var("CC").ok())
        .unwrap_or_else(|| "cc".into())
}

pub fn build_executable(
    wasm: &[u8],
    input: &Path,
    output: &Path,
    common: &CommonArgs,
    cfg: &ExecConfig,
    static_: bool,
) -> Result<()> {
    let object = wasic_compiler::compile(wasm, &compile_options(common))
        .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    let module =
        wasic_runtime::Module::from_object(&object).context("loading the compiled module")?;
    exec::check_command(module.meta()).map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;

    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let obj_path = tmp.path().join("module.o");
    let cfg_path = tmp.path().join("config.o");
    let lib_path = tmp.path().join("libwasic_rt.a");
    std::fs::write(&obj_path, &object)?;
    std::fs::write(&cfg_path, config_object(cfg)?)?;
    std::fs::write(&lib_path, RT_LIB)?;

    let out_dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => ".".into(),
    };
    let partial = tempfile::Builder::new()
        .prefix(".wasic-partial-")
        .tempfile_in(&out_dir)
        .with_context(|| format!("cannot write into `{}`", out_dir.display()))?
        .into_temp_path();
    let cc = linker_program(common);
    let mut cmd = Command::new(&cc);
    cmd.arg("-o")
        .arg(&partial)
        .arg(&obj_path)
        .arg(&cfg_path)
        .arg(&lib_path);
    if static_ {
        cmd.arg("-static");
    }
    cmd.args(["-lpthread", "-ldl", "-lm", "-lrt", "-Wl,--gc-sections"]);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run the linker `{cc}` (set --linker or CC)"))?;
    if !out.status.success() {
        bail!(
            "linking with `{cc}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    partial
        .persist(output)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    Ok(())
}
