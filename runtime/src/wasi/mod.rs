//! WASI preview1 host functions (being written).
