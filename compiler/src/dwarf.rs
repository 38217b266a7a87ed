//! Native DWARF for modules that carry their own (`clang -g`): the module's line table,
//! whose addresses are offsets in the wasm code section, is rewritten for the machine code,
//! so that `gdb` shows source lines and sets breakpoints by `file:line` and function name,
//! `addr2line` and `perf annotate` map addresses to source, and `bt` names wasm frames.
//!
//! The translator tags every instruction with the code-section offset of the operator it came
//! from (a Cranelift source location); the code generator reports which machine-code ranges
//! each location became. Each range's offset is looked up in the module's line table, and a
//! new line program, one sequence per function, states the row at the range's native start.
//! One compile unit holds it, with a `DW_TAG_subprogram` per function (name, address range).
//! Addresses are relocations against the function symbols, section offsets against the
//! sections, so the system linker places them like any object's debug information.
//!
//! What is not carried over: variable locations and types (Cranelift does not track wasm
//! locals through register allocation in a form this could translate), inlined-call trees and
//! the module's other DWARF sections. A module whose DWARF cannot be read compiles as if it
//! had none, with a warning ([`crate::Progress::warnings`]).

use cranelift_object::object::write::SymbolId;
use cranelift_object::object::{
    self, RelocationEncoding, RelocationFlags, RelocationKind, SectionKind,
};
use cranelift_object::ObjectProduct;
use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, LineProgram, LineString, Range, RangeList,
    RelocateWriter, Relocation, RelocationTarget, Sections,
};
use gimli::{Encoding, Format, LineEncoding, LittleEndian, SectionId};
use std::collections::HashMap;

use crate::CompileError;
use wasic_abi::meta::{LineRow, SourceLines};

/// The module's DWARF sections, as found in its custom sections.
#[derive(Debug, Default)]
pub struct WasmDwarf<'a> {
    sections: HashMap<&'a str, &'a [u8]>,
    /// Offset of the code section's contents in the module: DWARF addresses count from it.
    pub code_start: u64,
}

impl<'a> WasmDwarf<'a> {
    /// Keeps custom section `name` if it is a DWARF section.
    pub fn add_section(&mut self, name: &'a str, data: &'a [u8]) {
        if name.starts_with(".debug_") {
            self.sections.insert(name, data);
        }
    }

    /// Whether there is a line table to translate.
    pub fn has_lines(&self) -> bool {
        self.sections.contains_key(".debug_line") && self.sections.contains_key(".debug_info")
    }

    fn section(&self, id: SectionId) -> &'a [u8] {
        self.sections.get(id.name()).copied().unwrap_or(&[])
    }

    /// The sections as gimli reads them.
    fn load(&self) -> Result<gimli::Dwarf<gimli::EndianSlice<'a, LittleEndian>>, gimli::Error> {
        gimli::Dwarf::load(|id| Ok(gimli::EndianSlice::new(self.section(id), LittleEndian)))
    }
}

/// One row of the module's line table: from `addr` (a code-section offset) on, until the next
/// row, the code is `file:line:column`; `file == END` ends a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    addr: u64,
    file: u32,
    line: u64,
    column: u64,
}

const END: u32 = u32::MAX;

/// Addresses at or above this are linkers' tombstones for discarded code (wasm-ld writes -1).
const TOMBSTONE: u64 = 0xffff_0000;

/// The module's line table, flattened and sorted by address.
#[derive(Debug, Default)]
pub struct LineTable {
    rows: Vec<Row>,
    /// (directory, file name) of each file index.
    files: Vec<(Vec<u8>, Vec<u8>)>,
    /// Of the first compile unit: its name, compilation directory, language and producer.
    unit_name: Option<Vec<u8>>,
    comp_dir: Option<Vec<u8>>,
    language: Option<gimli::DwLang>,
}

