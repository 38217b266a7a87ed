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
use wasic_abi::types::{FuncType, GlobalType, MemoryType, RefType, TableType, ValType};
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
    pub types: Vec<FuncType>,
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
}

impl ModuleEnv {
    fn new(meta: &ModuleMeta) -> Self {
        let mut env = ModuleEnv {
            types: meta.types.clone(),
            funcs: meta.funcs.clone(),
            num_imported_funcs: meta.num_imported_funcs,
            globals: Vec::new(),
            const_globals: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            tags: meta.tag_types().collect(),
            offsets: meta.offsets(),
            optimizations: Default::default(),
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
}

/// Everything the module pass produces.
pub struct ParsedModule<'a> {
    pub meta: ModuleMeta,
    pub env: ModuleEnv,
    pub bodies: Vec<FuncInput<'a>>,
    /// All data segments' bytes, back to back.
    pub data: Vec<u8>,
}

/// Converts a value type.
pub fn val_type(ty: wasmparser::ValType, offset: u64) -> Result<ValType, CompileError> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r, offset)?.into(),
    })
}

/// Converts a reference type: the WebAssembly 2.0 `funcref` and `externref`, and `exnref`.
pub fn ref_type(ty: wasmparser::RefType, offset: u64) -> Result<RefType, CompileError> {
    use wasmparser::{AbstractHeapType, HeapType};
    match ty.heap_type() {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        } if ty.is_nullable() => Ok(RefType::FuncRef),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern,
        } if ty.is_nullable() => Ok(RefType::ExternRef),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Exn,
        } if ty.is_nullable() => Ok(RefType::ExnRef),
        _ => Err(CompileError::unsupported(
            format!("reference type {ty} is not supported"),
            offset,
        )),
    }
}

fn func_type(ty: &wasmparser::FuncType, offset: u64) -> Result<FuncType, CompileError> {
    Ok(FuncType {
        params: ty
            .params()
            .iter()
            .map(|t| val_type(*t, offset))
            .collect::<Result<_, _>>()?,
        results: ty
            .results()
            .iter()
            .map(|t| val_type(*t, offset))
            .collect::<Result<_, _>>()?,
    })
}

fn table_type(ty: &wasmparser::TableType, offset: u64) -> Result<TableType, CompileError> {
    if ty.table64 || ty.shared {
        return Err(CompileError::unsupported(
            "64-bit tables (memory64 proposal) and shared tables are not supported yet",
            offset,
        ));
    }
    Ok(TableType {
        elem: ref_type(ty.element_type, offset)?,
        min: ty.initial,
        max: ty.maximum,
        table64: ty.table64,
    })
}

fn memory_type(ty: &wasmparser::MemoryType, offset: u64) -> Result<MemoryType, CompileError> {
    // Accesses to 32-bit memories are unchecked (guard pages), those to 64-bit memories checked
    // explicitly (see translate/memory.rs). Shared memories belong to the threads proposal.
    if ty.shared || ty.page_size_log2.is_some() {
        return Err(CompileError::unsupported(
            "shared (threads) or custom-page-size memories are not supported yet",
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

fn global_type(ty: &wasmparser::GlobalType, offset: u64) -> Result<GlobalType, CompileError> {
    if ty.shared {
        return Err(CompileError::unsupported(
            "shared globals are not supported yet",
            offset,
        ));
    }
    Ok(GlobalType {
        ty: val_type(ty.content_type, offset)?,
        mutable: ty.mutable,
    })
}

/// Converts a (validated) constant expression to the metadata's form.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, CompileError> {
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
                ConstOp::RefNull(ref_type(rt, offset)?)
            }
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
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

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(validator, body) => bodies.push(FuncInput { validator, body }),
            ValidPayload::Ok | ValidPayload::End(_) => {}
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
                    for sub in group.into_types() {
                        match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                meta.types.push(func_type(f, offset)?)
                            }
                            _ => {
                                return Err(CompileError::unsupported(
                                    "GC types are not supported",
                                    offset,
                                ))
                            }
                        }
                    }
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
                            ImportKind::Table(table_type(&t, offset)?)
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            meta.num_imported_memories += 1;
                            ImportKind::Memory(memory_type(&m, offset)?)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            meta.num_imported_globals += 1;
                            ImportKind::Global(global_type(&g, offset)?)
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
                        wasmparser::TableInit::Expr(e) => Some(const_expr(e)?),
                    };
                    meta.tables.push(TableDecl {
                        ty: table_type(&table.ty, offset)?,
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
                    let ty = global_type(&global.ty, offset)?;
                    meta.globals.push(GlobalDecl {
                        ty,
                        init: const_expr(&global.init_expr)?,
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
                            offset: const_expr(offset_expr)?,
                        },
                    };
                    let (ty, items) = match elem.items {
                        wasmparser::ElementItems::Functions(funcs) => {
                            let items = funcs
                                .into_iter()
                                .map(|f| Ok(ConstExpr(vec![ConstOp::RefFunc(f?)])))
                                .collect::<Result<Vec<_>, CompileError>>()?;
                            (RefType::FuncRef, items)
                        }
                        wasmparser::ElementItems::Expressions(ty, exprs) => {
                            let items = exprs
                                .into_iter()
                                .map(|e| const_expr(&e?))
                                .collect::<Result<Vec<_>, CompileError>>()?;
                            (ref_type(ty, offset)?, items)
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
                            offset: const_expr(offset_expr)?,
                        },
                    };
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
                }
            }
            _ => {}
        }
    }

    let env = ModuleEnv::new(&meta);
    Ok(ParsedModule {
        meta,
        env,
        bodies,
        data,
    })
}
