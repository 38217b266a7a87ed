//! The module metadata carried inside every compiled object, and the descriptor that finds it.
//!
//! A compiled object defines one data symbol, [`crate::MODULE_DESCRIPTOR_SYMBOL`], holding a
//! [`ModuleDescriptor`]: a `#[repr(C)]` record of pointers (filled by relocations, so the same
//! object works through the system linker and through the runtime's in-process loader):
//!
//! ```text
//! ModuleDescriptor
//!   magic, abi_version
//!   meta  ─────────────► postcard-encoded ModuleMeta (this file's `encode`/`decode`)
//!   data  ─────────────► bytes of all data segments, back to back (DataSegment::offset/len)
//!   funcs ─────────────► [code address; defined functions]
//!   array_trampolines ─► [code address; types]   host -> wasm, one per type index
//!   host_adapters ─────► [code address; types]   wasm -> host, one per type index
//! ```
//!
//! Besides what the descriptor reaches, the object may hold data only its own code reads, such
//! as the slot records of tables whose contents are known at compile time (see the compiler's
//! `object.rs`). Linked or loaded, an object's relocations are `R_X86_64_64`, `R_X86_64_PC32`
//! and `R_X86_64_PLT32` against its own symbols, in code and in data alike (the slot records
//! hold code addresses as 32-bit offsets relative to the records, written by `R_X86_64_PC32` in
//! read-only data).
//!
//! Writing and reading the metadata happen only here, and a round-trip test pins the format.

use crate::trap::Trap;
use crate::types::{FuncType, GlobalType, MemoryType, RefType, TableType};
use serde::{Deserialize, Serialize};

/// `ModuleDescriptor::magic`.
pub const DESCRIPTOR_MAGIC: u64 = u64::from_le_bytes(*b"wasicMOD");

/// Found at [`crate::MODULE_DESCRIPTOR_SYMBOL`] in every compiled object.
#[repr(C)]
#[derive(Debug)]
pub struct ModuleDescriptor {
    pub magic: u64,
    pub abi_version: u64,
    pub meta: *const u8,
    pub meta_len: u64,
    pub data: *const u8,
    pub data_len: u64,
    pub funcs: *const *const u8,
    pub num_funcs: u64,
    pub array_trampolines: *const *const u8,
    pub host_adapters: *const *const u8,
    pub num_types: u64,
}

// Only ever points at immutable, 'static (or loader-owned) data.
unsafe impl Sync for ModuleDescriptor {}
unsafe impl Send for ModuleDescriptor {}

/// An instruction of a constant expression (global initializers, segment offsets, elements).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ConstOp {
    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),
    V128Const(u128),
    RefNull(RefType),
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// A constant expression: run on a stack, leaves exactly one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstExpr(pub Vec<ConstOp>);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

