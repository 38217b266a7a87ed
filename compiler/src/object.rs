//! Emission of the relocatable ELF object: compiled code, the metadata, the data-segment blob,
//! the function/trampoline/adapter address arrays and the exported `wasic_module` descriptor
//! (layout drawn in abi/src/meta.rs).
//!
//! Symbol layout: defined functions are declared first so that defined function `i` has
//! `FuncId(i)` (translation relies on it), then the array trampolines and host adapters of every
//! type index. Likewise the slot records of the static tables are the first data objects, so
//! that static table `k` has `DataId(k)`. Only `wasic_module` is exported; the object
//! references no external symbol.
//!
//! Static table records (the `static_tables` optimization, see translate/calls.rs): for a
//! table whose contents are known at compile time, `wasic_static_table_{index}` holds one 8-byte
//! record per slot up to its last non-null one, plus one sentinel record:
//! `{ code: i32, type: u32 }`, where `type` is the canonical type index of the defined function
//! in the slot (`u32::MAX` for a null, imported or import-dependent slot, and the sentinel) and
//! `code` is that function's address minus the record array's, written by an `R_X86_64_PC32`
//! relocation in read-only data: linked or loaded, the records need no run-time relocation.

use crate::error::CompileError;
use crate::module::{Slot, StaticTable};
use crate::trampolines::array_trampoline_signature;
use crate::translate::wasm_signature;
use crate::CompiledFunc;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module, ModuleError};
use cranelift_object::object::write::{Relocation, SymbolSection};
use cranelift_object::object::{RelocationEncoding, RelocationFlags, RelocationKind};
use cranelift_object::{ObjectBuilder, ObjectModule, ObjectProduct};
use std::mem::{offset_of, size_of};
use wasic_abi::meta::{ModuleDescriptor, ModuleMeta, DESCRIPTOR_MAGIC};
use wasic_abi::{ABI_VERSION, MODULE_DESCRIPTOR_SYMBOL};

fn object_error(e: impl std::fmt::Display) -> CompileError {
    CompileError::Object(e.to_string())
}

impl From<ModuleError> for CompileError {
    fn from(e: ModuleError) -> Self {
        object_error(e)
    }
}

/// The `FuncId`s every function of the object will get, computable before the object exists.
#[derive(Clone, Copy, Debug)]
pub struct FuncLayout {
    pub num_defined: u32,
    pub num_types: u32,
}

impl FuncLayout {
    pub fn defined(&self, i: u32) -> u32 {
        i
    }
    pub fn array_trampoline(&self, ty: u32) -> u32 {
        self.num_defined + ty
    }
    pub fn host_adapter(&self, ty: u32) -> u32 {
        self.num_defined + self.num_types + ty
    }
}

/// Functions compiled for the object, in `FuncId` order.
pub struct ObjectInput<'a> {
    /// The symbol of each defined function (`names::function_symbols`).
    pub symbols: &'a [String],
    /// The module's line table, when its DWARF is translated (`dwarf.rs`).
    pub lines: Option<&'a crate::dwarf::LineTable>,
    pub meta: &'a ModuleMeta,
    pub data: &'a [u8],
    pub layout: FuncLayout,
    pub funcs: Vec<CompiledFunc>,
    /// Per table, its contents if static (`ModuleEnv::static_tables`).
    pub static_tables: &'a [Option<StaticTable>],
}

/// Tag of a static table record that never matches a call's type.
pub const NO_DEFINED_FUNC: u32 = u32::MAX;
/// Size of a static table record.
pub const STATIC_RECORD_SIZE: u32 = 8;
/// Offset of the code offset (`i32`) in a static table record.
pub const STATIC_RECORD_CODE: u32 = 0;
/// Offset of the canonical type index (`u32`) in a static table record.
pub const STATIC_RECORD_TYPE: u32 = 4;

/// The defined function in each slot of `table` (`None` where the generic path must run),
/// sentinel included.
fn static_records(
    table: &StaticTable,
    num_imported_funcs: u32,
) -> impl Iterator<Item = Option<(u32, u32)>> + '_ {
    table
        .slots
        .iter()
        .map(move |s| match *s {
            Slot::Func { func, ty } if func >= num_imported_funcs => {
                Some((func - num_imported_funcs, ty))
            }
            _ => None,
        })
        .chain(std::iter::once(None))
}