impl LineTable {
    /// Reads every compile unit's line program: `None` when it has no rows, an error (the
    /// module then builds without debug information) when the DWARF cannot be read.
    pub fn read(dwarf: &WasmDwarf<'_>) -> Result<Option<LineTable>, String> {
        match read_lines(dwarf) {
            Ok(t) => Ok(Some(t).filter(|t| !t.rows.is_empty())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The row covering code-section offset `addr`.
    fn lookup(&self, addr: u64) -> Option<&Row> {
        let i = self
            .rows
            .partition_point(|r| r.addr <= addr)
            .checked_sub(1)?;
        Some(&self.rows[i]).filter(|r| r.file != END)
    }
}

fn read_lines(wasm: &WasmDwarf<'_>) -> Result<LineTable, gimli::Error> {
    let dwarf = wasm.load()?;
    let mut table = LineTable::default();
    let mut file_index: HashMap<(Vec<u8>, Vec<u8>), u32> = HashMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        if table.unit_name.is_none() {
            table.unit_name = unit.name.map(|n| n.to_vec());
            table.comp_dir = unit.comp_dir.map(|d| d.to_vec());
            let mut entries = unit.entries();
            if let Some(root) = entries.next_dfs()? {
                if let Some(gimli::AttributeValue::Language(l)) =
                    root.attr_value(gimli::DW_AT_language)
                {
                    table.language = Some(l);
                }
            }
        }
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        while let Some((header, row)) = rows.next_row()? {
            let addr = row.address();
            if addr >= TOMBSTONE {
                continue;
            }
            if row.end_sequence() {
                table.rows.push(Row {
                    addr,
                    file: END,
                    line: 0,
                    column: 0,
                });
                continue;
            }
            let Some(file) = row.file(header) else {
                continue;
            };
            let name = dwarf.attr_string(&unit, file.path_name())?.to_vec();
            let dir = match file.directory(header) {
                Some(d) => dwarf.attr_string(&unit, d)?.to_vec(),
                None => Vec::new(),
            };
            let next = table.files.len() as u32;
            let index = *file_index
                .entry((dir.clone(), name.clone()))
                .or_insert_with(|| {
                    table.files.push((dir, name));
                    next
                });
            table.rows.push(Row {
                addr,
                file: index,
                line: row.line().map_or(0, |l| l.get()),
                column: match row.column() {
                    gimli::ColumnType::LeftEdge => 0,
                    gimli::ColumnType::Column(c) => c.get(),
                },
            });
        }
    }
    // Where a sequence ends at the address the next begins, the end comes first (sorting
    // by `file` puts END last, so sort ends by a key that puts them first).
    table
        .rows
        .sort_by_key(|r| (r.addr, r.file != END, r.line, r.column, r.file));
    Ok(table)
}

/// The line rows of one function's machine code, from its source locations: (native offset,
/// row, whether the body starts there). The prologue (code without a source location) belongs
/// to the function's first line, so every address of the function has one, and the body
/// begins where the first located code does: a debugger's `break FUNCTION` stops there.
fn function_rows<'t>(
    table: &'t LineTable,
    srclocs: &[(u32, u32, u32)],
) -> Vec<(u32, &'t Row, bool)> {
    let mut rows = Vec::new();
    let mut last = None;
    for &(native, _, wasm) in srclocs {
        let Some(row) = table.lookup(u64::from(wasm)) else {
            continue;
        };
        let key = (row.file, row.line, row.column);
        if last == Some(key) {
            continue;
        }
        let first = last.is_none();
        last = Some(key);
        if first && native > 0 {
            rows.push((0, row, false));
        }
        rows.push((native, row, first));
    }
    rows
}

/// The source lines of every function for the runtime's trap backtraces (metadata).
pub fn source_lines<'a>(
    table: &LineTable,
    funcs: impl Iterator<Item = &'a [(u32, u32, u32)]>,
) -> SourceLines {
    let files = table
        .files
        .iter()
        .map(|(dir, name)| {
            let name = String::from_utf8_lossy(name);
            let dir = String::from_utf8_lossy(dir);
            let path = std::path::Path::new(&*dir).join(&*name);
            let path = match &table.comp_dir {
                Some(c) if path.is_relative() => {
                    std::path::Path::new(&*String::from_utf8_lossy(c)).join(path)
                }
                _ => path,
            };
            path.to_string_lossy().into_owned()
        })
        .collect();
    let rows = funcs
        .map(|srclocs| {
            let mut rows: Vec<LineRow> = function_rows(table, srclocs)
                .into_iter()
                .map(|(offset, row, _)| LineRow {
                    offset,
                    file: row.file,
                    line: u32::try_from(row.line).unwrap_or(u32::MAX),
                })
                .collect();
            // Backtraces print lines, not columns: one row per change of line.
            rows.dedup_by_key(|r| (r.file, r.line));
            rows
        })
        .collect();
    SourceLines { files, rows }
}

