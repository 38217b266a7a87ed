//! The one place where wasic's trap kinds ([`wasic_abi::Trap`]) meet Cranelift's trap codes.
//!
//! Cranelift raises its reserved codes by itself (stack check, division, float conversion,
//! memory accesses flagged `HEAP_OUT_OF_BOUNDS`); they map to their abi equivalents. Every other
//! trap is a user code whose payload is the abi discriminant, so the mapping back is lossless.

use cranelift_codegen::ir::TrapCode;
use wasic_abi::Trap;

/// The Cranelift trap code compiled code uses to raise `trap`.
pub fn trap_code(trap: Trap) -> TrapCode {
    match trap {
        Trap::StackOverflow => TrapCode::STACK_OVERFLOW,
        Trap::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
        Trap::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
        // Discriminants are non-zero and small, so `user` always accepts them.
        other => TrapCode::unwrap_user(other as u8),
    }
}

/// The trap a Cranelift trap code stands for; `None` for codes wasic never emits.
pub fn from_trap_code(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::STACK_OVERFLOW => Trap::StackOverflow,
        TrapCode::INTEGER_OVERFLOW => Trap::IntegerOverflow,
        TrapCode::HEAP_OUT_OF_BOUNDS => Trap::MemoryOutOfBounds,
        TrapCode::INTEGER_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero,
        TrapCode::BAD_CONVERSION_TO_INTEGER => Trap::BadConversionToInteger,
        other => return Trap::from_u8(other.as_raw().get()).filter(|t| trap_code(*t) == other),
    })
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
}
