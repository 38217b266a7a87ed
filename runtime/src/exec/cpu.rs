//! The CPU feature check: code compiled for features this CPU lacks refuses to run. The feature
//! names and their detection come from the one list in [`wasic_abi::cpu`], the list the
//! compiler records them from.

use wasic_abi::cpu::CpuFeature;

/// Refuses to run code compiled for CPU features this CPU lacks, naming the first missing one.
pub fn check_cpu(required: &[String]) -> Result<(), String> {
    for name in required {
        match CpuFeature::from_name(name) {
            Some(f) if f.detected() => {}
            Some(_) => {
                return Err(format!(
                    "this program was compiled for a CPU with `{name}`, which this CPU lacks; \
                     rebuild it with `wasic build --target-cpu x86-64-v2` (or `native` on this \
                     machine)"
                ))
            }
            None => {
                return Err(format!(
                    "this program requires the CPU feature `{name}`, which this wasic runtime \
                     does not know; rebuild it with this wasic (`wasic build --target-cpu \
                     x86-64-v2` runs everywhere)"
                ))
            }
        }
    }
    Ok(())
}

/// Whether this CPU has the feature called `name` (unknown names count as missing).
pub fn cpu_has(name: &str) -> bool {
    CpuFeature::from_name(name).is_some_and(CpuFeature::detected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasic_compiler::{required_cpu_features, CompileOptions, TargetCpu};

    #[test]
    fn code_for_missing_cpu_features_is_refused_with_the_feature_named() {
        assert!(
            check_cpu(&["sse4.2".into(), "popcnt".into()]).is_ok(),
            "x86-64-v2 is the baseline"
        );
        let e = check_cpu(&["sse4.2".into(), "avx512-imaginary".into()]).unwrap_err();
        assert!(
            e.contains("`avx512-imaginary`") && e.contains("--target-cpu"),
            "{e}"
        );
        assert_eq!(cpu_has("avx2"), std::is_x86_feature_detected!("avx2"));
        assert!(!cpu_has("avx512-imaginary"));
    }

    /// What the compiler records for any target, the runtime knows how to check: the check
    /// never reports a feature it does not know, and reports a known one missing exactly
    /// when this CPU lacks it.
    #[test]
    fn every_cpu_feature_the_compiler_records_is_one_the_runtime_checks() {
        for target_cpu in [TargetCpu::X86_64V2, TargetCpu::X86_64V3, TargetCpu::Native] {
            let opts = CompileOptions {
                target_cpu,
                ..Default::default()
            };
            for name in required_cpu_features(&opts) {
                let result = check_cpu(&[name.to_string()]);
                assert!(
                    !result.as_ref().is_err_and(|e| e.contains("does not know")),
                    "{target_cpu:?} records `{name}`, unknown to the runtime: {result:?}"
                );
                assert_eq!(result.is_ok(), cpu_has(name), "{name}");
                // Native asks for exactly what this machine has, so it always runs here.
                if target_cpu == TargetCpu::Native {
                    assert!(result.is_ok(), "{name}: {result:?}");
                }
            }
        }
    }
}
