//! The in-process loader: maps a relocatable object produced by `wasic-compiler` into this
//! process, applies its relocations, and returns its module descriptor. It does for tests and
//! `Module::from_object` what the system linker does for built executables, on the same object,
//! so both paths run identical code.
//!
//! Only what the compiler emits is supported: allocated sections, and the x86_64 relocations
//! `R_X86_64_64`, `R_X86_64_PC32` and `R_X86_64_PLT32` against symbols defined in the object.
//! Compiled objects have no undefined symbols (builtins are reached through the VMContext).

use crate::sys::{page_size, Mmap};
use object::elf;
use object::read::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
use object::{RelocationFlags, SectionKind};
use wasic_abi::meta::ModuleDescriptor;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a compiled wasic object: {0}")]
    Parse(#[from] object::read::Error),
    #[error("compiled object: {0}")]
    Unsupported(String),
    #[error("cannot map compiled code: {0}")]
    Map(#[from] std::io::Error),
}

/// Code and data of one loaded object; unmapped on drop.
#[derive(Debug)]
pub struct LoadedObject {
    mmap: Mmap,
    descriptor: *const ModuleDescriptor,
}

// The mapping is immutable (read-only or read-execute) once loading finishes.
unsafe impl Send for LoadedObject {}
unsafe impl Sync for LoadedObject {}

impl LoadedObject {
    pub fn descriptor(&self) -> *const ModuleDescriptor {
        self.descriptor
    }

    pub fn range(&self) -> (usize, usize) {
        (self.mmap.as_ptr() as usize, self.mmap.len())
    }
}

/// Loads `bytes` (an ELF relocatable object) into executable memory.
pub fn load(bytes: &[u8]) -> Result<LoadedObject, LoadError> {
    let file = object::File::parse(bytes)?;
    if file.architecture() != object::Architecture::X86_64 {
        return Err(LoadError::Unsupported(format!(
            "architecture {:?}",
            file.architecture()
        )));
    }
    let page = page_size();
    // Lay out executable sections first, then the rest from a fresh page, so the two parts
    // can get different protections.
    let mut placement: Vec<Option<usize>> = vec![None; file.sections().count() + 1];
    let mut cursor = 0usize;
    let mut text_end = 0usize;
    for pass_text in [true, false] {
        if !pass_text {
            cursor = cursor.next_multiple_of(page);
            text_end = cursor;
        }
        for section in file.sections() {
            let kind = section.kind();
            let is_text = kind == SectionKind::Text;
            let alloc = matches!(
                kind,
                SectionKind::Text
                    | SectionKind::Data
                    | SectionKind::ReadOnlyData
                    | SectionKind::ReadOnlyDataWithRel
                    | SectionKind::ReadOnlyString
                    | SectionKind::UninitializedData
            );
            if !alloc || is_text != pass_text {
                continue;
            }
            let align = section.align().max(1) as usize;
            cursor = cursor.next_multiple_of(align);
            placement[section.index().0] = Some(cursor);
            cursor += section.size() as usize;
        }
    }
    let total = cursor.next_multiple_of(page).max(page);
    let mmap = Mmap::read_write(total)?;
    let base = mmap.as_ptr();

    for section in file.sections() {
        let Some(at) = placement[section.index().0] else {
            continue;
        };
        if section.kind() == SectionKind::UninitializedData {
            continue;
        }
        let data = section.data()?;
        // SAFETY: `at + data.len()` fits in the mapping by construction of the layout above.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), base.add(at), data.len()) };
    }

    let symbol_address = |target: RelocationTarget| -> Result<usize, LoadError> {
        let RelocationTarget::Symbol(idx) = target else {
            return Err(LoadError::Unsupported(
                "relocation against a non-symbol".into(),
            ));
        };
        let sym = file.symbol_by_index(idx)?;
        let sec = sym.section_index().ok_or_else(|| {
            LoadError::Unsupported(format!("undefined symbol `{}`", sym.name().unwrap_or("?")))
        })?;
        let at = placement
            .get(sec.0)
            .copied()
            .flatten()
            .ok_or_else(|| LoadError::Unsupported("symbol in a non-loaded section".into()))?;
        Ok(base as usize + at + sym.address() as usize)
    };

    for section in file.sections() {
        let Some(at) = placement[section.index().0] else {
            continue;
        };
        for (offset, reloc) in section.relocations() {
            let place = at + offset as usize;
            if place + 8 > total {
                return Err(LoadError::Unsupported(
                    "relocation outside its section".into(),
                ));
            }
            let s = symbol_address(reloc.target())? as i64;
            let a = reloc.addend();
            let p = base as i64 + place as i64;
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(LoadError::Unsupported("non-ELF relocation".into()));
            };
            // SAFETY: `place` lies inside the mapping (checked above); unaligned writes.
            unsafe {
                match r_type {
                    elf::R_X86_64_64 => (base.add(place) as *mut i64).write_unaligned(s + a),
                    elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => {
                        let v = i32::try_from(s + a - p).map_err(|_| {
                            LoadError::Unsupported("PC-relative relocation out of range".into())
                        })?;
                        (base.add(place) as *mut i32).write_unaligned(v)
                    }
                    other => {
                        return Err(LoadError::Unsupported(format!("relocation type {other}")))
                    }
                }
            }
        }
    }

    let descriptor = file
        .symbols()
        .find(|s| s.name() == Ok(wasic_abi::MODULE_DESCRIPTOR_SYMBOL))
        .ok_or_else(|| {
            LoadError::Unsupported(format!(
                "no `{}` symbol",
                wasic_abi::MODULE_DESCRIPTOR_SYMBOL
            ))
        })?;
    let descriptor =
        symbol_address(RelocationTarget::Symbol(descriptor.index()))? as *const ModuleDescriptor;

    mmap.protect(0, text_end, libc::PROT_READ | libc::PROT_EXEC)?;
    mmap.protect(text_end, total - text_end, libc::PROT_READ)?;
    Ok(LoadedObject { mmap, descriptor })
}
