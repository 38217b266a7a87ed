//! Building the Cranelift target ISA from [`crate::CompileOptions`].
//!
//! The flags here are part of the runtime contract: frame pointers are kept because the runtime
//! walks frame-pointer chains for backtraces, stack probes are inline so no hidden
//! `__cranelift_probestack` symbol is referenced, and no unwind info is emitted (traps unwind
//! through the runtime, not through the system unwinder).

use crate::{CompileError, CompileOptions, OptLevel, TargetCpu};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use wasic_abi::cpu::{CpuFeature, Level};

/// The Cranelift x64 setting that lets code generation use `feature`. Exhaustive: a feature
/// added to the abi list does not compile until it has its setting here.
fn cranelift_flag(feature: CpuFeature) -> &'static str {
    match feature {
        CpuFeature::Sse3 => "has_sse3",
        CpuFeature::Ssse3 => "has_ssse3",
        CpuFeature::Sse41 => "has_sse41",
        CpuFeature::Sse42 => "has_sse42",
        CpuFeature::Popcnt => "has_popcnt",
        CpuFeature::Avx => "has_avx",
        CpuFeature::Avx2 => "has_avx2",
        CpuFeature::Bmi1 => "has_bmi1",
        CpuFeature::Bmi2 => "has_bmi2",
        CpuFeature::Lzcnt => "has_lzcnt",
        CpuFeature::Fma => "has_fma",
    }
}

fn codegen_error(message: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen {
        what: "target ISA".into(),
        message: message.to_string(),
    }
}

/// The x86-64 features code compiled for `cpu` may use. x86-64-v2 is SSE4.2 and POPCNT (its
/// CMPXCHG16B is of no use to WebAssembly 2.0 code, so it is neither enabled nor required);
/// x86-64-v3 adds AVX, AVX2, BMI1/2, LZCNT and FMA (VEX-encoded SIMD, three-operand forms).
fn cpu_features(cpu: TargetCpu) -> Vec<CpuFeature> {
    match cpu {
        TargetCpu::X86_64V2 => CpuFeature::up_to(Level::V2).collect(),
        TargetCpu::X86_64V3 => CpuFeature::up_to(Level::V3).collect(),
        // Cross-compiling from another host, `detected` counts only the portable baseline.
        TargetCpu::Native => CpuFeature::up_to(Level::V3)
            .filter(|f| f.detected())
            .collect(),
    }
}

/// The CPU features code compiled with `opts` needs, by their [`CpuFeature::name`]
/// (`"sse4.2"`, `"popcnt"`, ..., `"avx2"`, `"bmi2"`, ...): an executable checks them at start-up
/// and refuses to run, with a clear message, on a CPU lacking one instead of dying on an illegal
/// instruction.
pub fn required_cpu_features(opts: &CompileOptions) -> Vec<&'static str> {
    cpu_features(opts.target_cpu)
        .into_iter()
        .map(CpuFeature::name)
        .collect()
}

/// The x86-64 ELF target ISA configured for wasic.
pub fn build_isa(opts: &CompileOptions) -> Result<OwnedTargetIsa, CompileError> {
    build_isa_with(opts, false)
}

/// Like [`build_isa`], optionally generating position-independent code: only for objects that
/// go to the system linker alone (the executable's entry object), never for module code, which
/// the in-process loader must be able to load too.
pub fn build_isa_with(opts: &CompileOptions, pic: bool) -> Result<OwnedTargetIsa, CompileError> {
    let mut flags = settings::builder();
    let opt = match opts.opt_level {
        OptLevel::Speed => "speed",
        OptLevel::None => "none",
    };
    let shared: &[(&str, &str)] = &[
        ("opt_level", opt),
        ("preserve_frame_pointers", "true"),
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        ("is_pic", if pic { "true" } else { "false" }),
        ("unwind_info", "false"),
        // Functions may return more values (multi-value, many v128s) than there are return
        // registers: the caller then passes a hidden return-area pointer, as in wasmtime.
        ("enable_multi_ret_implicit_sret", "true"),
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
    ];
    for (name, value) in shared {
        flags.set(name, value).map_err(codegen_error)?;
    }
    let mut isa = cranelift_codegen::isa::lookup_by_name("x86_64-unknown-linux-gnu")
        .map_err(codegen_error)?;
    for feature in cpu_features(opts.target_cpu) {
        isa.enable(cranelift_flag(feature)).map_err(codegen_error)?;
    }
    isa.finish(settings::Flags::new(flags))
        .map_err(codegen_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the Cranelift x64 setting `name` in the ISA built for `cpu`.
    fn flag(cpu: TargetCpu, name: &str) -> bool {
        let opts = CompileOptions {
            target_cpu: cpu,
            ..Default::default()
        };
        let isa = build_isa(&opts).unwrap();
        let value = isa
            .isa_flags()
            .into_iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no setting {name}"));
        value.as_bool().unwrap()
    }

    #[test]
    fn v3_enables_avx_codegen_and_v2_does_not() {
        for f in CpuFeature::ALL {
            let setting = cranelift_flag(f);
            let in_v2 = f.level() == Level::V2;
            assert_eq!(flag(TargetCpu::X86_64V2, setting), in_v2, "{setting}");
            assert!(flag(TargetCpu::X86_64V3, setting), "{setting}");
        }
    }

    #[test]
    fn required_features_match_the_target() {
        let req = |target_cpu| {
            required_cpu_features(&CompileOptions {
                target_cpu,
                ..Default::default()
            })
        };
        let v2 = req(TargetCpu::X86_64V2);
        assert_eq!(v2, ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"]);
        let v3 = req(TargetCpu::X86_64V3);
        assert!(v3.starts_with(&v2));
        for f in ["avx", "avx2", "bmi1", "bmi2", "lzcnt", "fma"] {
            assert!(v3.contains(&f), "{f}");
        }
        // Native asks for exactly what this machine has, so it always runs here.
        for f in req(TargetCpu::Native) {
            assert!(CpuFeature::from_name(f).unwrap().detected(), "{f}");
        }
    }
}
