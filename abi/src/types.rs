//! WebAssembly types as both sides see them, plus [`ValRaw`], the untyped value cell used
//! wherever values cross between host and compiled code (trampolines, globals, host calls).

use serde::{Deserialize, Serialize};

/// A value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// A caught exception (exception-handling proposal): `*const` the runtime's exception
    /// object, laid out as `vmctx.rs` describes ([`crate::vmctx::VMOffsets::exn_payload`]).
    ExnRef,
}

impl ValType {
    pub fn is_ref(self) -> bool {
        matches!(
            self,
            ValType::FuncRef | ValType::ExternRef | ValType::ExnRef
        )
    }
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
        })
    }
}

/// A reference type (element type of tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefType {
    FuncRef,
    ExternRef,
    ExnRef,
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        match r {
            RefType::FuncRef => ValType::FuncRef,
            RefType::ExternRef => ValType::ExternRef,
            RefType::ExnRef => ValType::ExnRef,
        }
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalType {
    pub ty: ValType,
    pub mutable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableType {
    pub elem: RefType,
    pub min: u64,
    pub max: Option<u64>,
    pub table64: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryType {
    /// Minimum size in pages.
    pub min: u64,
    /// Maximum size in pages.
    pub max: Option<u64>,
    pub memory64: bool,
    pub shared: bool,
}

/// One value slot: 16 bytes so that a v128 fits. Scalars are stored little-endian in the low
/// bytes (i32/f32 in the first 4, i64/f64 in the first 8); references as a pointer-sized word
/// (funcref: `*const VMFuncRef`, externref: host token, exnref: exception object; null is 0).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct ValRaw(pub [u8; 16]);

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:#034x})", self.as_u128())
    }
}

impl ValRaw {
    pub fn from_u128(v: u128) -> Self {
        ValRaw(v.to_le_bytes())
    }
    pub fn from_u64(v: u64) -> Self {
        Self::from_u128(v as u128)
    }
    pub fn from_u32(v: u32) -> Self {
        Self::from_u128(v as u128)
    }
    pub fn from_i32(v: i32) -> Self {
        Self::from_u32(v as u32)
    }
    pub fn from_i64(v: i64) -> Self {
        Self::from_u64(v as u64)
    }
    pub fn from_usize(v: usize) -> Self {
        Self::from_u64(v as u64)
    }
    pub fn as_u128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
    pub fn as_u64(&self) -> u64 {
        self.as_u128() as u64
    }
    pub fn as_u32(&self) -> u32 {
        self.as_u128() as u32
    }
    pub fn as_i32(&self) -> i32 {
        self.as_u32() as i32
    }
    pub fn as_i64(&self) -> i64 {
        self.as_u64() as i64
    }
    pub fn as_usize(&self) -> usize {
        self.as_u64() as usize
    }
}
