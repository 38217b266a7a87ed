//! The one list of trap kinds. Compiled code raises them (the compiler maps them onto Cranelift
//! trap codes in `compiler/src/traps.rs`, the only place the two meet), the metadata's trap table
//! stores them as their `u8` discriminant, and the runtime reports them. `Display` gives the exact
//! messages of the WebAssembly specification's test suite.
//!
//! Each trap is written once, in the `traps!` invocation below: its variant, its discriminant
//! and its message. The enum, [`Trap::ALL`], [`Trap::from_u8`], [`Trap::message`] and the
//! serialized form are all generated from that line, so no list can miss a variant (a trap
//! missing from `ALL` used to make the compiler drop its trap sites).

use serde::{Deserialize, Serialize};

/// Defines [`Trap`] from one line per trap: `Variant = discriminant => "message",`.
macro_rules! traps {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal => $message:literal, )*) => {
        /// A WebAssembly trap. Discriminants are explicit, non-zero and stable: they are stored
        /// in compiled objects (serialized as the `u8` itself, not as a variant index).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "u8", try_from = "u8")]
        #[repr(u8)]
        pub enum Trap {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl Trap {
            /// Every trap, in declaration order.
            pub const ALL: [Trap; [$($code),*].len()] = [$(Trap::$variant),*];

            /// The trap whose discriminant is `v`.
            pub const fn from_u8(v: u8) -> Option<Trap> {
                match v {
                    $( $code => Some(Trap::$variant), )*
                    _ => None,
                }
            }

            /// The specification's message for this trap.
            pub const fn message(self) -> &'static str {
                match self {
                    $( Trap::$variant => $message, )*
                }
            }
        }
    };
}

traps! {
    /// The stack limit checked in every function prologue was exceeded (or the guard page hit).
    StackOverflow = 1 => "call stack exhausted",
    /// A load or store outside linear memory, or a bulk memory operation out of range.
    MemoryOutOfBounds = 2 => "out of bounds memory access",
    /// table.get/set/fill/copy/init out of range.
    TableOutOfBounds = 3 => "out of bounds table access",
    /// call_indirect with an index beyond the table's size.
    UndefinedElement = 4 => "undefined element",
    /// call_indirect of a null table entry.
    UninitializedElement = 5 => "uninitialized element",
    /// call_indirect whose callee has another signature.
    BadSignature = 6 => "indirect call type mismatch",
    /// Signed division overflow or float-to-int conversion out of range.
    IntegerOverflow = 7 => "integer overflow",
    IntegerDivisionByZero = 8 => "integer divide by zero",
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger = 9 => "invalid conversion to integer",
    /// The `unreachable` instruction.
    Unreachable = 10 => "unreachable",
    /// Execution stopped by the embedder (timeout / fuel).
    Interrupted = 11 => "interrupted",
    /// A null reference was dereferenced.
    NullReference = 12 => "null reference",
    /// An exception left the outermost wasm frame uncaught.
    UncaughtException = 13 => "uncaught exception",
    /// Memory access with a bad alignment where alignment is required (atomics).
    HeapMisaligned = 14 => "unaligned atomic",
    /// `memory.atomic.wait32/64` on a memory that is not shared: no other thread could ever
    /// notify it (the threads proposal makes it a trap; the reference interpreter's message).
    AtomicWaitNonShared = 15 => "expected shared memory",
    /// `call_ref` / `return_call_ref` of a null function reference.
    NullFunctionReference = 16 => "null function reference",
    /// `ref.cast` (or a typed host boundary) of a reference not of the target type.
    CastFailure = 17 => "cast failure",
    /// `struct.get`/`struct.set` of null.
    NullStructReference = 18 => "null structure reference",
    /// An array instruction on null.
    NullArrayReference = 19 => "null array reference",
    /// `i31.get_s`/`i31.get_u` of null.
    NullI31Reference = 20 => "null i31 reference",
    /// An array element index or range beyond the array's length.
    ArrayOutOfBounds = 21 => "out of bounds array access",
    /// A GC allocation that does not fit under the store's memory limit even after a
    /// collection, or larger than the biggest object (wasmtime's message).
    GcHeapOutOfMemory = 22 => "GC heap out of memory",
}

impl From<Trap> for u8 {
    fn from(t: Trap) -> u8 {
        t as u8
    }
}

/// A byte that is no trap's discriminant (in a corrupt or foreign trap table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a trap code")]
pub struct UnknownTrap(pub u8);

impl TryFrom<u8> for Trap {
    type Error = UnknownTrap;

    fn try_from(v: u8) -> Result<Trap, UnknownTrap> {
        Trap::from_u8(v).ok_or(UnknownTrap(v))
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

    /// Every byte either is no trap or names exactly one trap whose discriminant it is, and
    /// `ALL` holds exactly the traps some byte names: no variant is missing from either.
    #[test]
    fn every_trap_code_round_trips_and_all_lists_each_trap_once() {
        let named: Vec<Trap> = (0..=u8::MAX).filter_map(Trap::from_u8).collect();
        for v in 0..=u8::MAX {
            if let Some(t) = Trap::from_u8(v) {
                assert_eq!(t as u8, v, "{t:?}");
            }
        }
        assert_eq!(Trap::from_u8(0), None, "0 is never a trap code");
        assert_eq!(
            named,
            Trap::ALL,
            "ALL in discriminant order, each trap once"
        );
        for t in Trap::ALL {
            assert_eq!(Trap::from_u8(t as u8), Some(t));
        }
    }

    #[test]
    fn trap_messages_are_the_spec_texts_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for t in Trap::ALL {
            assert!(!t.message().is_empty(), "{t:?}");
            assert!(seen.insert(t.message()), "{t:?} shares its message");
            assert_eq!(t.to_string(), t.message());
        }
        assert_eq!(
            Trap::MemoryOutOfBounds.to_string(),
            "out of bounds memory access"
        );
        assert_eq!(
            Trap::BadSignature.to_string(),
            "indirect call type mismatch"
        );
    }

    /// Compiled objects store the discriminant itself, so reordering the variants cannot
    /// change what a stored trap table means; a byte that is no trap is a decoding error.
    #[test]
    fn traps_serialize_as_their_discriminant() {
        for t in Trap::ALL {
            let bytes = postcard::to_allocvec(&t).unwrap();
            assert_eq!(bytes, [t as u8], "{t:?}");
            assert_eq!(postcard::from_bytes::<Trap>(&bytes).unwrap(), t);
        }
        assert!(postcard::from_bytes::<Trap>(&[0]).is_err());
        assert!(postcard::from_bytes::<Trap>(&[200]).is_err());
    }
}
