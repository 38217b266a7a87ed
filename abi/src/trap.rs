//! The one list of trap kinds. Compiled code raises them (the compiler maps them onto Cranelift
//! trap codes in `compiler/src/traps.rs`, the only place the two meet), the metadata's trap table
//! stores them as their `u8` discriminant, and the runtime reports them. `Display` gives the exact
//! messages of the WebAssembly specification's test suite.

use serde::{Deserialize, Serialize};

/// A WebAssembly trap. Discriminants are explicit, non-zero and stable: they are stored in
/// compiled objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Trap {
    /// The stack limit checked in every function prologue was exceeded (or the guard page hit).
    StackOverflow = 1,
    /// A load or store outside linear memory, or a bulk memory operation out of range.
    MemoryOutOfBounds = 2,
    /// table.get/set/fill/copy/init out of range.
    TableOutOfBounds = 3,
    /// call_indirect with an index beyond the table's size.
    UndefinedElement = 4,
    /// call_indirect of a null table entry.
    UninitializedElement = 5,
    /// call_indirect whose callee has another signature.
    BadSignature = 6,
    /// Signed division overflow or float-to-int conversion out of range.
    IntegerOverflow = 7,
    IntegerDivisionByZero = 8,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger = 9,
    /// The `unreachable` instruction.
    Unreachable = 10,
    /// Execution stopped by the embedder (timeout / fuel).
    Interrupted = 11,
    /// A null reference was dereferenced.
    NullReference = 12,
    /// An exception left the outermost wasm frame uncaught.
    UncaughtException = 13,
    /// Memory access with a bad alignment where alignment is required (atomics).
    HeapMisaligned = 14,
}

impl Trap {
    pub const ALL: [Trap; 14] = [
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::TableOutOfBounds,
        Trap::UndefinedElement,
        Trap::UninitializedElement,
        Trap::BadSignature,
        Trap::IntegerOverflow,
        Trap::IntegerDivisionByZero,
        Trap::BadConversionToInteger,
        Trap::Unreachable,
        Trap::Interrupted,
        Trap::NullReference,
        Trap::UncaughtException,
        Trap::HeapMisaligned,
    ];

    pub fn from_u8(v: u8) -> Option<Trap> {
        Trap::ALL.iter().copied().find(|t| *t as u8 == v)
    }

    /// The specification's message for this trap.
    pub fn message(self) -> &'static str {
        match self {
            Trap::StackOverflow => "call stack exhausted",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::TableOutOfBounds => "out of bounds table access",
            Trap::UndefinedElement => "undefined element",
            Trap::UninitializedElement => "uninitialized element",
            Trap::BadSignature => "indirect call type mismatch",
            Trap::IntegerOverflow => "integer overflow",
            Trap::IntegerDivisionByZero => "integer divide by zero",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::Unreachable => "unreachable",
            Trap::Interrupted => "interrupted",
            Trap::NullReference => "null reference",
            Trap::UncaughtException => "uncaught exception",
            Trap::HeapMisaligned => "unaligned atomic",
        }
    }
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_discriminants_round_trip_and_are_unique() {
        for t in Trap::ALL {
            assert_ne!(t as u8, 0);
            assert_eq!(Trap::from_u8(t as u8), Some(t));
        }
        let mut seen = std::collections::HashSet::new();
        assert!(Trap::ALL.iter().all(|t| seen.insert(*t as u8)));
        assert_eq!(Trap::from_u8(0), None);
    }
}
