//! The module pass: parses and validates a module section by section, fills the
//! [`ModuleMeta`] the runtime needs and collects the function bodies for translation.
//!
//! Function bodies are only *collected* here; they are validated operator by operator while
//! being translated on worker threads (see `translate/mod.rs`), as wasmtime does, so
//! validation is as parallel as code generation.

use crate::error::CompileError;
use wasic_abi::meta::{
    ConstExpr, ConstOp, DataKind, DataSegment, ElemKind, ElemSegment, Export, ExternKind,
    GlobalDecl, Import, ImportKind, ModuleMeta, TableDecl,
};
use wasic_abi::types::{
    Composite, FieldType, FuncType, GlobalType, HeapType, MemoryType, RefType, StorageType,
    SubTypeDecl, TableType, ValType,
};
use wasic_abi::vmctx::VMOffsets;
use wasmparser::{
    FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator, ValidatorResources,
};

/// One defined function waiting for translation.
pub struct FuncInput<'a> {
    pub validator: FuncToValidate<ValidatorResources>,
    pub body: FunctionBody<'a>,
}

/// The value of a global that never changes (bits of floats and vectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalConst {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
}

/// What translation needs to know about the module, with every index space complete
/// (imported entities first). Shared read-only by all worker threads.
#[derive(Debug)]
pub struct ModuleEnv {
    /// Signature of each type index (empty for struct and array types).
    pub types: Vec<FuncType>,
    /// What each type index is beyond its signature (`ModuleMeta::subtypes`, complete).
    pub subtypes: Vec<SubTypeDecl>,
    pub kinds: Vec<TypeKind>,
    /// The layout of each struct type's objects (`None` for other types).
    pub struct_layouts: Vec<Option<wasic_abi::gc::StructLayout>>,
    /// Type index of every function.
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub globals: Vec<GlobalType>,
    /// For every global, its value when it is a defined immutable global initialized with one
    /// numeric constant (`i32.const` ... `v128.const`): such a global never changes.
    pub const_globals: Vec<Option<GlobalConst>>,
    pub tables: Vec<TableType>,
    pub memories: Vec<MemoryType>,
    /// Type index of every exception tag's signature.
    pub tags: Vec<u32>,
    pub offsets: VMOffsets,
    /// Which whole-module optimizations to apply (set by the pipeline after parsing).
    pub optimizations: crate::Optimizations,
    /// Per type index, the first type index of the same type: two types are the same
    /// signature (what `call_indirect` checks) exactly when their canonical indices are equal.
    /// Equal as wasmparser's canonicalization decides, which compares the types a `(ref $t)`
    /// names, not their indices, as the runtime's canonical ids do (`runtime/src/types.rs`).
    pub canonical_types: Vec<u32>,
    /// Per table, its contents when nothing can change them after instantiation; all `None`
    /// unless the `static_tables` optimization is on (see [`ModuleEnv::find_static_tables`]).
    pub static_tables: Vec<Option<StaticTable>>,
    /// With DWARF to translate (`dwarf.rs`): the offset of the code section's contents, from
    /// which every instruction's source location counts.
    pub srcloc_base: Option<u64>,
    /// Per defined function, the C library function it is recognised as (`idioms.rs`); empty
    /// unless the `libc_idioms` optimization is on.
    pub libc_functions: Vec<Option<crate::idioms::LibcFunction>>,
}

impl ModuleEnv {
    fn new(meta: &ModuleMeta, kinds: Vec<TypeKind>, canonical_types: Vec<u32>) -> Self {
        let subtypes: Vec<SubTypeDecl> = (0..meta.types.len() as u32)
            .map(|i| meta.subtype(i).clone())
            .collect();
        let struct_layouts = subtypes
            .iter()
            .map(|s| match &s.composite {
                Composite::Struct(fields) => Some(wasic_abi::gc::struct_layout(fields)),
                _ => None,
            })
            .collect();
        let mut env = ModuleEnv {
            types: meta.types.clone(),
            subtypes,
            kinds,
            struct_layouts,
            funcs: meta.funcs.clone(),
            num_imported_funcs: meta.num_imported_funcs,
            globals: Vec::new(),
            const_globals: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            tags: meta.tag_types().collect(),
            offsets: meta.offsets(),
            optimizations: Default::default(),
            canonical_types,
            static_tables: Vec::new(),
            srcloc_base: None,
            libc_functions: Vec::new(),
        };
        for import in &meta.imports {
            match &import.kind {
                ImportKind::Global(g) => env.globals.push(*g),
                ImportKind::Table(t) => env.tables.push(*t),
                ImportKind::Memory(m) => env.memories.push(*m),
                ImportKind::Func(_) | ImportKind::Tag(_) => {}
            }
        }
        env.globals.extend(meta.globals.iter().map(|g| g.ty));
        env.const_globals = vec![None; env.globals.len() - meta.globals.len()];
        env.const_globals.extend(meta.globals.iter().map(|g| {
            let value = match g.init.0[..] {
                [ConstOp::I32Const(v)] => GlobalConst::I32(v),
                [ConstOp::I64Const(v)] => GlobalConst::I64(v),
                [ConstOp::F32Const(bits)] => GlobalConst::F32(bits),
                [ConstOp::F64Const(bits)] => GlobalConst::F64(bits),
                [ConstOp::V128Const(bits)] => GlobalConst::V128(bits),
                _ => return None,
            };
            (!g.ty.mutable).then_some(value)
        }));
        env.tables.extend(meta.tables.iter().map(|t| t.ty));
        env.memories.extend(meta.memories.iter().copied());
        env
    }

