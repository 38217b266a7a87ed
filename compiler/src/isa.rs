//! Building the Cranelift target ISA from [`crate::CompileOptions`].
//!
//! The flags here are part of the runtime contract: frame pointers are kept because the runtime
//! walks frame-pointer chains for backtraces, stack probes are inline so no hidden
//! `__cranelift_probestack` symbol is referenced, and no unwind info is emitted (traps unwind
//! through the runtime, not through the system unwinder).

use crate::{CompileError, CompileOptions, OptLevel, TargetCpu};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};

/// One x86-64 feature: its name for `is_x86_feature_detected!` (and for the runtime's check) and
/// the Cranelift x64 setting that lets code generation use it.
struct Feature {
    name: &'static str,
    flag: &'static str,
}

const fn feature(name: &'static str, flag: &'static str) -> Feature {
    Feature { name, flag }
}

/// x86-64-v2: SSE4.2 and POPCNT (its CMPXCHG16B is of no use to WebAssembly 2.0 code, so it is
/// neither enabled nor required). SSE4.1 matters most: without it scalar and vector
/// `floor`/`ceil`/`trunc`/`nearest` would lower to libm calls (undefined symbols in our
/// object); SSSE3 gives `pshufb` for `i8x16.swizzle`/`shuffle`/`popcnt`, SSE4.2 `pcmpgtq` for
/// the i64x2 comparisons.
const V2_FEATURES: &[Feature] = &[
    feature("sse3", "has_sse3"),
    feature("ssse3", "has_ssse3"),
    feature("sse4.1", "has_sse41"),
    feature("sse4.2", "has_sse42"),
    feature("popcnt", "has_popcnt"),
];
/// x86-64-v3 adds AVX, AVX2, BMI1/2, LZCNT and FMA (VEX-encoded SIMD, three-operand forms).
const V3_FEATURES: &[Feature] = &[
    feature("avx", "has_avx"),
    feature("avx2", "has_avx2"),
    feature("bmi1", "has_bmi1"),
    feature("bmi2", "has_bmi2"),
    feature("lzcnt", "has_lzcnt"),
    feature("fma", "has_fma"),
];

fn codegen_error(message: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen {
        what: "target ISA".into(),
        message: message.to_string(),
    }
}

/// The x86-64 features code compiled for `cpu` may use.
fn cpu_features(cpu: TargetCpu) -> Vec<&'static Feature> {
    let v2 = V2_FEATURES.iter();
    match cpu {
        TargetCpu::X86_64V2 => v2.collect(),
        TargetCpu::X86_64V3 => v2.chain(V3_FEATURES).collect(),
        TargetCpu::Native => v2.chain(V3_FEATURES).filter(|f| detected(f.name)).collect(),
    }
}

/// Whether the compiling machine has feature `name`.
#[cfg(target_arch = "x86_64")]
fn detected(name: &str) -> bool {
    match name {
        "sse3" => std::is_x86_feature_detected!("sse3"),
        "ssse3" => std::is_x86_feature_detected!("ssse3"),
        "sse4.1" => std::is_x86_feature_detected!("sse4.1"),
        "sse4.2" => std::is_x86_feature_detected!("sse4.2"),
        "popcnt" => std::is_x86_feature_detected!("popcnt"),
        "avx" => std::is_x86_feature_detected!("avx"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        "bmi1" => std::is_x86_feature_detected!("bmi1"),
        "bmi2" => std::is_x86_feature_detected!("bmi2"),
        "lzcnt" => std::is_x86_feature_detected!("lzcnt"),
        "fma" => std::is_x86_feature_detected!("fma"),
        _ => false,
    }
}

/// Cross-compiling from another host: `Native` falls back to the portable baseline.
#[cfg(not(target_arch = "x86_64"))]
fn detected(name: &str) -> bool {
    V2_FEATURES.iter().any(|f| f.name == name)
}

/// The CPU features code compiled with `opts` needs, named as `is_x86_feature_detected!` names
/// them (`"sse4.2"`, `"popcnt"`, ..., `"avx2"`, `"bmi2"`, ...): an executable checks them at
/// start-up and refuses to run, with a clear message, on a CPU lacking one instead of dying on
/// an illegal instruction.
pub fn required_cpu_features(opts: &CompileOptions) -> Vec<&'static str> {
    cpu_features(opts.target_cpu)
        .into_iter()
        .map(|f| f.name)
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
        isa.enable(feature.flag).map_err(codegen_error)?;
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
        for f in V2_FEATURES {
            assert!(flag(TargetCpu::X86_64V2, f.flag), "{}", f.flag);
            assert!(flag(TargetCpu::X86_64V3, f.flag), "{}", f.flag);
        }
        for f in V3_FEATURES {
            assert!(!flag(TargetCpu::X86_64V2, f.flag), "{}", f.flag);
            assert!(flag(TargetCpu::X86_64V3, f.flag), "{}", f.flag);
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
            assert!(detected(f), "{f}");
        }
    }
}
