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
use crate::types::{FuncType, GlobalType, MemoryType, RefType, SubTypeDecl, TableType};
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
    /// `ref.i31`.
    RefI31,
    /// `struct.new $t` (type index): pops the fields.
    StructNew(u32),
    StructNewDefault(u32),
    /// `array.new $t`: pops the initial value and the length.
    ArrayNew(u32),
    ArrayNewDefault(u32),
    /// `array.new_fixed $t n`: pops `n` elements.
    ArrayNewFixed(u32, u32),
    AnyConvertExtern,
    ExternConvertAny,
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

/// Active data segments at least this long, at a constant offset, are placed in the data blob
/// at the same offset modulo [`DATA_PAGE`] as their target, and the blob is page-aligned, so
/// that the runtime can map their whole pages straight from the executable file instead of
/// copying them (a snapshot of `wasic build --preinit`, large tables of a program).
pub const DATA_MAP_MIN: u64 = 64 << 10;
/// The page size that placement assumes (also the blob's alignment).
pub const DATA_PAGE: u64 = 4096;

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
    /// The module's types; a concrete reference type in them is an index into this list.
    pub types: Vec<FuncType>,
    /// The number of types in each recursion group of `types`, in order (WebAssembly 3.0:
    /// the types of a group may refer to one another, and are one type to canonicalize);
    /// empty when every group has one type, as in every module without an explicit `rec`.
    pub rec_groups: Vec<u32>,
    /// What each type is beyond its signature (kind, finality, supertype), one per type;
    /// empty when every type is a final function type without supertype, as in every module
    /// that does not use garbage collection or subtyping. A struct or array type's entry in
    /// `types` is an empty signature.
    pub subtypes: Vec<SubTypeDecl>,
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
    /// Code size in bytes of the array trampoline and of the host adapter of each type index:
    /// the runtime must know all compiled code, since a stack overflow in a trampoline or an
    /// adapter is a trap like one in a wasm function.
    pub trampoline_sizes: Vec<u32>,
    pub adapter_sizes: Vec<u32>,
    /// Trap sites of each defined function, sorted by offset.
    pub traps: TrapTable,
    /// Exception handler sites of each defined function, sorted by return offset.
    pub handlers: PerFunc<HandlerSite>,
    /// Function names from the name section.
    pub func_names: NameMap,
    /// Source lines of the compiled code (from the module's DWARF; empty without).
    pub lines: LazyLines,
}

/// One list per defined function, stored flat: an executable decodes its metadata at every
/// start, and one allocation per function (`Vec<Vec<T>>`) was most of that cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerFunc<T> {
    items: Vec<T>,
    /// `ends[i]`: one past the last item of function `i` in `items`.
    ends: Vec<u32>,
}

impl<T> Default for PerFunc<T> {
    fn default() -> Self {
        PerFunc {
            items: Vec::new(),
            ends: Vec::new(),
        }
    }
}

impl<T> PerFunc<T> {
    /// Number of functions.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The list of function `i` (`None` past the last function or in corrupt metadata).
    pub fn get(&self, i: usize) -> Option<&[T]> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.items.get(start..end)
    }

    /// Every function's list, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[T]> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(&[]))
    }

    /// Appends the list of the next function.
    pub fn push(&mut self, list: impl IntoIterator<Item = T>) {
        self.items.extend(list);
        self.ends.push(self.items.len() as u32);
    }
}

impl<T, L: IntoIterator<Item = T>> FromIterator<L> for PerFunc<T> {
    fn from_iter<I: IntoIterator<Item = L>>(lists: I) -> Self {
        let mut p = PerFunc::default();
        for l in lists {
            p.push(l);
        }
        p
    }
}

/// A record of a [`PackedTable`]: fixed size, little-endian, its first four bytes the code
/// offset it is sorted and searched by.
pub trait Packed: Copy {
    /// Bytes per record.
    const SIZE: usize;
    /// Appends the record's bytes.
    fn write(&self, out: &mut Vec<u8>);
    /// Reads a record (`bytes` is `SIZE` long); `None` when the bytes are no valid record.
    fn read(bytes: &[u8]) -> Option<Self>;
}

impl Packed for TrapSite {
    const SIZE: usize = 5;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.push(self.trap as u8);
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(TrapSite {
            offset: le_u32(bytes, 0),
            trap: Trap::from_u8(bytes[4])?,
        })
    }
}

/// A source position of compiled code: from `offset` (in the function's code) on, until the
/// next row, the code is line `line` of file `file` (an index in [`SourceLines::files`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRow {
    pub offset: u32,
    pub file: u32,
    pub line: u32,
}

