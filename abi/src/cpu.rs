//! The one list of x86-64 CPU features compiled code may use. The compiler enables them in
//! Cranelift (`compiler/src/isa.rs` maps each onto its Cranelift setting, exhaustively) and
//! records the names of those it used in the executable; the runtime checks them at start-up
//! (`runtime/src/exec/cpu.rs`) with [`CpuFeature::from_name`] and [`CpuFeature::detected`].
//!
//! Each feature is one line of the `cpu_features!` invocation below: its variant, its name
//! (as `is_x86_feature_detected!` spells it, which is also what executables record) and the
//! microarchitecture level that introduces it. Names and detection are generated from that
//! line, so the compiler cannot record a name the runtime does not know how to check.

/// The x86-64 microarchitecture level a feature belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// x86-64-v2 (every x86-64 machine since about 2009): wasic's baseline.
    V2,
    /// x86-64-v3 (AVX2 generation, 2013 onwards).
    V3,
}

/// Defines [`CpuFeature`] from one line per feature: `Variant = "name", Level,`.
macro_rules! cpu_features {
    ($( $(#[$doc:meta])* $variant:ident = $name:tt, $level:ident, )*) => {
        /// An x86-64 CPU feature compiled code may depend on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum CpuFeature {
            $( $(#[$doc])* $variant, )*
        }

        impl CpuFeature {
            /// Every feature, in declaration order (level by level).
            pub const ALL: [CpuFeature; [$($name),*].len()] = [$(CpuFeature::$variant),*];

            /// The feature's name, as `is_x86_feature_detected!` spells it (`"sse4.2"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( CpuFeature::$variant => $name, )*
                }
            }

            /// The microarchitecture level that introduces the feature.
            pub const fn level(self) -> Level {
                match self {
                    $( CpuFeature::$variant => Level::$level, )*
                }
            }

            /// The feature called `name`; `None` for names this list does not have.
            pub fn from_name(name: &str) -> Option<CpuFeature> {
                match name {
                    $( $name => Some(CpuFeature::$variant), )*
                    _ => None,
                }
            }

            /// Whether the CPU this runs on has the feature.
            #[cfg(target_arch = "x86_64")]
            pub fn detected(self) -> bool {
                // `$name` is a `tt`, so the detection macro sees the string literal it needs.
                match self {
                    $( CpuFeature::$variant => std::is_x86_feature_detected!($name), )*
                }
            }
        }
    };
}

cpu_features! {
    Sse3 = "sse3", V2,
    /// `pshufb`, for `i8x16.swizzle`/`shuffle`/`popcnt`.
    Ssse3 = "ssse3", V2,
    /// Without it scalar and vector `floor`/`ceil`/`trunc`/`nearest` would lower to libm calls
    /// (undefined symbols in wasic's objects).
    Sse41 = "sse4.1", V2,
    /// `pcmpgtq`, for the i64x2 comparisons.
    Sse42 = "sse4.2", V2,
    Popcnt = "popcnt", V2,
    Avx = "avx", V3,
    Avx2 = "avx2", V3,
    Bmi1 = "bmi1", V3,
    Bmi2 = "bmi2", V3,
    Lzcnt = "lzcnt", V3,
    Fma = "fma", V3,
}

impl CpuFeature {
    /// Whether the CPU this runs on has the feature. On other architectures (cross-compiling
    /// from another host) only the x86-64-v2 baseline counts as present.
    #[cfg(not(target_arch = "x86_64"))]
    pub fn detected(self) -> bool {
        self.level() == Level::V2
    }

    /// The features of `level` and of every level below it.
    pub fn up_to(level: Level) -> impl Iterator<Item = CpuFeature> {
        CpuFeature::ALL
            .into_iter()
            .filter(move |f| f.level() <= level)
    }
}

impl std::fmt::Display for CpuFeature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_name_maps_back_to_its_feature() {
        let mut names = std::collections::HashSet::new();
        for f in CpuFeature::ALL {
            assert!(names.insert(f.name()), "{f:?} shares its name");
            assert_eq!(CpuFeature::from_name(f.name()), Some(f));
        }
        assert_eq!(CpuFeature::from_name("avx512-imaginary"), None);
        assert_eq!(CpuFeature::from_name("SSE4.2"), None, "names are exact");
    }

    #[test]
    fn levels_are_cumulative_and_listed_in_order() {
        let v2: Vec<_> = CpuFeature::up_to(Level::V2).map(|f| f.name()).collect();
        assert_eq!(v2, ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"]);
        let v3: Vec<_> = CpuFeature::up_to(Level::V3).map(|f| f.name()).collect();
        assert!(v3.starts_with(&v2));
        assert_eq!(
            &v3[v2.len()..],
            ["avx", "avx2", "bmi1", "bmi2", "lzcnt", "fma"]
        );
        let levels: Vec<_> = CpuFeature::ALL.iter().map(|f| f.level()).collect();
        assert!(levels.is_sorted(), "ALL goes level by level");
    }

    /// Detection asks the CPU about the feature of the same name, not about another one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn detection_agrees_with_the_standard_library() {
        assert_eq!(
            CpuFeature::Sse42.detected(),
            std::is_x86_feature_detected!("sse4.2")
        );
        assert_eq!(
            CpuFeature::Avx2.detected(),
            std::is_x86_feature_detected!("avx2")
        );
        assert_eq!(
            CpuFeature::Bmi2.detected(),
            std::is_x86_feature_detected!("bmi2")
        );
        assert_eq!(
            CpuFeature::Lzcnt.detected(),
            std::is_x86_feature_detected!("lzcnt")
        );
    }
}
