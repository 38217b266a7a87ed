//! Unit tests of the WASI functions, called directly with a `Vec<u8>` guest memory.
