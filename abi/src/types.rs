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
    /// A reference: a pointer-sized word, 0 for null. What it points to depends on the heap
    /// type's hierarchy ([`HeapType::top`]): a funcref points to a `VMFuncRef`, an externref
    /// is a host token, an exnref points to the runtime's exception object, laid out as
    /// `vmctx.rs` describes ([`crate::vmctx::VMOffsets::exn_payload`]).
    Ref(RefType),
}

impl ValType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// The index (or canonical id) of the concrete type this refers to, if it does.
    pub fn concrete(self) -> Option<u32> {
        self.as_ref()?.heap.concrete()
    }

    /// This type with its concrete type's index `i` (if any) replaced by `f(i)`.
    pub fn map_concrete(self, f: impl FnOnce(u32) -> u32) -> ValType {
        match self {
            ValType::Ref(r) => ValType::Ref(r.map_concrete(f)),
            t => t,
        }
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
            ValType::Ref(r) => return r.fmt(f),
        })
    }
}

/// A reference type (WebAssembly 3.0): nullable or not, and the heap type it refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    pub nullable: bool,
    pub heap: HeapType,
}

impl RefType {
    pub const FUNCREF: RefType = RefType::null(HeapType::Func);
    pub const EXTERNREF: RefType = RefType::null(HeapType::Extern);
    pub const EXNREF: RefType = RefType::null(HeapType::Exn);

    /// `(ref null heap)`.
    pub const fn null(heap: HeapType) -> RefType {
        RefType {
            nullable: true,
            heap,
        }
    }

    /// The most general reference type of this one's hierarchy, nullable: `funcref`,
    /// `externref`, `exnref` or `anyref`. Values of every type of a hierarchy are represented
    /// alike.
    pub fn top(self) -> RefType {
        RefType::null(self.heap.top())
    }

    /// This type with its concrete type's index `i` (if any) replaced by `f(i)`: from a
    /// module's type indices to canonical ids, say.
    pub fn map_concrete(self, f: impl FnOnce(u32) -> u32) -> RefType {
        RefType {
            heap: self.heap.map_concrete(f),
            ..self
        }
    }

    /// Whether every value of `self` is a value of `other`, with concrete types compared by
    /// index: both must come from the same index space (one module's types, or the runtime's
    /// canonical ids, where equal ids are equal types).
    pub fn is_subtype_of(self, other: RefType) -> bool {
        (other.nullable || !self.nullable) && self.heap.is_subtype_of(other.heap)
    }

    /// [`Self::is_subtype_of`] with declared subtyping between concrete types: `concrete(a,
    /// b)` says whether concrete type `a` is `b` or one of its declared subtypes.
    pub fn is_subtype_with(self, other: RefType, concrete: &dyn Fn(u32, u32) -> bool) -> bool {
        (other.nullable || !self.nullable) && self.heap.is_subtype_with(other.heap, concrete)
    }
}

impl std::fmt::Display for RefType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = match self.heap {
            HeapType::Func => "funcref",
            HeapType::NoFunc => "nullfuncref",
            HeapType::Extern => "externref",
            HeapType::NoExtern => "nullexternref",
            HeapType::Exn => "exnref",
            HeapType::NoExn => "nullexnref",
            HeapType::Any => "anyref",
            HeapType::Eq => "eqref",
            HeapType::I31 => "i31ref",
            HeapType::Struct => "structref",
            HeapType::Array => "arrayref",
            HeapType::None => "nullref",
            HeapType::Concrete(_) | HeapType::ConcreteStruct(_) | HeapType::ConcreteArray(_) => "",
        };
        match (self.nullable, short) {
            (true, s) if !s.is_empty() => f.write_str(s),
            (true, _) => write!(f, "(ref null {})", self.heap),
            (false, _) => write!(f, "(ref {})", self.heap),
        }
    }
}

/// A heap type: an abstract one, or a defined (concrete) type.
///
/// The GC hierarchy (`any` and below) is part of the vocabulary so that the contract is
/// designed once; the compiler refuses it until the runtime has a collector (issue #14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    Func,
    /// The bottom of the function hierarchy: only null.
    NoFunc,
    Extern,
    NoExtern,
    Exn,
    NoExn,
    Any,
    Eq,
    I31,
    Struct,
    Array,
    /// The bottom of the `any` hierarchy.
    None,
    /// A defined function type: in a module's metadata, an index into the module's types; in
    /// the runtime (tables, globals, `Func::ty`), the type's canonical id
    /// (`runtime/src/types.rs`).
    Concrete(u32),
    /// A defined struct type (index or canonical id, as for [`HeapType::Concrete`]). Concrete
    /// types carry their kind so that a reference type alone says its hierarchy (how its
    /// values are represented) without a look-up.
    ConcreteStruct(u32),
    /// A defined array type.
    ConcreteArray(u32),
}