impl std::fmt::Display for ExternKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExternKind::Func => "function",
            ExternKind::Table => "table",
            ExternKind::Memory => "memory",
            ExternKind::Global => "global",
            ExternKind::Tag => "tag",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImportKind {
    /// Type index.
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    /// Type index of the tag's signature.
    Tag(u32),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub name: String,
    pub kind: ExternKind,
    pub index: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDecl {
    pub ty: TableType,
    /// Initial value of every element (null when absent).
    pub init: Option<ConstExpr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalDecl {
    pub ty: GlobalType,
    pub init: ConstExpr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElemKind {
    Passive,
    Declared,
    Active { table: u32, offset: ConstExpr },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElemSegment {
    pub kind: ElemKind,
    pub ty: RefType,
    pub items: Vec<ConstExpr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataKind {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSegment {
    pub kind: DataKind,
    /// Position of the bytes in the descriptor's data blob.
    pub offset: u64,
    pub len: u64,
}

/// A place in compiled code that traps: a trap instruction or a memory access that may fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapSite {
    /// Offset from the start of the function's code.
    pub offset: u32,
    pub trap: Trap,
}

/// A call inside an exception handler's scope (a Cranelift `try_call`): where the unwinder
/// resumes when an exception passes through this call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerSite {
    /// Offset of the call's return address from the start of the function's code.
    pub ret_offset: u32,
    /// Offset of the handler from the start of the function's code.
    pub handler_offset: u32,
    /// Distance from the stack pointer to the frame pointer at the call: the handler runs with
    /// `sp = fp - sp_to_fp`.
    pub sp_to_fp: u32,
}

/// What the runtime needs to know about a compiled module.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleMeta {
    pub name: Option<String>,
    pub types: Vec<FuncType>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported functions first.
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub num_imported_tables: u32,
    pub num_imported_memories: u32,
    pub num_imported_globals: u32,
    pub num_imported_tags: u32,
    /// Defined tables, memories and globals (after the imported ones in index space).
    pub tables: Vec<TableDecl>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<GlobalDecl>,
    /// Type index of every defined tag.
    pub tags: Vec<u32>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elements: Vec<ElemSegment>,
    pub data: Vec<DataSegment>,
    /// Code size in bytes of each defined function.
    pub func_sizes: Vec<u32>,
    /// Trap sites of each defined function, sorted by offset.
    pub traps: Vec<Vec<TrapSite>>,
    /// Exception handler sites of each defined function, sorted by return offset.
    pub handlers: Vec<Vec<HandlerSite>>,
    /// Function names from the name section: (function index, name).
    pub func_names: Vec<(u32, String)>,
}

impl ModuleMeta {
    pub fn num_tables(&self) -> u32 {
        self.num_imported_tables + self.tables.len() as u32
    }
    pub fn num_memories(&self) -> u32 {
        self.num_imported_memories + self.memories.len() as u32
    }
    pub fn num_globals(&self) -> u32 {
        self.num_imported_globals + self.globals.len() as u32
    }
    pub fn num_tags(&self) -> u32 {
        self.num_imported_tags + self.tags.len() as u32
    }
    /// Type index of every tag's signature, imported tags first (the tag index space).
    pub fn tag_types(&self) -> impl Iterator<Item = u32> + '_ {
        self.imports
            .iter()
            .filter_map(|i| match i.kind {
                ImportKind::Tag(t) => Some(t),
                _ => None,
            })
            .chain(self.tags.iter().copied())
    }
    /// The `VMContext` offsets of this module.
    pub fn offsets(&self) -> crate::vmctx::VMOffsets {
        crate::vmctx::VMOffsets {
            num_funcs: self.funcs.len() as u32,
            num_globals: self.num_globals(),
            num_tables: self.num_tables(),
            num_memories: self.num_memories(),
            num_tags: self.num_tags(),
            num_types: self.types.len() as u32,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("corrupt module metadata: {0}")]
    Corrupt(String),
}

/// Serializes metadata for the object's metadata section.
pub fn encode(meta: &ModuleMeta) -> Vec<u8> {
    postcard::to_stdvec(meta).expect("serializing into a Vec cannot fail")
}

/// Reads metadata written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<ModuleMeta, MetaError> {
    postcard::from_bytes(bytes).map_err(|e| MetaError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValType;

    #[test]
    fn metadata_round_trips_through_encode_decode() {
        let meta = ModuleMeta {
            name: Some("m".into()),
            types: vec![FuncType {
                params: vec![ValType::I32, ValType::V128],
                results: vec![ValType::FuncRef],
            }],
            imports: vec![Import {
                module: "env".into(),
                name: "f".into(),
                kind: ImportKind::Func(0),
            }],
            funcs: vec![0, 0],
            num_imported_funcs: 1,
            globals: vec![GlobalDecl {
                ty: GlobalType {
                    ty: ValType::I64,
                    mutable: true,
                },
                init: ConstExpr(vec![
                    ConstOp::I64Const(-5),
                    ConstOp::GlobalGet(0),
                    ConstOp::I64Add,
                ]),
            }],
            exports: vec![Export {
                name: "g".into(),
                kind: ExternKind::Func,
                index: 1,
            }],
            data: vec![DataSegment {
                kind: DataKind::Passive,
                offset: 3,
                len: 9,
            }],
            func_sizes: vec![42],
            traps: vec![vec![TrapSite {
                offset: 7,
                trap: Trap::IntegerDivisionByZero,
            }]],
            handlers: vec![vec![HandlerSite {
                ret_offset: 12,
                handler_offset: 30,
                sp_to_fp: 16,
            }]],
            tags: vec![0],
            num_imported_tags: 1,
            func_names: vec![(1, "g".into())],
            ..Default::default()
        };
        assert_eq!(decode(&encode(&meta)).unwrap(), meta);
    }

    #[test]
    fn truncated_metadata_is_an_error_not_a_panic() {
        let bytes = encode(&ModuleMeta {
            funcs: vec![1, 2, 3],
            ..Default::default()
        });
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]);
        }
        assert!(decode(&[0xff; 3]).is_err());
    }
}