impl Packed for LineRow {
    const SIZE: usize = 12;
    fn write(&self, out: &mut Vec<u8>) {
        for v in [self.offset, self.file, self.line] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(LineRow {
            offset: le_u32(bytes, 0),
            file: le_u32(bytes, 1),
            line: le_u32(bytes, 2),
        })
    }
}

/// Records of every defined function, kept in one byte string of fixed layout that lookups
/// read in place: an executable decodes its metadata at every start, and decoding records one
/// by one (thousands of trap sites even in a hello world) was the largest part of that.
///
/// Layout, all little-endian: `n` (u32, the number of functions), `ends` (`n` × u32: one past
/// function `i`'s last record), then the records, [`Packed::SIZE`] bytes each. Decoding checks
/// the layout and every record once; lookups cannot then go out of bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedTable<T> {
    bytes: Vec<u8>,
    funcs: usize,
    _records: std::marker::PhantomData<T>,
}

/// The trap sites of every defined function.
pub type TrapTable = PackedTable<TrapSite>;

/// One function's records, sorted by offset: a view into a [`PackedTable`].
#[derive(Clone, Copy, Debug)]
pub struct Records<'a, T> {
    bytes: &'a [u8],
    _records: std::marker::PhantomData<T>,
}

/// The trap sites of one function.
pub type TrapSites<'a> = Records<'a, TrapSite>;

impl<T> Default for PackedTable<T> {
    fn default() -> Self {
        PackedTable {
            bytes: 0u32.to_le_bytes().to_vec(),
            funcs: 0,
            _records: std::marker::PhantomData,
        }
    }
}

/// The `i`th little-endian u32 of `bytes`.
fn le_u32(bytes: &[u8], i: usize) -> u32 {
    let b = &bytes[4 * i..4 * i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl<T: Packed> PackedTable<T> {
    /// Checks `bytes` against the layout.
    fn from_bytes(bytes: Vec<u8>) -> Result<PackedTable<T>, &'static str> {
        let funcs = bytes.get(..4).ok_or("packed table without a header")?;
        let funcs = le_u32(funcs, 0) as usize;
        let rest = (bytes.len() - 4)
            .checked_sub(funcs.checked_mul(4).ok_or("packed table too large")?)
            .ok_or("packed table shorter than its function count")?;
        if rest % T::SIZE != 0 {
            return Err("packed table length does not fit its layout");
        }
        let records = rest / T::SIZE;
        let ends = &bytes[4..4 + 4 * funcs];
        let mut prev = 0;
        for i in 0..funcs {
            let end = le_u32(ends, i) as usize;
            if end < prev || end > records {
                return Err("packed table function ends out of order");
            }
            prev = end;
        }
        if prev != records {
            return Err("packed table records past the last function");
        }
        if bytes[4 + 4 * funcs..]
            .chunks_exact(T::SIZE)
            .any(|r| T::read(r).is_none())
        {
            return Err("invalid record in a packed table");
        }
        Ok(PackedTable {
            bytes,
            funcs,
            _records: std::marker::PhantomData,
        })
    }

    /// Number of functions.
    pub fn len(&self) -> usize {
        self.funcs
    }

    pub fn is_empty(&self) -> bool {
        self.funcs == 0
    }

    fn end(&self, i: usize) -> usize {
        le_u32(&self.bytes[4..], i) as usize
    }

    /// The records of function `i`, or `None` past the last function.
    pub fn get(&self, i: usize) -> Option<Records<'_, T>> {
        if i >= self.funcs {
            return None;
        }
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        let base = 4 + 4 * self.funcs;
        Some(Records {
            bytes: &self.bytes[base + start * T::SIZE..base + self.end(i) * T::SIZE],
            _records: std::marker::PhantomData,
        })
    }

    /// Every function's records, in order.
    pub fn iter(&self) -> impl Iterator<Item = Records<'_, T>> + '_ {
        (0..self.funcs).filter_map(|i| self.get(i))
    }
}

impl<T: Packed, L: IntoIterator<Item = T>> FromIterator<L> for PackedTable<T> {
    fn from_iter<I: IntoIterator<Item = L>>(lists: I) -> Self {
        let mut ends = Vec::new();
        let mut records = Vec::new();
        let mut count = 0u32;
        for list in lists {
            for r in list {
                r.write(&mut records);
                count += 1;
            }
            ends.extend_from_slice(&count.to_le_bytes());
        }
        let funcs = ends.len() / 4;
        let mut bytes = (funcs as u32).to_le_bytes().to_vec();
        bytes.extend(ends);
        bytes.extend(records);
        PackedTable {
            bytes,
            funcs,
            _records: std::marker::PhantomData,
        }
    }
}