impl HeapType {
    /// The top of this heap type's hierarchy.
    pub fn top(self) -> HeapType {
        match self {
            HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => HeapType::Func,
            HeapType::ConcreteStruct(_) | HeapType::ConcreteArray(_) => HeapType::Any,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None => HeapType::Any,
        }
    }

    /// The bottom of this heap type's hierarchy (the type of its null).
    pub fn bottom(self) -> HeapType {
        match self.top() {
            HeapType::Func => HeapType::NoFunc,
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            _ => HeapType::None,
        }
    }

    /// Heap subtyping (see [`RefType::is_subtype_of`] for how concrete types compare).
    pub fn is_subtype_of(self, other: HeapType) -> bool {
        self.is_subtype_with(other, &|a, b| a == b)
    }

    /// Heap subtyping with `concrete` deciding between two concrete types of one kind.
    pub fn is_subtype_with(self, other: HeapType, concrete: &dyn Fn(u32, u32) -> bool) -> bool {
        use HeapType as H;
        if self == other || (self == self.bottom() && self.top() == other.top()) {
            return true;
        }
        match (self, other) {
            (H::Concrete(a), H::Concrete(b))
            | (H::ConcreteStruct(a), H::ConcreteStruct(b))
            | (H::ConcreteArray(a), H::ConcreteArray(b)) => concrete(a, b),
            _ => matches!(
                (self, other),
                (H::Concrete(_), H::Func)
                    | (H::ConcreteStruct(_), H::Struct | H::Eq | H::Any)
                    | (H::ConcreteArray(_), H::Array | H::Eq | H::Any)
                    | (H::I31 | H::Struct | H::Array, H::Eq | H::Any)
                    | (H::Eq, H::Any)
            ),
        }
    }

    /// The index (or canonical id) of the concrete type, if this is one.
    pub fn concrete(self) -> Option<u32> {
        match self {
            HeapType::Concrete(i) | HeapType::ConcreteStruct(i) | HeapType::ConcreteArray(i) => {
                Some(i)
            }
            _ => None,
        }
    }

    /// This heap type with its concrete type's index `i` (if any) replaced by `f(i)`.
    pub fn map_concrete(self, f: impl FnOnce(u32) -> u32) -> HeapType {
        match self {
            HeapType::Concrete(i) => HeapType::Concrete(f(i)),
            HeapType::ConcreteStruct(i) => HeapType::ConcreteStruct(f(i)),
            HeapType::ConcreteArray(i) => HeapType::ConcreteArray(f(i)),
            h => h,
        }
    }
}

impl std::fmt::Display for HeapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeapType::Func => "func",
            HeapType::NoFunc => "nofunc",
            HeapType::Extern => "extern",
            HeapType::NoExtern => "noextern",
            HeapType::Exn => "exn",
            HeapType::NoExn => "noexn",
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::None => "none",
            HeapType::Concrete(i) | HeapType::ConcreteStruct(i) | HeapType::ConcreteArray(i) => {
                return write!(f, "{i}")
            }
        })
    }
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        ValType::Ref(r)
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncType {
    /// Whether a parameter or result refers to a concrete type.
    pub fn refers_to_types(&self) -> bool {
        self.params
            .iter()
            .chain(&self.results)
            .any(|t| t.concrete().is_some())
    }

    /// This type with every concrete type index `i` replaced by `f(i)`.
    pub fn map_concrete(&self, f: impl Fn(u32) -> u32) -> FuncType {
        FuncType {
            params: self.params.iter().map(|t| t.map_concrete(&f)).collect(),
            results: self.results.iter().map(|t| t.map_concrete(&f)).collect(),
        }
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        f.write_str("(func")?;
        if !self.params.is_empty() {
            write!(f, " (param {})", list(&self.params))?;
        }
        if !self.results.is_empty() {
            write!(f, " (result {})", list(&self.results))?;
        }
        f.write_str(")")
    }
}

/// How a struct field or array element is stored: a value type, or a packed integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StorageType {
    I8,
    I16,
    Val(ValType),
}

