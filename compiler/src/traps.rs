//! The one place where wasic's trap kinds ([`wasic_abi::Trap`]) meet Cranelift's trap codes.
//!
//! Cranelift raises its reserved codes by itself (stack check, division, float conversion,
//! memory accesses flagged `HEAP_OUT_OF_BOUNDS`); they map to their abi equivalents. Every other
//! trap is a user code whose payload is the abi discriminant. [`trap_code`] is the mapping,
//! written once and without a wildcard (a new trap does not compile until it is given a code);
//! [`from_trap_code`] is its inverse, computed from it.

use cranelift_codegen::ir::TrapCode;
use wasic_abi::Trap;

/// The Cranelift trap code compiled code uses to raise `trap`.
pub fn trap_code(trap: Trap) -> TrapCode {
    // Discriminants are non-zero and small, so `unwrap_user` always accepts them.
    let user = |t: Trap| TrapCode::unwrap_user(t as u8);
    match trap {
        Trap::StackOverflow => TrapCode::STACK_OVERFLOW,
        Trap::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
        Trap::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
        t @ (Trap::TableOutOfBounds
        | Trap::UndefinedElement
        | Trap::UninitializedElement
        | Trap::BadSignature
        | Trap::Unreachable
        | Trap::Interrupted
        | Trap::NullReference
        | Trap::UncaughtException
        | Trap::HeapMisaligned
        | Trap::AtomicWaitNonShared
        | Trap::NullFunctionReference
        | Trap::CastFailure
        | Trap::NullStructReference
        | Trap::NullArrayReference
        | Trap::NullI31Reference
        | Trap::ArrayOutOfBounds
        | Trap::GcHeapOutOfMemory) => user(t),
    }
}

/// The trap a Cranelift trap code stands for; `None` for codes wasic never emits.
pub fn from_trap_code(code: TrapCode) -> Option<Trap> {
    Trap::ALL.into_iter().find(|t| trap_code(*t) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trap_round_trips_through_cranelift_codes() {
        for t in Trap::ALL {
            assert_eq!(from_trap_code(trap_code(t)), Some(t), "{t:?}");
        }
        let codes: std::collections::HashSet<_> = Trap::ALL.iter().map(|t| trap_code(*t)).collect();
        assert_eq!(codes.len(), Trap::ALL.len());
    }

    #[test]
    fn codes_wasic_never_emits_stand_for_no_trap() {
        for raw in [99, 200] {
            assert_eq!(
                from_trap_code(TrapCode::unwrap_user(raw)),
                None,
                "user{raw}"
            );
        }
    }
}