/// Serde for byte strings kept as they are (postcard: a length and the bytes, read with one
/// copy), shared by the tables below.
mod byte_string {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

impl<T> Serialize for PackedTable<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        byte_string::serialize(&self.bytes, s)
    }
}

impl<'de, T: Packed> Deserialize<'de> for PackedTable<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = byte_string::deserialize(d)?;
        PackedTable::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

impl<'a, T: Packed + 'a> Records<'a, T> {
    pub fn len(&self) -> usize {
        self.bytes.len() / T::SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn offset(&self, i: usize) -> u32 {
        le_u32(&self.bytes[i * T::SIZE..], 0)
    }

    fn record(&self, i: usize) -> Option<T> {
        T::read(&self.bytes[i * T::SIZE..(i + 1) * T::SIZE])
    }

    /// The records, by offset.
    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.record(i))
    }

    /// The record at exactly `offset`: a binary search, with no allocation (the signal
    /// handler looks up trap sites).
    pub fn at(&self, offset: u32) -> Option<T> {
        let i = self.first_after(offset).checked_sub(1)?;
        (self.offset(i) == offset).then(|| self.record(i)).flatten()
    }

    /// The last record at or before `offset`.
    pub fn covering(&self, offset: u32) -> Option<T> {
        let i = self.first_after(offset).checked_sub(1)?;
        self.record(i)
    }

    /// The index of the first record after `offset`.
    fn first_after(&self, offset: u32) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.offset(mid) <= offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl TrapSites<'_> {
    /// The trap of the site at `offset`, if there is one.
    pub fn find(&self, offset: u32) -> Option<Trap> {
        self.at(offset).map(|s| s.trap)
    }
}

/// Where compiled code came from in the source, from the module's DWARF: what trap
/// backtraces print after a function's name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceLines {
    /// Source file paths.
    pub files: Vec<String>,
    /// Per defined function, its rows by offset.
    pub rows: PackedTable<LineRow>,
}

impl SourceLines {
    /// The file and line of code offset `offset` of defined function `func`.
    pub fn lookup(&self, func: usize, offset: u32) -> Option<(&str, u32)> {
        let row = self.rows.get(func)?.covering(offset)?;
        Some((self.files.get(row.file as usize)?, row.line))
    }
}

/// [`SourceLines`], kept encoded until a backtrace needs them: most runs never print one, and
/// decoding them at every start would cost a start-up as much as the rest of the metadata.
/// Empty when the module had no DWARF.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LazyLines(#[serde(with = "byte_string")] Vec<u8>);

impl LazyLines {
    pub fn new(lines: &SourceLines) -> LazyLines {
        LazyLines(postcard::to_stdvec(lines).expect("serializing into a Vec cannot fail"))
    }

    /// The lines, or `None` without (or with corrupt) ones.
    pub fn decode(&self) -> Option<SourceLines> {
        if self.0.is_empty() {
            return None;
        }
        postcard::from_bytes(&self.0).ok()
    }
}

/// Function names (from the name section) by function index, in one string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NameMap {
    text: String,
    /// (function index, end of its name in `text`), sorted by index.
    entries: Vec<(u32, u32)>,
}

impl NameMap {
    /// Adds the name of function `index`; indices must come in increasing order (as the name
    /// section has them): a repeated or smaller index is ignored.
    pub fn push(&mut self, index: u32, name: &str) {
        if self.entries.last().is_some_and(|(last, _)| *last >= index) {
            return;
        }
        self.text.push_str(name);
        self.entries.push((index, self.text.len() as u32));
    }

    /// The name of function `index`, if it has one.
    pub fn get(&self, index: u32) -> Option<&str> {
        let i = self.entries.binary_search_by_key(&index, |e| e.0).ok()?;
        let start = match i {
            0 => 0,
            _ => self.entries[i - 1].1 as usize,
        };
        self.text.get(start..self.entries[i].1 as usize)
    }