impl StorageType {
    /// The value type it is read as (packed integers as `i32`).
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(t) => t,
        }
    }

    /// Whether it holds a reference (a word the collector traces).
    pub fn is_ref(self) -> bool {
        matches!(self, StorageType::Val(ValType::Ref(_)))
    }

    /// This type with its concrete type's index `i` (if any) replaced by `f(i)`.
    pub fn map_concrete(self, f: impl FnOnce(u32) -> u32) -> StorageType {
        match self {
            StorageType::Val(t) => StorageType::Val(t.map_concrete(f)),
            s => s,
        }
    }
}

/// A struct field or an array's element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldType {
    pub storage: StorageType,
    pub mutable: bool,
}

/// What kind of type a type index defines, beyond its function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Composite {
    /// A function type (its signature is in the module's `types`).
    Func,
    Struct(Vec<FieldType>),
    Array(FieldType),
}

/// The WebAssembly 3.0 facts of a defined type besides its signature: its kind, whether it is
/// final, and its declared supertype (an index, or a canonical id in the runtime).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubTypeDecl {
    pub is_final: bool,
    pub supertype: Option<u32>,
    pub composite: Composite,
}

impl SubTypeDecl {
    /// What a function type written without `sub` is: final, without supertype.
    pub const PLAIN_FUNC: SubTypeDecl = SubTypeDecl {
        is_final: true,
        supertype: None,
        composite: Composite::Func,
    };

    /// This declaration with every concrete type index `i` (the supertype and those in
    /// fields) replaced by `f(i)`.
    pub fn map_concrete(&self, f: impl Fn(u32) -> u32) -> SubTypeDecl {
        let field = |t: &FieldType| FieldType {
            storage: t.storage.map_concrete(&f),
            mutable: t.mutable,
        };
        SubTypeDecl {
            is_final: self.is_final,
            supertype: self.supertype.map(&f),
            composite: match &self.composite {
                Composite::Func => Composite::Func,
                Composite::Struct(fields) => Composite::Struct(fields.iter().map(field).collect()),
                Composite::Array(t) => Composite::Array(field(t)),
            },
        }
    }

    /// Whether a field or the supertype refers to a concrete type.
    pub fn refers_to_types(&self) -> bool {
        let field =
            |t: &FieldType| matches!(t.storage, StorageType::Val(v) if v.concrete().is_some());
        self.supertype.is_some()
            || match &self.composite {
                Composite::Func => false,
                Composite::Struct(fields) => fields.iter().any(field),
                Composite::Array(t) => field(t),
            }
    }

    /// The heap type `(ref $i)` of a type with this declaration and index (or id) `i`.
    pub fn heap_type(&self, i: u32) -> HeapType {
        match self.composite {
            Composite::Func => HeapType::Concrete(i),
            Composite::Struct(_) => HeapType::ConcreteStruct(i),
            Composite::Array(_) => HeapType::ConcreteArray(i),
        }
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

#[cfg(test)]
mod subtyping_tests {
    use super::*;

    #[test]
    fn reference_subtyping_follows_nullability_and_the_hierarchies() {
        let t = |nullable, heap| RefType { nullable, heap };
        // A concrete function type is below `func` and above `nofunc`; only equal ids match.
        assert!(t(false, HeapType::Concrete(3)).is_subtype_of(RefType::FUNCREF));
        assert!(t(false, HeapType::Concrete(3)).is_subtype_of(t(true, HeapType::Concrete(3))));
        assert!(!t(true, HeapType::Concrete(3)).is_subtype_of(t(false, HeapType::Concrete(3))));
        assert!(!t(false, HeapType::Concrete(3)).is_subtype_of(t(false, HeapType::Concrete(4))));
        assert!(t(true, HeapType::NoFunc).is_subtype_of(t(true, HeapType::Concrete(4))));
        assert!(!RefType::FUNCREF.is_subtype_of(t(true, HeapType::Concrete(4))));
        // The hierarchies are disjoint.
        assert!(!RefType::FUNCREF.is_subtype_of(RefType::EXTERNREF));
        assert!(!t(true, HeapType::NoExtern).is_subtype_of(RefType::FUNCREF));
        assert!(t(true, HeapType::NoExn).is_subtype_of(RefType::EXNREF));
        assert!(t(false, HeapType::I31).is_subtype_of(t(true, HeapType::Eq)));
        assert!(!t(false, HeapType::Eq).is_subtype_of(t(true, HeapType::I31)));
        assert_eq!(RefType::FUNCREF.to_string(), "funcref");
        assert_eq!(t(false, HeapType::Concrete(2)).to_string(), "(ref 2)");
        assert_eq!(t(true, HeapType::Concrete(2)).to_string(), "(ref null 2)");
        assert_eq!(t(false, HeapType::Func).to_string(), "(ref func)");
    }
}
