//! The in-process loader: maps a relocatable object produced by `wasic-compiler` into this
//! process, applies its relocations, and returns its module descriptor. It does for tests and
//! `Module::from_object` what the system linker does for built executables, on the same object,
//! so both paths run identical code.
//!
//! Only what the compiler emits is supported: allocated sections, and the x86_64 relocations
//! `R_X86_64_64`, `R_X86_64_PC32` and `R_X86_64_PLT32` against symbols defined in the object,
//! in any loaded section (read-only data too: static table records are code offsets written by
//! `R_X86_64_PC32`, see abi/src/meta.rs).
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
    /// An offset, size, alignment or index of the object points outside what it describes.
    #[error("compiled object is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot map compiled code: {0}")]
    Map(#[from] std::io::Error),
}

/// The most bytes a loaded object may take: a 32-bit PC-relative relocation reaches no
/// further, so no object the compiler emits is larger.
pub const MAX_LOADED_SIZE: usize = 1 << 31;

/// Code and data of one loaded object; unmapped on drop.
#[derive(Debug)]
pub struct LoadedObject {
    mmap: Mmap,
    /// Length of the executable part at the start of the mapping.
    text_len: usize,
    descriptor: *const ModuleDescriptor,
}

// The mapping is immutable (read-only or read-execute) once loading finishes.
unsafe impl Send for LoadedObject {}
unsafe impl Sync for LoadedObject {}

impl LoadedObject {
    /// The descriptor, inside the mapping and aligned (its contents are not checked).
    pub fn descriptor(&self) -> *const ModuleDescriptor {
        self.descriptor
    }

    /// (start address, length) of the whole mapping.
    pub fn range(&self) -> (usize, usize) {
        (self.mmap.as_ptr() as usize, self.mmap.len())
    }

    /// The addresses of the executable part of the mapping.
    pub fn text(&self) -> std::ops::Range<usize> {
        let start = self.mmap.as_ptr() as usize;
        start..start + self.text_len
    }

    /// The addresses of the whole mapping.
    pub fn mapping(&self) -> std::ops::Range<usize> {
        let start = self.mmap.as_ptr() as usize;
        start..start + self.mmap.len()
    }
}

fn corrupt(what: impl Into<String>) -> LoadError {
    LoadError::Corrupt(what.into())
}

/// Where a loaded section is: its offset in the mapping and its size.
#[derive(Clone, Copy)]
struct Placed {
    at: usize,
    size: usize,
}