    /// Number of functions defined (not imported) by the module.
    pub fn num_defined_funcs(&self) -> usize {
        self.funcs.len() - self.num_imported_funcs as usize
    }

    /// Signature of function `index`.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    /// The fields of struct type `ty` (validated to be one).
    pub fn struct_fields(&self, ty: u32) -> &[FieldType] {
        match &self.subtypes[ty as usize].composite {
            Composite::Struct(fields) => fields,
            _ => &[],
        }
    }

    /// The element type of array type `ty` (validated to be one).
    pub fn array_elem(&self, ty: u32) -> FieldType {
        match &self.subtypes[ty as usize].composite {
            Composite::Array(t) => *t,
            _ => FieldType {
                storage: StorageType::I8,
                mutable: false,
            },
        }
    }

    /// What is known at compile time of table `index`'s contents (`None`: anything can be in it).
    pub fn static_table(&self, index: u32) -> Option<&StaticTable> {
        self.static_tables.get(index as usize)?.as_ref()
    }
}

/// Everything the module pass produces.
pub struct ParsedModule<'a> {
    pub meta: ModuleMeta,
    pub env: ModuleEnv,
    pub bodies: Vec<FuncInput<'a>>,
    /// The module's own DWARF, if it has any.
    pub dwarf: crate::dwarf::WasmDwarf<'a>,
    /// All data segments' bytes, back to back.
    pub data: Vec<u8>,
}

/// What kind of type each type index defines: a concrete reference type carries it
/// (`HeapType::Concrete` is a function type, `ConcreteStruct`, `ConcreteArray`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeKind {
    Func,
    Struct,
    Array,
}

/// Converts a value type; `kinds` are the kinds of the module's type indices.
pub fn val_type(
    ty: wasmparser::ValType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<ValType, CompileError> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r, kinds, offset)?.into(),
    })
}

