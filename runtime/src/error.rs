//! The runtime's error type: what failed when loading, linking, instantiating or calling.

use crate::traps::FrameInfo;
use wasic_abi::Trap;

/// A trap that reached the host, with where it happened.
#[derive(Clone, Debug)]
pub struct TrapError {
    pub trap: Trap,
    /// Wasm frames, innermost first.
    pub frames: Vec<FrameInfo>,
    /// For memory faults: the wasm address and the memory's size in bytes.
    pub memory_fault: Option<(u64, u64)>,
}

impl std::fmt::Display for TrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasm trap: {}", self.trap)?;
        if let Some((addr, size)) = self.memory_fault {
            write!(f, " (address {addr:#x}, memory size {size:#x})")?;
        }
        Ok(())
    }
}

impl TrapError {
    /// The trap line followed by the wasm backtrace, one frame a line, as printed on exit.
    pub fn report(&self) -> String {
        let mut s = self.to_string();
        if !self.frames.is_empty() {
            s.push_str("\nwasm backtrace:");
            for (i, fr) in self.frames.iter().enumerate() {
                s.push_str(&format!("\n  {i:>3}: {fr}"));
            }
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Module(#[from] crate::module::ModuleError),
    /// An import is missing or has the wrong type.
    #[error("{0}")]
    Link(String),
    #[error("{0}")]
    Trap(Box<TrapError>),
    /// The program asked to exit (WASI `proc_exit`).
    #[error("exit with status {0}")]
    Exit(i32),
    /// A host function failed.
    #[error("{0}")]
    Host(String),
    /// Resources could not be allocated, or the embedder's limits were exceeded.
    #[error("{0}")]
    Resource(String),
    /// Wrong use of the API: argument count or types, unknown export.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn as_trap(&self) -> Option<&TrapError> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }
}
