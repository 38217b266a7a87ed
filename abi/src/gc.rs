//! Garbage-collected objects (WebAssembly 3.0 GC) as compiled code and the runtime's collector
//! both see them: the reference encoding, the object header and the field layout.
//!
//! # References of the `any` and `extern` hierarchies
//!
//! Both hierarchies share one word encoding, so that `any.convert_extern` and
//! `extern.convert_any` are the identity:
//!
//! ```text
//! 0                      null
//! ....xxxx1              i31: the value in bits 1..32 (`(v << 1) | 1`)
//! ....xxx10              a host value (an `externref` the host made): `(token << 2) | 2`
//! ....xx000              an object: the address of its header, 8-aligned, in the store's heap
//! ```
//!
//! # Objects
//!
//! ```text
//! offset 0   u32  canonical type id (runtime/src/types.rs), FILLER_TYPE for free space
//! offset 4   u32  size in 8-byte words (bits 0..28), ARRAY_BIT, PINNED_BIT, MARK_BIT
//! struct     fields from offset 8, in declaration order, each at its natural alignment
//!            (at most 8): [`struct_layout`]
//! array      u32 length at offset 8, elements from offset 16: [`array_bytes`]
//! ```
//!
//! Objects and free space tile the heap, so the collector can walk it from one header to the
//! next; compiled code allocates by bumping the store's `VMLimits::gc_next` up to `gc_end`
//! and calls the `gc_alloc` builtin when that run is used up.

use crate::types::{FieldType, StorageType, ValType};

/// Offset of the canonical type id in an object.
pub const TYPE_ID_OFFSET: u32 = 0;
/// Offset of the size-and-flags word in an object.
pub const WORDS_OFFSET: u32 = 4;
/// Size of the header every object starts with.
pub const HEADER_SIZE: u32 = 8;
/// Offset of an array's length.
pub const ARRAY_LEN_OFFSET: u32 = 8;
/// Offset of an array's first element.
pub const ARRAY_DATA_OFFSET: u32 = 16;
/// The mark bit of the size-and-flags word (set only during a collection).
pub const MARK_BIT: u32 = 1 << 31;
/// Set on objects the host holds a handle to: never reclaimed.
pub const PINNED_BIT: u32 = 1 << 30;
/// Set on arrays (`ref.test arrayref` reads it).
pub const ARRAY_BIT: u32 = 1 << 29;
/// The size bits of the size-and-flags word.
pub const WORDS_MASK: u32 = ARRAY_BIT - 1;
/// The largest object, in bytes (the size field's range; wasmtime's GC heap is 4 GiB too).
pub const MAX_OBJECT_BYTES: u64 = WORDS_MASK as u64 * 8;
/// The type id of free space in the heap (a run of `words` unused words).
pub const FILLER_TYPE: u32 = u32::MAX;

/// Low bits of an i31 reference.
pub const I31_TAG: u64 = 1;
/// Low two bits of a host value in the `any`/`extern` encoding.
pub const HOST_TAG: u64 = 2;
/// The largest host token an `externref` can carry (62 bits).
pub const MAX_HOST_TOKEN: u64 = u64::MAX >> 2;

/// The word of host token `token` (at most [`MAX_HOST_TOKEN`]).
pub fn host_word(token: u64) -> u64 {
    (token << 2) | HOST_TAG
}

/// The size-and-flags word of a new object of `bytes` bytes (at most [`MAX_OBJECT_BYTES`]).
pub fn size_word(bytes: u64, array: bool) -> u32 {
    (bytes / 8) as u32 | if array { ARRAY_BIT } else { 0 }
}

/// Size in bytes of a field of storage type `s`.
pub fn storage_size(s: StorageType) -> u32 {
    match s {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
        StorageType::Val(ValType::V128) => 16,
    }
}

/// Where a struct's fields are and how big it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    /// Object size in bytes, header included, a multiple of 8.
    pub size: u32,
    /// Offset of each field from the object's start.
    pub fields: Vec<u32>,
}

/// The layout of a struct with `fields`.
pub fn struct_layout(fields: &[FieldType]) -> StructLayout {
    let mut at = HEADER_SIZE;
    let offsets = fields
        .iter()
        .map(|f| {
            let size = storage_size(f.storage);
            let off = at.next_multiple_of(size.min(8));
            at = off + size;
            off
        })
        .collect();
    StructLayout {
        size: at.next_multiple_of(8),
        fields: offsets,
    }
}

/// Size in bytes of an array of `len` elements of `elem_size` bytes, or `None` above
/// [`MAX_OBJECT_BYTES`].
pub fn array_bytes(elem_size: u32, len: u32) -> Option<u64> {
    let bytes =
        (u64::from(ARRAY_DATA_OFFSET) + u64::from(elem_size) * u64::from(len)).next_multiple_of(8);
    (bytes <= MAX_OBJECT_BYTES).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_fields_are_naturally_aligned_in_declaration_order() {
        let f = |storage| FieldType {
            storage,
            mutable: false,
        };
        let l = struct_layout(&[
            f(StorageType::I8),
            f(StorageType::Val(ValType::I64)),
            f(StorageType::I16),
            f(StorageType::Val(ValType::V128)),
        ]);
        assert_eq!(l.fields, vec![8, 16, 24, 32]);
        assert_eq!(l.size, 48);
        assert_eq!(struct_layout(&[]).size, 8);
        assert_eq!(array_bytes(1, 3), Some(24));
        assert_eq!(array_bytes(8, u32::MAX), None);
    }
}