/// Loads `bytes` (an ELF relocatable object) into memory, the code executable. Nothing of the
/// object runs; every offset, size, alignment and index it contains is checked, so arbitrary
/// bytes give an error, never an access outside the mapping.
pub fn load(bytes: &[u8]) -> Result<LoadedObject, LoadError> {
    let file = object::File::parse(bytes)?;
    if file.architecture() != object::Architecture::X86_64 {
        return Err(LoadError::Unsupported(format!(
            "architecture {:?}",
            file.architecture()
        )));
    }
    let page = page_size();
    let too_large = || corrupt(format!("loaded sections exceed {MAX_LOADED_SIZE} bytes"));
    // Lay out executable sections first, then the rest from a fresh page, so the two parts
    // can get different protections.
    let mut placement: Vec<Option<Placed>> = vec![None; file.sections().count() + 1];
    let mut cursor = 0usize;
    let mut text_end = 0usize;
    for pass_text in [true, false] {
        if !pass_text {
            cursor = cursor
                .checked_next_multiple_of(page)
                .ok_or_else(too_large)?;
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
            let name = section.name().unwrap_or("?");
            let align = section.align().max(1);
            // The mapping is page-aligned: larger alignments cannot be honoured.
            if !align.is_power_of_two() || align > page as u64 {
                return Err(corrupt(format!("section `{name}` has alignment {align}")));
            }
            let size = usize::try_from(section.size()).map_err(|_| too_large())?;
            cursor = cursor
                .checked_next_multiple_of(align as usize)
                .ok_or_else(too_large)?;
            let slot = placement
                .get_mut(section.index().0)
                .ok_or_else(|| corrupt(format!("section index {}", section.index().0)))?;
            *slot = Some(Placed { at: cursor, size });
            cursor = cursor
                .checked_add(size)
                .filter(|&c| c <= MAX_LOADED_SIZE)
                .ok_or_else(too_large)?;
        }
    }
    let total = cursor
        .checked_next_multiple_of(page)
        .ok_or_else(too_large)?
        .max(page);
    let mmap = Mmap::read_write(total)?;
    let base = mmap.as_ptr();

    for section in file.sections() {
        let Some(Placed { at, size }) = placement.get(section.index().0).copied().flatten() else {
            continue;
        };
        if section.kind() == SectionKind::UninitializedData {
            continue;
        }
        let data = section.data()?;
        if data.len() != size {
            return Err(corrupt(format!(
                "section `{}` has {} bytes of data for a size of {size}",
                section.name().unwrap_or("?"),
                data.len()
            )));
        }
        // SAFETY: `[at, at + size)` lies in the mapping by construction of the layout above
        // (`at + size <= cursor <= total`), and `data` has `size` bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), base.add(at), size) };
    }

    // The offset in the mapping of `size` bytes at a symbol, which must lie in its section.
    let symbol_offset = |target: RelocationTarget, size: usize| -> Result<usize, LoadError> {
        let RelocationTarget::Symbol(idx) = target else {
            return Err(LoadError::Unsupported(
                "relocation against a non-symbol".into(),
            ));
        };
        let sym = file.symbol_by_index(idx)?;
        let name = sym.name().unwrap_or("?");
        let sec = sym
            .section_index()
            .ok_or_else(|| LoadError::Unsupported(format!("undefined symbol `{name}`")))?;
        let placed = placement.get(sec.0).copied().flatten().ok_or_else(|| {
            LoadError::Unsupported(format!("symbol `{name}` in a non-loaded section"))
        })?;
        usize::try_from(sym.address())
            .ok()
            .filter(|&a| a.checked_add(size).is_some_and(|end| end <= placed.size))
            .map(|a| placed.at + a)
            .ok_or_else(|| {
                corrupt(format!(
                    "symbol `{name}` at {:#x} lies outside its section",
                    sym.address()
                ))
            })
    };

    for section in file.sections() {
        let Some(Placed { at, size }) = placement.get(section.index().0).copied().flatten() else {
            continue;
        };
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(LoadError::Unsupported("non-ELF relocation".into()));
            };
            let width = match r_type {
                elf::R_X86_64_64 => 8,
                elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => 4,
                other => return Err(LoadError::Unsupported(format!("relocation type {other}"))),
            };
            let place = usize::try_from(offset)
                .ok()
                .filter(|&o| o.checked_add(width).is_some_and(|end| end <= size))
                .map(|o| at + o)
                .ok_or_else(|| {
                    corrupt(format!(
                        "relocation at {offset:#x} outside its section `{}`",
                        section.name().unwrap_or("?")
                    ))
                })?;
            // Offsets are below MAX_LOADED_SIZE and the mapping is in the lower half of the
            // address space, so these sums fit in an i64.
            let s = (base as usize + symbol_offset(reloc.target(), 0)?) as i64;
            let a = reloc.addend();
            let p = (base as usize + place) as i64;
            // SAFETY: `[place, place + width)` lies inside the mapping (checked above);
            // unaligned writes.
            unsafe {
                if width == 8 {
                    (base.add(place) as *mut i64).write_unaligned(s.wrapping_add(a))
                } else {
                    let v = i32::try_from(i128::from(s) + i128::from(a) - i128::from(p)).map_err(
                        |_| LoadError::Unsupported("PC-relative relocation out of range".into()),
                    )?;
                    (base.add(place) as *mut i32).write_unaligned(v)
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
    let at = symbol_offset(
        RelocationTarget::Symbol(descriptor.index()),
        size_of::<ModuleDescriptor>(),
    )?;
    if at % align_of::<ModuleDescriptor>() != 0 {
        return Err(corrupt("the module descriptor is misaligned"));
    }
    // SAFETY: `at` plus the descriptor's size lies in the mapping (checked by symbol_offset).
    let descriptor = unsafe { base.add(at) } as *const ModuleDescriptor;

    mmap.protect(0, text_end, libc::PROT_READ | libc::PROT_EXEC)?;
    mmap.protect(text_end, total - text_end, libc::PROT_READ)?;
    Ok(LoadedObject {
        mmap,
        text_len: text_end,
        descriptor,
    })
}

#[cfg(test)]
mod tests {
    //! Corrupt objects: each is an error, never a panic or an access outside the mapping.

    use crate::module::Module;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// A compiled object with code, data, a table and relocations of every kind.
    fn object() -> Vec<u8> {
        let wasm = wat::parse_str(
            r#"(module
                (memory (export "mem") 1)
                (data (i32.const 8) "hello")
                (table 2 funcref)
                (elem (i32.const 0) $f $g)
                (func $f (export "f") (result i32) (i32.const 1))
                (func $g (param i32) (result i32) (call $f) (local.get 0) (i32.add)))"#,
        )
        .unwrap();
        wasic_compiler::compile(&wasm, &Default::default()).unwrap()
    }

    fn u16_at(b: &[u8], at: usize) -> usize {
        u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as usize
    }
    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }
    fn put_u64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// File offsets of the ELF64 section headers, with each one's `sh_type` and `sh_flags`.
    fn section_headers(b: &[u8]) -> Vec<(usize, u32, u64)> {
        let (shoff, shentsize, shnum) =
            (u64_at(b, 0x28) as usize, u16_at(b, 0x3a), u16_at(b, 0x3c));
        (0..shnum)
            .map(|i| {
                let h = shoff + i * shentsize;
                (
                    h,
                    u32::from_le_bytes(b[h + 4..h + 8].try_into().unwrap()),
                    u64_at(b, h + 8),
                )
            })
            .collect()
    }
    const SH_OFFSET: usize = 0x18;
    const SH_SIZE: usize = 0x20;
    const SH_ADDRALIGN: usize = 0x30;
    const SHT_SYMTAB: u32 = 2;
    const SHT_RELA: u32 = 4;
    const SHF_EXECINSTR: u64 = 4;

    fn text_header(b: &[u8]) -> usize {
        section_headers(b)
            .into_iter()
            .find(|(_, _, flags)| flags & SHF_EXECINSTR != 0)
            .expect("a code section")
            .0
    }

    /// File offset of the `st_value` of the `wasic_module` symbol, and the file offset of the
    /// descriptor it points to.
    fn descriptor(b: &[u8]) -> (usize, usize) {
        use object::{Object, ObjectSymbol};
        let file = object::File::parse(b).unwrap();
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(wasic_abi::MODULE_DESCRIPTOR_SYMBOL))
            .unwrap();
        let headers = section_headers(b);
        let symtab = headers.iter().find(|h| h.1 == SHT_SYMTAB).unwrap().0;
        let value = u64_at(b, symtab + SH_OFFSET) as usize + sym.index().0 * 24 + 8;
        let sec = headers[sym.section_index().unwrap().0].0;
        (
            value,
            u64_at(b, sec + SH_OFFSET) as usize + sym.address() as usize,
        )
    }

    /// Loads `bytes`; the error message, or `None` if it loaded. Fails the test on a panic.
    fn load(bytes: &[u8]) -> Option<String> {
        // SAFETY: nothing of the module is ever run: it is dropped right away.
        match catch_unwind(AssertUnwindSafe(|| unsafe { Module::from_object(bytes) })) {
            Ok(r) => r.err().map(|e| e.to_string()),
            Err(_) => panic!("loading a corrupt object panicked"),
        }
    }

    fn assert_corrupt(bytes: &[u8], what: &str) {
        match load(bytes) {
            Some(e) => assert!(e.contains(what), "{e}"),
            None => panic!("a corrupt object loaded (expected: {what})"),
        }
    }

    #[test]
    fn the_intact_object_loads() {
        assert_eq!(load(&object()), None);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let obj = object();
        for len in 0..obj.len() {
            assert!(
                load(&obj[..len]).is_some(),
                "truncated to {len} bytes, it loaded"
            );
        }
    }

    #[test]
    fn huge_section_sizes_and_alignments_are_errors() {
        let obj = object();
        let text = text_header(&obj);
        for size in [u64::MAX, 1 << 62, 1 << 40] {
            let mut b = obj.clone();
            put_u64(&mut b, text + SH_SIZE, size);
            assert!(load(&b).is_some(), "section size {size:#x} loaded");
        }
        for align in [1 << 40, 3, u64::MAX] {
            let mut b = obj.clone();
            put_u64(&mut b, text + SH_ADDRALIGN, align);
            assert_corrupt(&b, "alignment");
        }
    }

    #[test]
    fn relocations_past_their_section_are_errors() {
        let obj = object();
        let relas: Vec<usize> = section_headers(&obj)
            .into_iter()
            .filter(|h| h.1 == SHT_RELA)
            .map(|h| u64_at(&obj, h.0 + SH_OFFSET) as usize)
            .collect();
        assert!(!relas.is_empty());
        for rela in relas {
            for offset in [u64::MAX, u64::MAX - 3, 1 << 32] {
                let mut b = obj.clone();
                put_u64(&mut b, rela, offset);
                assert_corrupt(&b, "outside its section");
            }
        }
    }

    #[test]
    fn a_descriptor_symbol_past_its_section_is_an_error() {
        let obj = object();
        let (value, _) = descriptor(&obj);
        for v in [u64::MAX, 1 << 31, u64_at(&obj, value) + (1 << 20)] {
            let mut b = obj.clone();
            put_u64(&mut b, value, v);
            assert_corrupt(&b, "outside its section");
        }
    }

    #[test]
    fn descriptor_lengths_past_the_object_are_errors() {
        use std::mem::offset_of;
        use wasic_abi::meta::ModuleDescriptor;
        let obj = object();
        let (_, desc) = descriptor(&obj);
        for (field, what) in [
            (offset_of!(ModuleDescriptor, meta_len), "metadata"),
            (offset_of!(ModuleDescriptor, data_len), "data blob"),
            (offset_of!(ModuleDescriptor, num_funcs), "disagree"),
            (offset_of!(ModuleDescriptor, num_types), "disagree"),
        ] {
            for v in [u64::MAX, 1 << 40] {
                let mut b = obj.clone();
                put_u64(&mut b, desc + field, v);
                assert_corrupt(&b, what);
            }
        }
    }

    #[test]
    fn no_single_byte_corruption_panics() {
        let obj = object();
        for i in 0..obj.len() {
            for flip in [0xff, 0x01] {
                let mut b = obj.clone();
                b[i] ^= flip;
                // Loading may succeed (a byte of code or of a name), but never panic.
                load(&b);
            }
        }
    }
}
