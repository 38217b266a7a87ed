//! wasic's runtime: loads compiled modules, instantiates them, runs them, catches their traps,
//! and provides WASI preview1.

pub mod wasi;
