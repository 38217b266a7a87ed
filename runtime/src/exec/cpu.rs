//! The CPU feature check: code compiled for features this CPU lacks refuses to run.

/// Refuses to run code compiled for CPU features this CPU lacks, naming the first missing one.
pub fn check_cpu(required: &[String]) -> Result<(), String> {
    match required.iter().find(|f| !cpu_has(f)) {
        Some(missing) => Err(format!(
            "this program was compiled for a CPU with `{missing}`, which this CPU lacks; \
             rebuild it with `wasic build --target-cpu x86-64-v2` (or `native` on this machine)"
        )),
        None => Ok(()),
    }
}

/// Whether this CPU has the feature called `name` (unknown names count as missing).
pub fn cpu_has(name: &str) -> bool {
    macro_rules! check {
        ($($f:tt),*) => {
            match name {
                $($f => std::is_x86_feature_detected!($f),)*
                _ => false,
            }
        };
    }
    check!(
        "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "bmi1", "bmi2", "lzcnt",
        "fma"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
