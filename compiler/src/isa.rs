//! Building the Cranelift target ISA from [`crate::CompileOptions`].
//!
//! The flags here are part of the runtime contract: frame pointers are kept because the runtime
//! walks frame-pointer chains for backtraces, stack probes are inline so no hidden
//! `__cranelift_probestack` symbol is referenced, and no unwind info is emitted (traps unwind
//! through the runtime, not through the system unwinder).

use crate::{CompileError, CompileOptions, OptLevel, TargetCpu};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};

/// x86-64-v2: SSE4.2 + POPCNT. SSE4.1 matters most: without it `floor`/`ceil`/`trunc`/`nearest`
/// would lower to libm calls (undefined symbols in our object).
const V2_FEATURES: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
];
/// x86-64-v3 adds AVX2, BMI1/2, LZCNT and FMA.
const V3_FEATURES: &[&str] = &[
    "has_avx",
    "has_avx2",
    "has_bmi1",
    "has_bmi2",
    "has_lzcnt",
    "has_fma",
];

fn codegen_error(message: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen {
        what: "target ISA".into(),
        message: message.to_string(),
    }
}

/// The x86-64 features to enable for `cpu`.
fn cpu_features(cpu: TargetCpu) -> Vec<&'static str> {
    match cpu {
        TargetCpu::X86_64V2 => V2_FEATURES.to_vec(),
        TargetCpu::X86_64V3 => V2_FEATURES.iter().chain(V3_FEATURES).copied().collect(),
        TargetCpu::Native => native_features(),
    }
}

#[cfg(target_arch = "x86_64")]
fn native_features() -> Vec<&'static str> {
    let mut f = Vec::new();
    macro_rules! detect {
        ($($feat:tt => $flag:literal),*) => {
            $( if std::is_x86_feature_detected!($feat) { f.push($flag); } )*
        };
    }
    detect!(
        "sse3" => "has_sse3", "ssse3" => "has_ssse3", "sse4.1" => "has_sse41",
        "sse4.2" => "has_sse42", "popcnt" => "has_popcnt", "avx" => "has_avx",
        "avx2" => "has_avx2", "bmi1" => "has_bmi1", "bmi2" => "has_bmi2",
        "lzcnt" => "has_lzcnt", "fma" => "has_fma"
    );
    f
}

#[cfg(not(target_arch = "x86_64"))]
fn native_features() -> Vec<&'static str> {
    // Cross-compiling from another host: fall back to the portable baseline.
    V2_FEATURES.to_vec()
}

/// The x86-64 ELF target ISA configured for wasic.
pub fn build_isa(opts: &CompileOptions) -> Result<OwnedTargetIsa, CompileError> {
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
        ("is_pic", "false"),
        ("unwind_info", "false"),
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
        isa.enable(feature).map_err(codegen_error)?;
    }
    isa.finish(settings::Flags::new(flags))
        .map_err(codegen_error)
}

/// CPU features (in `is_x86_feature_detected!` spelling) that code compiled with `opts` needs:
/// an executable checks them at start-up and refuses to run, with a clear message, on a CPU
/// that lacks one instead of dying on an illegal instruction.
pub fn required_cpu_features(opts: &CompileOptions) -> Vec<&'static str> {
    cpu_features(opts.target_cpu)
        .into_iter()
        .filter_map(|flag| {
            Some(match flag {
                "has_sse3" => "sse3",
                "has_ssse3" => "ssse3",
                "has_sse41" => "sse4.1",
                "has_sse42" => "sse4.2",
                "has_popcnt" => "popcnt",
                "has_avx" => "avx",
                "has_avx2" => "avx2",
                "has_bmi1" => "bmi1",
                "has_bmi2" => "bmi2",
                "has_lzcnt" => "lzcnt",
                "has_fma" => "fma",
                _ => return None,
            })
        })
        .collect()
}