/// Converts a reference type, with concrete types as module type indices.
pub fn ref_type(
    ty: wasmparser::RefType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<RefType, CompileError> {
    use wasmparser::{AbstractHeapType as A, HeapType as H, UnpackedIndex};
    let unsupported = |what: &str| {
        Err(CompileError::unsupported(
            format!("reference type {ty} is not supported{what}"),
            offset,
        ))
    };
    let heap = match ty.heap_type() {
        H::Abstract { shared: true, .. } | H::Exact(_) => {
            return unsupported(" (shared-everything threads and custom descriptors proposals)")
        }
        H::Abstract { ty: a, .. } => match a {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Cont | A::NoCont => return unsupported(" (stack switching proposal)"),
        },
        H::Concrete(UnpackedIndex::Module(i)) => match kinds.get(i as usize) {
            Some(TypeKind::Struct) => HeapType::ConcreteStruct(i),
            Some(TypeKind::Array) => HeapType::ConcreteArray(i),
            _ => HeapType::Concrete(i),
        },
        // The reader gives module indices; other forms come from a validator's own types.
        H::Concrete(_) => return unsupported(" (a type index not in module form)"),
    };
    Ok(RefType {
        nullable: ty.is_nullable(),
        heap,
    })
}

fn func_type(
    ty: &wasmparser::FuncType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<FuncType, CompileError> {
    Ok(FuncType {
        params: ty
            .params()
            .iter()
            .map(|t| val_type(*t, kinds, offset))
            .collect::<Result<_, _>>()?,
        results: ty
            .results()
            .iter()
            .map(|t| val_type(*t, kinds, offset))
            .collect::<Result<_, _>>()?,
    })
}

fn field_type(
    ty: &wasmparser::FieldType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<FieldType, CompileError> {
    Ok(FieldType {
        storage: match ty.element_type {
            wasmparser::StorageType::I8 => StorageType::I8,
            wasmparser::StorageType::I16 => StorageType::I16,
            wasmparser::StorageType::Val(v) => StorageType::Val(val_type(v, kinds, offset)?),
        },
        mutable: ty.mutable,
    })
}

/// Converts one recursion group's types, appending to `meta.types` (signatures),
/// `subtypes` and `kinds` (the group's kinds first: its types may refer to later members).
fn rec_group(
    group: wasmparser::RecGroup,
    offset: u64,
    meta: &mut ModuleMeta,
    subtypes: &mut Vec<SubTypeDecl>,
    kinds: &mut Vec<TypeKind>,
) -> Result<(), CompileError> {
    use wasmparser::CompositeInnerType as C;
    let subs: Vec<wasmparser::SubType> = group.into_types().collect();
    for sub in &subs {
        let c = &sub.composite_type;
        if c.shared || c.descriptor_idx.is_some() || c.describes_idx.is_some() {
            return Err(CompileError::unsupported(
                "shared types and custom descriptors (post-3.0 proposals) are not supported",
                offset,
            ));
        }
        kinds.push(match c.inner {
            C::Func(_) => TypeKind::Func,
            C::Struct(_) => TypeKind::Struct,
            C::Array(_) => TypeKind::Array,
            C::Cont(_) => {
                return Err(CompileError::unsupported(
                    "continuation types (stack switching proposal) are not supported",
                    offset,
                ))
            }
        });
    }
    for sub in &subs {
        let (signature, composite) = match &sub.composite_type.inner {
            C::Func(f) => (func_type(f, kinds, offset)?, Composite::Func),
            C::Struct(st) => (
                FuncType::default(),
                Composite::Struct(
                    st.fields
                        .iter()
                        .map(|f| field_type(f, kinds, offset))
                        .collect::<Result<_, _>>()?,
                ),
            ),
            C::Array(a) => (
                FuncType::default(),
                Composite::Array(field_type(&a.0, kinds, offset)?),
            ),
            C::Cont(_) => unreachable!("refused above"),
        };
        meta.types.push(signature);
        subtypes.push(SubTypeDecl {
            is_final: sub.is_final,
            supertype: sub.supertype_idxs.first().and_then(|i| i.as_module_index()),
            composite,
        });
    }
    Ok(())
}

fn table_type(
    ty: &wasmparser::TableType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<TableType, CompileError> {
    if ty.shared {
        return Err(CompileError::unsupported(
            "shared tables (shared-everything threads proposal) are not supported",
            offset,
        ));
    }
    Ok(TableType {
        elem: ref_type(ty.element_type, kinds, offset)?,
        min: ty.initial,
        max: ty.maximum,
        table64: ty.table64,
    })
}

fn memory_type(ty: &wasmparser::MemoryType, offset: u64) -> Result<MemoryType, CompileError> {
    // Accesses to 32-bit memories are unchecked (guard pages), those to 64-bit memories checked
    // explicitly (see translate/memory.rs). Shared memories (threads proposal) are the same,
    // and the runtime shares them between threads (runtime/src/memory.rs).
    if ty.page_size_log2.is_some() {
        return Err(CompileError::unsupported(
            "custom-page-size memories are not supported yet",
            offset,
        ));
    }
    Ok(MemoryType {
        min: ty.initial,
        max: ty.maximum,
        memory64: ty.memory64,
        shared: ty.shared,
    })
}

fn global_type(
    ty: &wasmparser::GlobalType,
    kinds: &[TypeKind],
    offset: u64,
) -> Result<GlobalType, CompileError> {
    if ty.shared {
        return Err(CompileError::unsupported(
            "shared globals are not supported yet",
            offset,
        ));
    }
    Ok(GlobalType {
        ty: val_type(ty.content_type, kinds, offset)?,
        mutable: ty.mutable,
    })
}

/// Converts a (validated) constant expression to the metadata's form.
fn const_expr(
    expr: &wasmparser::ConstExpr<'_>,
    kinds: &[TypeKind],
) -> Result<ConstExpr, CompileError> {
    use wasmparser::Operator as O;
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let offset = reader.original_position();
        let op = match reader.read()? {
            O::End => break,
            O::I32Const { value } => ConstOp::I32Const(value),
            O::I64Const { value } => ConstOp::I64Const(value),
            O::F32Const { value } => ConstOp::F32Const(value.bits()),
            O::F64Const { value } => ConstOp::F64Const(value.bits()),
            O::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
            O::RefNull { hty } => {
                let rt = wasmparser::RefType::new(true, hty)
                    .ok_or_else(|| CompileError::unsupported("unsupported heap type", offset))?;
                ConstOp::RefNull(ref_type(rt, kinds, offset)?)
            }
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::RefI31 => ConstOp::RefI31,
            O::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            O::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(struct_type_index)
            }
            O::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            O::ArrayNewDefault { array_type_index } => ConstOp::ArrayNewDefault(array_type_index),
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(array_type_index, array_size),
            O::AnyConvertExtern => ConstOp::AnyConvertExtern,
            O::ExternConvertAny => ConstOp::ExternConvertAny,
            other => {
                return Err(CompileError::unsupported(
                    format!("constant expression operator {other:?}"),
                    offset,
                ));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr(ops))
}

fn extern_kind(kind: wasmparser::ExternalKind) -> ExternKind {
    match kind {
        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => ExternKind::Func,
        wasmparser::ExternalKind::Table => ExternKind::Table,
        wasmparser::ExternalKind::Memory => ExternKind::Memory,
        wasmparser::ExternalKind::Global => ExternKind::Global,
        wasmparser::ExternalKind::Tag => ExternKind::Tag,
    }
}

/// Reads the name section. A malformed name section is ignored as a whole, as engines do: names
/// are debugging aids and must never make a valid module fail.
fn read_names(reader: wasmparser::NameSectionReader<'_>, meta: &mut ModuleMeta) {
    let mut module_name = None;
    let mut func_names = wasic_abi::meta::NameMap::default();
    let result: Result<(), wasmparser::BinaryReaderError> = (|| {
        for name in reader {
            match name? {
                wasmparser::Name::Module { name, .. } => module_name = Some(name.to_string()),
                wasmparser::Name::Function(map) => {
                    for naming in map {
                        let naming = naming?;
                        func_names.push(naming.index, naming.name);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })();
    if result.is_ok() {
        meta.name = module_name;
        meta.func_names = func_names;
    }
}

/// Applies the 2.0 limits encoding rule to a memory or table import starting at `pos`.
fn strict_import_limits(wasm: &[u8], pos: usize) -> Result<(), CompileError> {
    let Some(pos) =
        crate::strict::skip_name(wasm, pos).and_then(|p| crate::strict::skip_name(wasm, p))
    else {
        return Ok(());
    };
    match wasm.get(pos) {
        Some(0x01) => crate::strict::check_limits(wasm, pos + 2, 0),
        Some(0x02) => crate::strict::check_limits(wasm, pos + 1, 0),
        _ => Ok(()),
    }
}

/// Parses and validates `wasm` (except function bodies), producing the metadata and bodies.
pub fn parse(
    wasm: &[u8],
    features: wasmparser::WasmFeatures,
) -> Result<ParsedModule<'_>, CompileError> {
    let mut validator = Validator::new_with_features(features);
    let mut meta = ModuleMeta::default();
    let mut bodies = Vec::new();
    let mut data = Vec::new();
    let mut dwarf = crate::dwarf::WasmDwarf::default();
    let mut canonical_types = Vec::new();
    let mut group_sizes = Vec::new();
    let mut subtypes = Vec::new();
    let mut kinds = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(validator, body) => bodies.push(FuncInput { validator, body }),
            ValidPayload::End(types) => {
                canonical_types =
                    canonical_type_indices(&subtypes, &group_sizes, &meta.types, types.as_ref())
            }
            ValidPayload::Ok => {}
            ValidPayload::Parser(_) => {
                return Err(CompileError::unsupported(
                    "nested modules and components",
                    0,
                ));
            }
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    // An empty group (`(rec)`) holds no type: nothing to record.
                    if group.types().len() > 0 {
                        group_sizes.push(group.types().len() as u32);
                    }
                    rec_group(group, offset, &mut meta, &mut subtypes, &mut kinds)?;
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    strict_import_limits(wasm, offset as usize)?;
                    let kind = match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            meta.funcs.push(t);
                            meta.num_imported_funcs += 1;
                            ImportKind::Func(t)
                        }
                        wasmparser::TypeRef::Table(t) => {
                            meta.num_imported_tables += 1;
                            ImportKind::Table(table_type(&t, &kinds, offset)?)
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            meta.num_imported_memories += 1;
                            ImportKind::Memory(memory_type(&m, offset)?)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            meta.num_imported_globals += 1;
                            ImportKind::Global(global_type(&g, &kinds, offset)?)
                        }
                        wasmparser::TypeRef::Tag(t) => {
                            meta.num_imported_tags += 1;
                            ImportKind::Tag(t.func_type_idx)
                        }
                    };
                    meta.imports.push(Import {
                        module: import.module.into(),
                        name: import.name.into(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    meta.funcs.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.into_iter_with_offsets() {
                    let (offset, table) = table?;
                    let mut pos = offset as usize;
                    if wasm.get(pos) == Some(&0x40) {
                        pos += 2;
                    }
                    crate::strict::check_limits(wasm, pos + 1, 0)?;
                    let init = match &table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(const_expr(e, &kinds)?),
                    };
                    meta.tables.push(TableDecl {
                        ty: table_type(&table.ty, &kinds, offset)?,
                        init,
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter_with_offsets() {
                    let (offset, memory) = memory?;
                    crate::strict::check_limits(wasm, offset as usize, 0)?;
                    meta.memories.push(memory_type(&memory, offset)?);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    meta.tags.push(tag?.func_type_idx);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader.into_iter_with_offsets() {
                    let (offset, global) = global?;
                    let ty = global_type(&global.ty, &kinds, offset)?;
                    meta.globals.push(GlobalDecl {
                        ty,
                        init: const_expr(&global.init_expr, &kinds)?,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    meta.exports.push(Export {
                        name: export.name.into(),
                        kind: extern_kind(export.kind),
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => meta.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader.into_iter_with_offsets() {
                    let (offset, elem) = elem?;
                    let kind = match &elem.kind {
                        wasmparser::ElementKind::Passive => ElemKind::Passive,
                        wasmparser::ElementKind::Declared => ElemKind::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemKind::Active {
                            table: table_index.unwrap_or(0),
                            offset: const_expr(offset_expr, &kinds)?,
                        },
                    };
                    let (ty, items) = match elem.items {
                        wasmparser::ElementItems::Functions(funcs) => {
                            let items = funcs
                                .into_iter()
                                .map(|f| Ok(ConstExpr(vec![ConstOp::RefFunc(f?)])))
                                .collect::<Result<Vec<_>, CompileError>>()?;
                            (RefType::FUNCREF, items)
                        }
                        wasmparser::ElementItems::Expressions(ty, exprs) => {
                            let items = exprs
                                .into_iter()
                                .map(|e| const_expr(&e?, &kinds))
                                .collect::<Result<Vec<_>, CompileError>>()?;
                            (ref_type(ty, &kinds, offset)?, items)
                        }
                    };
                    meta.elements.push(ElemSegment { kind, ty, items });
                }
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    let segment = segment?;
                    let kind = match &segment.kind {
                        wasmparser::DataKind::Passive => DataKind::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataKind::Active {
                            memory: *memory_index,
                            offset: const_expr(offset_expr, &kinds)?,
                        },
                    };
                    // A large segment at a constant offset goes where its pages can be
                    // mapped from the file (`DATA_MAP_MIN`).
                    if let DataKind::Active { offset, .. } = &kind {
                        let target = match offset.0.as_slice() {
                            [ConstOp::I32Const(v)] => Some(*v as u32 as u64),
                            [ConstOp::I64Const(v)] => Some(*v as u64),
                            _ => None,
                        };
                        if let Some(target) = target {
                            if segment.data.len() as u64 >= wasic_abi::meta::DATA_MAP_MIN {
                                let page = wasic_abi::meta::DATA_PAGE;
                                let pad = (target % page + page - data.len() as u64 % page) % page;
                                data.resize(data.len() + pad as usize, 0);
                            }
                        }
                    }
                    meta.data.push(DataSegment {
                        kind,
                        offset: data.len() as u64,
                        len: segment.data.len() as u64,
                    });
                    data.extend_from_slice(segment.data);
                }
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                    read_names(names, &mut meta);
                } else {
                    dwarf.add_section(reader.name(), reader.data());
                }
            }
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => dwarf.code_start = unchecked_range.start,
            _ => {}
        }
    }

    if group_sizes.iter().any(|&n| n > 1) {
        meta.rec_groups = group_sizes;
    }
    if subtypes.iter().any(|s| *s != SubTypeDecl::PLAIN_FUNC) {
        meta.subtypes = subtypes;
    }
    let env = ModuleEnv::new(&meta, kinds, canonical_types);
    Ok(ParsedModule {
        meta,
        env,
        bodies,
        data,
        dwarf,
    })
}

// Static tables: which tables nothing can change after instantiation, and their contents.

/// The most slots a static table's contents may span (up to its last non-null slot): the object
/// holds an 8-byte record per slot, so a larger table is left to the generic path.
pub const MAX_STATIC_TABLE_SLOTS: u64 = 1 << 20;

/// A table nothing can change after instantiation: defined (not imported), not exported, of
/// `funcref`, and no function body names it in `table.set`, `table.grow`, `table.fill`,
/// `table.init` or as the destination of `table.copy`. Its contents whenever code runs are then
/// those its initializer and active element segments give it, known at compile time.
#[derive(Debug)]
pub struct StaticTable {
    /// Position among the module's static tables: the `DataId` of its slot records in the
    /// object (see object.rs).
    pub data_id: u32,
    /// The table's length, for ever its minimum since it never grows.
    pub len: u64,
    /// Contents of the first slots; the slots from `slots.len()` to `len` are null.
    pub slots: Vec<Slot>,
    /// Canonical types of the defined functions in `slots`, sorted, without duplicates.
    defined_types: Vec<u32>,
}

/// What a slot of a static table holds whenever code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Null,
    /// Function `func` (imported or defined), of canonical type `ty`.
    Func {
        func: u32,
        ty: u32,
    },
    /// Whatever the imports make it (`global.get` of an imported global).
    Dynamic,
}

impl StaticTable {
    /// Slot `i`, `None` when `i` is out of bounds.
    pub fn slot(&self, i: u64) -> Option<Slot> {
        if i >= self.len {
            return None;
        }
        Some(
            usize::try_from(i)
                .ok()
                .and_then(|i| self.slots.get(i))
                .copied()
                .unwrap_or(Slot::Null),
        )
    }

    /// Whether some slot holds a defined function of canonical type `ty`.
    pub fn has_defined(&self, ty: u32) -> bool {
        self.defined_types.binary_search(&ty).is_ok()
    }
}

/// [`ModuleEnv::canonical_types`]. A type of its own recursion group without references to
/// other types is the same as any other such type with the same parameters and results; any
/// other type (one that refers to types, or a member of a group of several, whose identity
/// includes the group's) is identified by wasmparser's canonical id, which it assigns by
/// structure with the GC feature, the only set that allows either. `group_sizes` are the
/// sizes of the module's recursion groups with types, in order.
fn canonical_type_indices(
    subtypes: &[SubTypeDecl],
    group_sizes: &[u32],
    types: &[FuncType],
    valid: wasmparser::types::TypesRef<'_>,
) -> Vec<u32> {
    #[derive(PartialEq, Eq, Hash)]
    enum Key<'a> {
        Plain(&'a FuncType),
        Canonical(wasmparser::types::CoreTypeId),
    }
    let alone = group_sizes
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n == 1, n as usize));
    let mut first = std::collections::HashMap::new();
    types
        .iter()
        .zip(alone)
        .zip(subtypes)
        .enumerate()
        .map(|(i, ((t, alone), sub))| {
            let key = if alone && !t.refers_to_types() && *sub == SubTypeDecl::PLAIN_FUNC {
                Key::Plain(t)
            } else {
                Key::Canonical(valid.core_type_at_in_module(i as u32))
            };
            *first.entry(key).or_insert(i as u32)
        })
        .collect()
}

impl ModuleEnv {
    /// Fills [`ModuleEnv::static_tables`] when the `static_tables` optimization is on. Reads
    /// every function body once, looking for operators that change tables.
    pub fn find_static_tables(&mut self, meta: &ModuleMeta, bodies: &[FuncInput<'_>]) {
        if self.optimizations.static_tables {
            self.static_tables = static_tables(meta, &self.canonical_types, bodies);
        }
    }

    /// Fills [`ModuleEnv::libc_functions`] when the `libc_idioms` optimization is on and memory
    /// 0 is a 32-bit memory (the recognised functions' accesses are to memory 0).
    pub fn find_libc_functions(&mut self, bodies: &[FuncInput<'_>]) {
        if self.optimizations.libc_idioms && self.memories.first().is_some_and(|m| !m.memory64) {
            self.libc_functions =
                crate::idioms::recognise(&self.types, &self.funcs, self.num_imported_funcs, bodies);
        }
    }

    /// The C library function defined function `func_index` is recognised as, if any.
    pub fn libc_function(&self, func_index: u32) -> Option<crate::idioms::LibcFunction> {
        let defined = func_index.checked_sub(self.num_imported_funcs)?;
        self.libc_functions.get(defined as usize).copied().flatten()
    }
}

/// A constant expression's value, as far as compile time knows it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Known {
    I32(i32),
    I64(i64),
    Null,
    Func(u32),
    /// Depends on the imports, or of no interest here (floats, vectors).
    Unknown,
}

/// Evaluates `expr` as instantiation does, with `globals` the known values of the globals.
fn eval_known(expr: &ConstExpr, globals: &[Known]) -> Known {
    let mut stack = Vec::with_capacity(2);
    for op in &expr.0 {
        let v = match *op {
            ConstOp::I32Const(v) => Known::I32(v),
            ConstOp::I64Const(v) => Known::I64(v),
            ConstOp::RefNull(_) => Known::Null,
            ConstOp::RefFunc(f) => Known::Func(f),
            ConstOp::GlobalGet(g) => globals.get(g as usize).copied().unwrap_or(Known::Unknown),
            ConstOp::F32Const(_) | ConstOp::F64Const(_) | ConstOp::V128Const(_) => Known::Unknown,
            // GC values: only stack depth matters here (the tables these initialise are not
            // function tables, so never static).
            ConstOp::RefI31 | ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => {
                stack.pop();
                Known::Unknown
            }
            ConstOp::StructNew(_)
            | ConstOp::StructNewDefault(_)
            | ConstOp::ArrayNew(_)
            | ConstOp::ArrayNewDefault(_)
            | ConstOp::ArrayNewFixed(..) => return Known::Unknown,
            ConstOp::I32Add
            | ConstOp::I32Sub
            | ConstOp::I32Mul
            | ConstOp::I64Add
            | ConstOp::I64Sub
            | ConstOp::I64Mul => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return Known::Unknown;
                };
                match (op, a, b) {
                    (ConstOp::I32Add, Known::I32(a), Known::I32(b)) => {
                        Known::I32(a.wrapping_add(b))
                    }
                    (ConstOp::I32Sub, Known::I32(a), Known::I32(b)) => {
                        Known::I32(a.wrapping_sub(b))
                    }
                    (ConstOp::I32Mul, Known::I32(a), Known::I32(b)) => {
                        Known::I32(a.wrapping_mul(b))
                    }
                    (ConstOp::I64Add, Known::I64(a), Known::I64(b)) => {
                        Known::I64(a.wrapping_add(b))
                    }
                    (ConstOp::I64Sub, Known::I64(a), Known::I64(b)) => {
                        Known::I64(a.wrapping_sub(b))
                    }
                    (ConstOp::I64Mul, Known::I64(a), Known::I64(b)) => {
                        Known::I64(a.wrapping_mul(b))
                    }
                    _ => Known::Unknown,
                }
            }
        };
        stack.push(v);
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(v), true) => v,
        _ => Known::Unknown,
    }
}

/// Clears `candidate[t]` for every table `t` that `body` may change; returns how many
/// candidates it cleared.
fn clear_changed_tables(
    body: &FunctionBody<'_>,
    candidate: &mut [bool],
) -> wasmparser::Result<usize> {
    use wasmparser::Operator as O;
    let mut cleared = 0;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let table = match reader.read()? {
            O::TableSet { table }
            | O::TableGrow { table }
            | O::TableFill { table }
            | O::TableInit { table, .. } => table,
            O::TableCopy { dst_table, .. } => dst_table,
            _ => continue,
        };
        if let Some(c) = candidate.get_mut(table as usize).filter(|c| **c) {
            *c = false;
            cleared += 1;
        }
    }
    Ok(cleared)
}

/// Finds the static tables of the module (see [`StaticTable`]) and their contents.
///
/// Instantiation applies the active element segments in order and stops at the first one out
/// of bounds; functions an earlier segment stored in an imported table stay callable then. So a
/// table's contents are only known when no segment before one that writes it may fail; a
/// segment that always fails ends the simulation (the later ones never apply).
fn static_tables(
    meta: &ModuleMeta,
    canonical: &[u32],
    bodies: &[FuncInput<'_>],
) -> Vec<Option<StaticTable>> {
    let num_tables = meta.num_tables() as usize;
    let num_imported = meta.num_imported_tables as usize;
    let none = || (0..num_tables).map(|_| None).collect();
    let mut candidate = vec![false; num_tables];
    for (j, t) in meta.tables.iter().enumerate() {
        // 64-bit tables take i64 indices, which the static call sequence does not.
        candidate[num_imported + j] = t.ty.elem.heap.top() == HeapType::Func && !t.ty.table64;
    }
    for e in &meta.exports {
        if e.kind == ExternKind::Table {
            if let Some(c) = candidate.get_mut(e.index as usize) {
                *c = false;
            }
        }
    }
    let mut remaining = candidate.iter().filter(|c| **c).count();
    for body in bodies {
        if remaining == 0 {
            return none();
        }
        match clear_changed_tables(&body.body, &mut candidate) {
            Ok(n) => remaining -= n,
            // The body is malformed: validation rejects the module later.
            Err(_) => return none(),
        }
    }
    if remaining == 0 {
        return none();
    }

    let mut globals: Vec<Known> = vec![Known::Unknown; meta.num_imported_globals as usize];
    for g in &meta.globals {
        let v = eval_known(&g.init, &globals);
        globals.push(v);
    }
    let slot_of = |k: Known| match k {
        Known::Null => Slot::Null,
        Known::Func(func) => meta
            .funcs
            .get(func as usize)
            .and_then(|&t| canonical.get(t as usize))
            .map_or(Slot::Dynamic, |&ty| Slot::Func { func, ty }),
        _ => Slot::Dynamic,
    };
    let declared_min = |t: usize| -> u64 {
        if t < num_imported {
            meta.imports
                .iter()
                .filter_map(|i| match &i.kind {
                    ImportKind::Table(ty) => Some(ty.min),
                    _ => None,
                })
                .nth(t)
                .unwrap_or(0)
        } else {
            meta.tables.get(t - num_imported).map_or(0, |d| d.ty.min)
        }
    };

    // Contents of each candidate as far as the segments applied so far go.
    let mut contents: Vec<Vec<Slot>> = vec![Vec::new(); num_tables];
    for (j, decl) in meta.tables.iter().enumerate() {
        let t = num_imported + j;
        if !candidate[t] {
            continue;
        }
        let init = decl
            .init
            .as_ref()
            .map_or(Slot::Null, |e| slot_of(eval_known(e, &globals)));
        if init != Slot::Null {
            if decl.ty.min > MAX_STATIC_TABLE_SLOTS {
                candidate[t] = false;
            } else {
                contents[t] = vec![init; decl.ty.min as usize];
            }
        }
    }
    let mut may_have_failed = false;
    for seg in &meta.elements {
        let ElemKind::Active { table, offset } = &seg.kind else {
            continue;
        };
        let t = *table as usize;
        if t >= num_tables {
            return none();
        }
        let start = match eval_known(offset, &globals) {
            Known::I32(v) => Some(u64::from(v as u32)),
            _ => None,
        };
        let end = start.map(|s| s + seg.items.len() as u64);
        let fits = end.is_some_and(|e| e <= declared_min(t));
        if end.is_some() && !fits && t >= num_imported {
            // A defined table has exactly its minimum length here: this segment always fails.
            break;
        }
        if candidate[t] {
            match (start, end) {
                (Some(start), Some(end)) if fits && !may_have_failed => {
                    if end > MAX_STATIC_TABLE_SLOTS {
                        candidate[t] = false;
                    } else {
                        let c = &mut contents[t];
                        if (c.len() as u64) < end {
                            c.resize(end as usize, Slot::Null);
                        }
                        for (k, item) in seg.items.iter().enumerate() {
                            c[start as usize + k] = slot_of(eval_known(item, &globals));
                        }
                    }
                }
                _ => candidate[t] = false,
            }
        }
        if !fits {
            may_have_failed = true;
        }
    }

    let mut next_id = 0;
    let mut out: Vec<Option<StaticTable>> = none();
    for (t, slots) in contents.into_iter().enumerate() {
        if !candidate[t] {
            continue;
        }
        let mut slots = slots;
        while slots.last() == Some(&Slot::Null) {
            slots.pop();
        }
        let mut defined_types: Vec<u32> = slots
            .iter()
            .filter_map(|s| match *s {
                Slot::Func { func, ty } if func >= meta.num_imported_funcs => Some(ty),
                _ => None,
            })
            .collect();
        defined_types.sort_unstable();
        defined_types.dedup();
        out[t] = Some(StaticTable {
            data_id: next_id,
            len: declared_min(t),
            slots,
            defined_types,
        });
        next_id += 1;
    }
    out
}
