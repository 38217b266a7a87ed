//! The static library linked into every executable wasic builds.