/// The functions the module's DWARF names: (code-section offset of the body, name), the
/// linkage name where there is one (so C++ and Rust names stay mangled for the symbol table),
/// else the plain name. Empty when the DWARF cannot be read.
pub fn function_names(wasm: &WasmDwarf<'_>) -> Vec<(u64, String)> {
    read_function_names(wasm).unwrap_or_default()
}

fn read_function_names(wasm: &WasmDwarf<'_>) -> Result<Vec<(u64, String)>, gimli::Error> {
    let dwarf = wasm.load()?;
    let mut names = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs()? {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let Some(gimli::AttributeValue::Addr(low_pc)) = entry.attr_value(gimli::DW_AT_low_pc)
            else {
                continue;
            };
            if low_pc >= TOMBSTONE {
                continue;
            }
            // A definition may leave its names to its declaration (C++ methods).
            let mut name = None;
            let mut die = Some(entry.clone());
            for _ in 0..2 {
                let Some(d) = die.take() else { break };
                for attr in [gimli::DW_AT_linkage_name, gimli::DW_AT_name] {
                    if let Some(v) = d.attr_value(attr) {
                        if let Ok(s) = dwarf.attr_string(&unit, v) {
                            name = Some(String::from_utf8_lossy(&s).into_owned());
                            break;
                        }
                    }
                }
                if name.is_some() {
                    break;
                }
                if let Some(gimli::AttributeValue::UnitRef(r)) = d
                    .attr_value(gimli::DW_AT_specification)
                    .or_else(|| d.attr_value(gimli::DW_AT_abstract_origin))
                {
                    die = unit.entry(r).ok();
                }
            }
            if let Some(name) = name {
                names.push((low_pc, name));
            }
        }
    }
    Ok(names)
}

/// One compiled function, for the debug information.
pub struct DebugFunc<'a> {
    pub symbol: SymbolId,
    pub name: &'a str,
    pub size: u64,
    /// (native start, native end, code-section offset), by native start.
    pub srclocs: &'a [(u32, u32, u32)],
}

/// A writer that records the relocations gimli asks for.
#[derive(Clone)]
struct RelocWriter {
    data: EndianVec<LittleEndian>,
    relocs: Vec<Relocation>,
}

impl RelocateWriter for RelocWriter {
    type Writer = EndianVec<LittleEndian>;
    fn writer(&self) -> &Self::Writer {
        &self.data
    }
    fn writer_mut(&mut self) -> &mut Self::Writer {
        &mut self.data
    }
    fn relocate(&mut self, relocation: Relocation) {
        self.relocs.push(relocation);
    }
}

fn dwarf_error(e: gimli::write::Error) -> CompileError {
    CompileError::Codegen {
        what: "debug information".into(),
        message: e.to_string(),
    }
}

/// A DWARF string: gimli refuses empty strings and NUL bytes.
fn string(bytes: &[u8], fallback: &str) -> Vec<u8> {
    let s: Vec<u8> = bytes.iter().copied().filter(|b| *b != 0).collect();
    if s.is_empty() {
        fallback.as_bytes().to_vec()
    } else {
        s
    }
}

