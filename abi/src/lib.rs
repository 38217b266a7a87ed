//! The single contract between wasic's compiler and its runtime.
//!
//! Everything both sides must agree on lives here and only here: the `VMContext` layout
//! ([`vmctx`]), the trap codes ([`trap`]), the CPU features compiled code may use ([`cpu`]), the
//! list of runtime builtins compiled code may call ([`builtins`]), the calling conventions of
//! compiled functions and trampolines (documented in [`vmctx`]), the metadata format that
//! travels inside every compiled object ([`meta`]), and the configuration the CLI bakes into
//! executables for the runtime's `main` ([`exec_config`]), and the layout of garbage-collected
//! objects ([`gc`]). The C API the runtime library offers
//! hosts is declared here too ([`capi`]). This crate depends on neither Cranelift nor the
//! runtime, so neither side can drift from it.

pub mod builtins;
pub mod capi;
pub mod cpu;
pub mod embed;
pub mod exec_config;
pub mod gc;
pub mod meta;
pub mod trap;
pub mod types;
pub mod vmctx;

pub use exec_config::{DirGrant, ExecConfig};
pub use trap::Trap;
pub use types::{
    Composite, FieldType, FuncType, GlobalType, HeapType, MemoryType, RefType, StorageType,
    SubTypeDecl, TableType, ValRaw, ValType,
};

/// Bumped whenever anything in this crate changes shape; checked when a module is loaded.
pub const ABI_VERSION: u32 = 8;

/// Size of a WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Virtual address space reserved for each 32-bit linear memory.
///
/// An effective address is `zext(i32 index) + u32 offset` < 2^33, so reserving 8 GiB makes every
/// out-of-bounds access land in inaccessible pages: compiled code needs no bounds checks at all.
/// This is the sandbox-critical decision of the memory model; the runtime reserves exactly this
/// and the compiler omits checks because of it (see `compiler/src/translate/memory.rs`).
pub const MEMORY_RESERVATION: u64 = 8 << 30;

/// Name of the data symbol each compiled object defines: a [`meta::ModuleDescriptor`].
pub const MODULE_DESCRIPTOR_SYMBOL: &str = "wasic_module";