    /// Every (function index, name), by index.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.entries
            .iter()
            .filter_map(|(i, _)| Some((*i, self.get(*i)?)))
    }
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
    /// What type index `i` is beyond its signature.
    pub fn subtype(&self, i: u32) -> &SubTypeDecl {
        self.subtypes
            .get(i as usize)
            .unwrap_or(&SubTypeDecl::PLAIN_FUNC)
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
                results: vec![ValType::FUNCREF],
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
            trampoline_sizes: vec![30],
            adapter_sizes: vec![50],
            traps: [vec![TrapSite {
                offset: 7,
                trap: Trap::IntegerDivisionByZero,
            }]]
            .into_iter()
            .collect(),
            handlers: [vec![HandlerSite {
                ret_offset: 12,
                handler_offset: 30,
                sp_to_fp: 16,
            }]]
            .into_iter()
            .collect(),
            tags: vec![0],
            num_imported_tags: 1,
            func_names: {
                let mut n = NameMap::default();
                n.push(1, "g");
                n
            },
            ..Default::default()
        };
        assert_eq!(decode(&encode(&meta)).unwrap(), meta);
    }

    #[test]
    fn packed_tables_find_records_per_function_and_reject_corrupt_layouts() {
        let site = |offset, trap| TrapSite { offset, trap };
        let t: TrapTable = [
            vec![site(3, Trap::Unreachable), site(9, Trap::MemoryOutOfBounds)],
            vec![],
            vec![site(0, Trap::StackOverflow)],
        ]
        .into_iter()
        .collect();
        assert_eq!(t.len(), 3);
        let f0 = t.get(0).unwrap();
        assert_eq!(
            (f0.find(3), f0.find(9), f0.find(4), f0.find(0)),
            (
                Some(Trap::Unreachable),
                Some(Trap::MemoryOutOfBounds),
                None,
                None
            )
        );
        assert_eq!(t.get(1).unwrap().len(), 0);
        assert_eq!(t.get(2).unwrap().find(0), Some(Trap::StackOverflow));
        assert!(t.get(3).is_none());
        assert_eq!(
            t.iter()
                .map(|s| s.iter().collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            [
                vec![site(3, Trap::Unreachable), site(9, Trap::MemoryOutOfBounds)],
                vec![],
                vec![site(0, Trap::StackOverflow)]
            ]
        );
        let good = t.bytes.clone();
        assert_eq!(TrapTable::from_bytes(good.clone()), Ok(t.clone()));
        // Rows covering an offset.
        let lines: PackedTable<LineRow> = [vec![
            LineRow {
                offset: 0,
                file: 0,
                line: 7,
            },
            LineRow {
                offset: 10,
                file: 1,
                line: 9,
            },
        ]]
        .into_iter()
        .collect();
        let f = lines.get(0).unwrap();
        assert_eq!(f.covering(0).map(|r| r.line), Some(7));
        assert_eq!(f.covering(9).map(|r| r.line), Some(7));
        assert_eq!(f.covering(10).map(|r| r.line), Some(9));
        assert_eq!(f.covering(1000).map(|r| r.line), Some(9));
        assert_eq!(f.at(9), None);
        let mut bad = Vec::new();
        // Truncated, a site too few, ends out of order, an unknown trap code, a huge count.
        bad.push(good[..2].to_vec());
        bad.push(good[..good.len() - 1].to_vec());
        let mut b = good.clone();
        b[4..8].copy_from_slice(&3u32.to_le_bytes());
        bad.push(b);
        let mut b = good.clone();
        *b.last_mut().unwrap() = 0xee;
        bad.push(b);
        let mut b = good.clone();
        b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        bad.push(b);
        for b in bad {
            assert!(TrapTable::from_bytes(b.clone()).is_err(), "{b:?}");
            let encoded = postcard::to_stdvec(&serde_bytes_of(&b)).unwrap();
            assert!(postcard::from_bytes::<TrapTable>(&encoded).is_err());
        }
    }

    /// `bytes` serialized the way a [`TrapTable`] is.
    fn serde_bytes_of(bytes: &[u8]) -> impl Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl Serialize for B<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(bytes)
    }

    #[test]
    fn per_function_lists_and_names_come_back_per_function() {
        let p: PerFunc<u32> = [vec![1, 2], vec![], vec![3]].into_iter().collect();
        assert_eq!(p.len(), 3);
        assert_eq!(p.get(0), Some(&[1, 2][..]));
        assert_eq!(p.get(1), Some(&[][..]));
        assert_eq!(p.get(2), Some(&[3][..]));
        assert_eq!(p.get(3), None);
        let mut n = NameMap::default();
        n.push(2, "two");
        n.push(5, "five");
        n.push(5, "again");
        n.push(1, "late");
        assert_eq!(
            (n.get(2), n.get(5), n.get(1), n.get(3)),
            (Some("two"), Some("five"), None, None)
        );
        assert_eq!(n.iter().collect::<Vec<_>>(), [(2, "two"), (5, "five")]);
        // Corrupt lists (ends out of order or past the items) give `None`, never a panic.
        let bad = PerFunc::<u32> {
            items: vec![1],
            ends: vec![3, 0],
        };
        assert_eq!((bad.get(0), bad.get(1)), (None, None));
        let bad = NameMap {
            text: "ab".into(),
            entries: vec![(0, 9), (1, 1)],
        };
        assert_eq!((bad.get(0), bad.get(1)), (None, None));
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