/// Writes the debug sections for `funcs` into `product`.
pub fn emit(
    product: &mut ObjectProduct,
    table: &LineTable,
    funcs: &[DebugFunc<'_>],
) -> Result<(), CompileError> {
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 4,
        address_size: 8,
    };
    let mut dwarf = DwarfUnit::new(encoding);
    let unit_name = string(table.unit_name.as_deref().unwrap_or(b""), "wasm");
    let comp_dir = string(table.comp_dir.as_deref().unwrap_or(b""), "/");
    let mut program = LineProgram::new(
        encoding,
        LineEncoding::default(),
        LineString::String(comp_dir.clone()),
        None,
        LineString::String(unit_name.clone()),
        None,
    );
    let mut dirs = HashMap::new();
    let file_ids: Vec<_> = table
        .files
        .iter()
        .map(|(dir, name)| {
            let dir = *dirs.entry(dir.clone()).or_insert_with(|| {
                if dir.is_empty() {
                    program.default_directory()
                } else {
                    program.add_directory(LineString::String(string(dir, "/")))
                }
            });
            program.add_file(LineString::String(string(name, "?")), dir, None)
        })
        .collect();

    // Symbols are numbered by their position in `funcs` for gimli.
    let mut ranges = Vec::new();
    for (i, f) in funcs.iter().enumerate() {
        let start = Address::Symbol {
            symbol: i,
            addend: 0,
        };
        ranges.push(Range::StartLength {
            begin: start,
            length: f.size,
        });
        program.begin_sequence(Some(start));
        for (native, row, prologue_end) in function_rows(table, f.srclocs) {
            let r = program.row();
            r.address_offset = u64::from(native);
            r.file = file_ids[row.file as usize];
            r.line = row.line;
            r.column = row.column;
            r.prologue_end = prologue_end;
            program.generate_row();
        }
        program.end_sequence(f.size);
    }
    dwarf.unit.line_program = program;

    let range_list = dwarf.unit.ranges.add(RangeList(ranges));
    let root = dwarf.unit.root();
    let cu = dwarf.unit.get_mut(root);
    cu.set(
        gimli::DW_AT_producer,
        AttributeValue::String(b"wasic".to_vec()),
    );
    cu.set(gimli::DW_AT_name, AttributeValue::String(unit_name));
    cu.set(gimli::DW_AT_comp_dir, AttributeValue::String(comp_dir));
    if let Some(l) = table.language {
        cu.set(gimli::DW_AT_language, AttributeValue::Language(l));
    }
    cu.set(
        gimli::DW_AT_low_pc,
        AttributeValue::Address(Address::Constant(0)),
    );
    cu.set(
        gimli::DW_AT_ranges,
        AttributeValue::RangeListRef(range_list),
    );
    for (i, f) in funcs.iter().enumerate() {
        let sub = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
        let sub = dwarf.unit.get_mut(sub);
        sub.set(
            gimli::DW_AT_name,
            AttributeValue::String(string(f.name.as_bytes(), "?")),
        );
        sub.set(
            gimli::DW_AT_low_pc,
            AttributeValue::Address(Address::Symbol {
                symbol: i,
                addend: 0,
            }),
        );
        sub.set(gimli::DW_AT_high_pc, AttributeValue::Udata(f.size));
        // Cranelift keeps frame pointers: the frame base is the frame pointer.
        let mut frame_base = gimli::write::Expression::new();
        frame_base.op_reg(gimli::X86_64::RBP);
        sub.set(gimli::DW_AT_frame_base, AttributeValue::Exprloc(frame_base));
    }

    let mut sections = Sections::new(RelocWriter {
        data: EndianVec::new(LittleEndian),
        relocs: Vec::new(),
    });
    dwarf.write(&mut sections).map_err(dwarf_error)?;

    // Add the sections first, so relocations can name any of them.
    let mut ids = HashMap::new();
    sections.for_each(|id, w| {
        if !w.data.slice().is_empty() {
            let section = product.object.add_section(
                Vec::new(),
                id.name().as_bytes().to_vec(),
                SectionKind::Debug,
            );
            product
                .object
                .append_section_data(section, w.data.slice(), 1);
            ids.insert(id, section);
        }
        Ok::<_, CompileError>(())
    })?;
    let symbols: Vec<SymbolId> = funcs.iter().map(|f| f.symbol).collect();
    sections.for_each(|id, w| {
        let Some(&section) = ids.get(&id) else {
            return Ok::<(), CompileError>(());
        };
        for r in &w.relocs {
            let (symbol, addend) = match r.target {
                RelocationTarget::Symbol(i) => (symbols[i], r.addend),
                RelocationTarget::Section(target) => {
                    let target = *ids.get(&target).ok_or_else(|| CompileError::Codegen {
                        what: "debug information".into(),
                        message: format!("relocation against the empty section {}", target.name()),
                    })?;
                    (product.object.section_symbol(target), r.addend)
                }
            };
            product
                .object
                .add_relocation(
                    section,
                    object::write::Relocation {
                        offset: r.offset as u64,
                        symbol,
                        addend,
                        flags: RelocationFlags::Generic {
                            kind: RelocationKind::Absolute,
                            encoding: RelocationEncoding::Generic,
                            size: r.size * 8,
                        },
                    },
                )
                .map_err(|e| CompileError::Codegen {
                    what: "debug information".into(),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    })?;
    Ok(())
}