/// Declares the slot records of every static table, as data objects `0..` in table order
/// (their code offsets are written by [`relocate_static_tables`]).
fn declare_static_tables(
    module: &mut ObjectModule,
    tables: &[Option<StaticTable>],
    num_imported_funcs: u32,
) -> Result<(), CompileError> {
    for (index, table) in tables.iter().enumerate() {
        let Some(table) = table else { continue };
        let mut bytes = Vec::with_capacity((table.slots.len() + 1) * STATIC_RECORD_SIZE as usize);
        for record in static_records(table, num_imported_funcs) {
            let tag = record.map_or(NO_DEFINED_FUNC, |(_, ty)| ty);
            bytes.extend_from_slice(&0i32.to_le_bytes());
            bytes.extend_from_slice(&tag.to_le_bytes());
        }
        let id = define_data(
            module,
            &format!("wasic_static_table_{index}"),
            Linkage::Local,
            bytes,
            &[],
            &[],
        )?;
        if id.as_u32() != table.data_id {
            return Err(object_error(format!(
                "static table {index} was declared as {id}"
            )));
        }
    }
    Ok(())
}

/// Writes the code offsets of the static table records: `R_X86_64_PC32` relocations with
/// addend `place - records`, which resolve to `function - records`.
fn relocate_static_tables(
    product: &mut ObjectProduct,
    tables: &[Option<StaticTable>],
    num_imported_funcs: u32,
) -> Result<(), CompileError> {
    for table in tables.iter().flatten() {
        let records = product.data_symbol(DataId::from_u32(table.data_id));
        let symbol = product.object.symbol(records);
        let SymbolSection::Section(section) = symbol.section else {
            return Err(object_error("static table records outside a section"));
        };
        let start = symbol.value;
        for (k, record) in static_records(table, num_imported_funcs).enumerate() {
            let Some((func, _)) = record else { continue };
            let place = u64::from(STATIC_RECORD_SIZE) * k as u64 + u64::from(STATIC_RECORD_CODE);
            let relocation = Relocation {
                offset: start + place,
                symbol: product.function_symbol(FuncId::from_u32(func)),
                addend: place as i64,
                flags: RelocationFlags::Generic {
                    kind: RelocationKind::Relative,
                    encoding: RelocationEncoding::Generic,
                    size: 32,
                },
            };
            product
                .object
                .add_relocation(section, relocation)
                .map_err(object_error)?;
        }
    }
    Ok(())
}

/// Defines a read-only data object holding `bytes`, with 8-byte pointers to `funcs` written at
/// the given offsets. Empty objects get one zero word so every symbol has a distinct address.
fn define_data(
    module: &mut ObjectModule,
    name: &str,
    linkage: Linkage,
    bytes: Vec<u8>,
    funcs: &[(u32, FuncId)],
    datas: &[(u32, DataId)],
) -> Result<DataId, CompileError> {
    define_data_aligned(module, name, linkage, bytes, funcs, datas, 16)
}

fn define_data_aligned(
    module: &mut ObjectModule,
    name: &str,
    linkage: Linkage,
    mut bytes: Vec<u8>,
    funcs: &[(u32, FuncId)],
    datas: &[(u32, DataId)],
    align: u64,
) -> Result<DataId, CompileError> {
    let id = module.declare_data(name, linkage, false, false)?;
    if bytes.is_empty() {
        bytes.resize(8, 0);
    }
    let mut desc = DataDescription::new();
    desc.define(bytes.into_boxed_slice());
    desc.set_align(align);
    for (offset, func) in funcs {
        let f = module.declare_func_in_data(*func, &mut desc);
        desc.write_function_addr(*offset, f);
    }
    for (offset, data) in datas {
        let d = module.declare_data_in_data(*data, &mut desc);
        desc.write_data_addr(*offset, d, 0);
    }
    module.define_data(id, &desc)?;
    Ok(id)
}

/// Builds the object file.
pub fn emit(isa: OwnedTargetIsa, input: ObjectInput<'_>) -> Result<Vec<u8>, CompileError> {
    let ObjectInput {
        symbols,
        lines,
        meta,
        data,
        layout,
        funcs,
        static_tables,
    } = input;
    let builder = ObjectBuilder::new(isa, "wasic", cranelift_module::default_libcall_names())?;
    let mut module = ObjectModule::new(builder);

    // Declarations, in FuncId order (see FuncLayout).
    let mut ids = Vec::with_capacity(funcs.len());
    for i in 0..layout.num_defined {
        let index = meta.num_imported_funcs + i;
        let ty = &meta.types[meta.funcs[index as usize] as usize];
        let symbol = symbols
            .get(i as usize)
            .ok_or_else(|| object_error(format!("no symbol for function {index}")))?;
        ids.push(module.declare_function(symbol, Linkage::Local, &wasm_signature(ty))?);
    }
    for t in 0..layout.num_types {
        let sig = array_trampoline_signature();
        ids.push(module.declare_function(
            &format!("wasic_array_trampoline_{t}"),
            Linkage::Local,
            &sig,
        )?);
    }
    for (t, ty) in meta.types.iter().enumerate() {
        let sig = wasm_signature(ty);
        ids.push(module.declare_function(
            &format!("wasic_host_adapter_{t}"),
            Linkage::Local,
            &sig,
        )?);
    }
    for (i, id) in ids.iter().enumerate() {
        if id.as_u32() != i as u32 {
            return Err(object_error(format!("function {i} was declared as {id}")));
        }
    }

    // Each function's code and relocations are freed once the object holds its copy: for a
    // 69 MB module they are 100 MB that would otherwise stay until the object is written.
    let mut funcs = funcs;
    let mut sizes = Vec::with_capacity(funcs.len());
    for (id, f) in ids.iter().zip(&mut funcs) {
        module.define_function_bytes(*id, f.alignment, &f.bytes, &f.relocs)?;
        sizes.push(f.bytes.len() as u64);
        f.bytes = Vec::new();
        f.relocs = Vec::new();
    }

    // Data objects, the static tables' records first (see the module documentation).
    declare_static_tables(&mut module, static_tables, meta.num_imported_funcs)?;
    let meta_bytes = wasic_abi::meta::encode(meta);
    let meta_len = meta_bytes.len();
    let meta_id = define_data(
        &mut module,
        "wasic_meta",
        Linkage::Local,
        meta_bytes,
        &[],
        &[],
    )?;
    let data_id = define_data_aligned(
        &mut module,
        "wasic_data",
        Linkage::Local,
        data.to_vec(),
        &[],
        &[],
        // Page-aligned, so that large segments can be mapped from the file (`DATA_MAP_MIN`).
        wasic_abi::meta::DATA_PAGE,
    )?;
    let ptr_array = |module: &mut ObjectModule, name: &str, range: std::ops::Range<u32>| {
        let entries: Vec<(u32, FuncId)> = range
            .clone()
            .enumerate()
            .map(|(k, i)| (k as u32 * 8, ids[i as usize]))
            .collect();
        define_data(
            module,
            name,
            Linkage::Local,
            vec![0; range.len() * 8],
            &entries,
            &[],
        )
    };
    let n = layout.num_defined;
    let t = layout.num_types;
    let funcs_id = ptr_array(&mut module, "wasic_funcs", 0..n)?;
    let tramps_id = ptr_array(&mut module, "wasic_array_trampolines", n..n + t)?;
    let adapters_id = ptr_array(&mut module, "wasic_host_adapters", n + t..n + 2 * t)?;

    let mut desc = vec![0u8; size_of::<ModuleDescriptor>()];
    let mut put =
        |offset: usize, value: u64| desc[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
    put(offset_of!(ModuleDescriptor, magic), DESCRIPTOR_MAGIC);
    put(
        offset_of!(ModuleDescriptor, abi_version),
        u64::from(ABI_VERSION),
    );
    put(offset_of!(ModuleDescriptor, meta_len), meta_len as u64);
    put(offset_of!(ModuleDescriptor, data_len), data.len() as u64);
    put(offset_of!(ModuleDescriptor, num_funcs), u64::from(n));
    put(offset_of!(ModuleDescriptor, num_types), u64::from(t));
    let pointers = [
        (offset_of!(ModuleDescriptor, meta) as u32, meta_id),
        (offset_of!(ModuleDescriptor, data) as u32, data_id),
        (offset_of!(ModuleDescriptor, funcs) as u32, funcs_id),
        (
            offset_of!(ModuleDescriptor, array_trampolines) as u32,
            tramps_id,
        ),
        (
            offset_of!(ModuleDescriptor, host_adapters) as u32,
            adapters_id,
        ),
    ];
    define_data(
        &mut module,
        MODULE_DESCRIPTOR_SYMBOL,
        Linkage::Export,
        desc,
        &[],
        &pointers,
    )?;

    let mut product = module.finish();
    relocate_static_tables(&mut product, static_tables, meta.num_imported_funcs)?;
    if let Some(lines) = lines {
        let debug_funcs: Vec<crate::dwarf::DebugFunc<'_>> = (0..layout.num_defined as usize)
            .map(|i| crate::dwarf::DebugFunc {
                symbol: product.function_symbol(ids[i]),
                name: meta
                    .func_names
                    .get(meta.num_imported_funcs + i as u32)
                    .unwrap_or(&symbols[i]),
                size: sizes[i],
                srclocs: &funcs[i].srclocs,
            })
            .collect();
        crate::dwarf::emit(&mut product, lines, &debug_funcs)?;
    }
    product.emit().map_err(object_error)
}
