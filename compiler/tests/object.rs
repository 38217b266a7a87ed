//! The emitted object: no undefined symbols, only `wasic_module` exported, and a descriptor whose
//! relocations lead to the same metadata `compile_with_meta` returns.

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SymbolKind};
use std::mem::offset_of;
use wasic_abi::meta::{ModuleDescriptor, DESCRIPTOR_MAGIC};
use wasic_abi::Trap;
use wasic_compiler::{compile, compile_with_meta, CompileOptions, OptLevel, TargetCpu};

const MODULE: &str = r#"(module $demo
    (type $t (func (param i32) (result i32)))
    (import "env" "f" (func $f (type $t)))
    (import "env" "g" (global $ig i32))
    (memory 1)
    (table $tab 4 funcref)
    (global $g (mut i64) (i64.const 7))
    (func $add (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add call $f)
    (func $div (param i32) (result i32)
        local.get 0 i32.load offset=8 global.get $g i32.wrap_i64 i32.div_s)
    (func $floaty (param f64) (result f64 i32)
        local.get 0 f64.floor local.get 0 f64.nearest f64.add
        local.get 0 i32.trunc_f64_s)
    (func $ind (param i32) (result i32) i32.const 1 local.get 0 call_indirect $tab (type $t))
    (func $grow (result i32) i32.const 1 memory.grow i32.const 0 i32.const 0 i32.const 4 memory.copy)
    (elem (i32.const 0) $add $div)
    (elem declare func $floaty)
    (data (i32.const 16) "hello")
    (data "passive")
    (start $grow2)
    (func $grow2)
)"#;

/// SIMD operators that would lower to libm calls or need SSSE3/SSE4.1/SSE4.2 without the
/// target's features, plus v128 params, results, locals and globals (trampolines included).
const SIMD_MODULE: &str = r#"(module
    (memory 1)
    (global $g (mut v128) (v128.const i32x4 1 2 3 4))
    (func (export "round") (param v128) (result v128 v128)
        local.get 0 f32x4.floor f32x4.ceil f32x4.trunc f32x4.nearest
        local.get 0 f64x2.floor f64x2.ceil f64x2.trunc f64x2.nearest)
    (func (export "ints") (param v128 v128) (result v128)
        (local v128)
        local.get 0 i8x16.popcnt local.get 1 i8x16.swizzle
        local.get 1 i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
        i64x2.abs local.get 1 i64x2.gt_s local.get 2 i64x2.le_s
        local.get 0 i16x8.q15mulr_sat_s local.get 1 i32x4.dot_i16x8_s
        global.get $g i64x2.mul global.set $g global.get $g)
    (func (export "floats") (param v128 v128) (result v128)
        local.get 0 local.get 1 f32x4.min local.get 1 f32x4.pmax
        i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_u f64x2.promote_low_f32x4
        i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_u f32x4.demote_f64x2_zero
        local.get 0 local.get 1 f64x2.max f64x2.sqrt i32x4.trunc_sat_f64x2_s_zero
        i16x8.narrow_i32x4_u)
    (func (export "mem") (param i32) (result v128) (local v128)
        local.get 0 local.get 0 v128.load offset=3 v128.store align=1
        local.get 0 v128.load8_splat local.get 0 v128.load32_zero i8x16.add
        local.get 0 v128.load16x4_s i16x8.sub local.set 1
        local.get 0 local.get 1 v128.load64_lane 1 local.set 1
        local.get 0 local.get 1 v128.store8_lane offset=9 15
        local.get 1)
    ;; More v128 parameters and results than registers: stack arguments and a return area.
    (func $many (param v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)
        (result v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)
        local.get 9 local.get 8 local.get 7 local.get 6 local.get 5
        local.get 4 local.get 3 local.get 2 local.get 1 local.get 0)
    (func (export "call_many") (param v128) (result v128)
        local.get 0 local.get 0 local.get 0 local.get 0 local.get 0
        local.get 0 local.get 0 local.get 0 local.get 0 local.get 0
        call $many
        i8x16.add i8x16.add i8x16.add i8x16.add i8x16.add
        i8x16.add i8x16.add i8x16.add i8x16.add)
)"#;

/// Bytes of the object at symbol `target` plus `addend`.
fn symbol_bytes<'a>(
    file: &'a object::File<'a>,
    target: RelocationTarget,
    addend: i64,
    len: usize,
) -> &'a [u8] {
    let RelocationTarget::Symbol(index) = target else {
        panic!("relocation to {target:?}")
    };
    let sym = file.symbol_by_index(index).unwrap();
    let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
    let data = section.data().unwrap();
    let start = (sym.address() as i64 + addend) as usize;
    &data[start..start + len]
}

#[test]
fn object_has_no_undefined_symbols_and_one_export() {
    for module in [MODULE, SIMD_MODULE] {
        check_symbols(&wat::parse_str(module).unwrap());
    }
}

/// VEX-encoded (AVX) instructions start with 0xc5 or 0xc4; legacy SSE code of the same
/// operators has none in these spots, so x86-64-v3 code is different and contains VEX prefixes.
#[test]
fn v3_simd_code_uses_avx_encodings() {
    let wasm = wat::parse_str(
        r#"(module (func (export "f") (param v128 v128) (result v128)
            local.get 0 local.get 1 f32x4.add local.get 1 f32x4.mul))"#,
    )
    .unwrap();
    let code = |target_cpu| {
        let (obj, meta) = compile_with_meta(
            &wasm,
            &CompileOptions {
                target_cpu,
                ..Default::default()
            },
        )
        .unwrap();
        let file = object::File::parse(&*obj).unwrap();
        let text = file.section_by_name(".text").unwrap();
        text.data().unwrap()[..meta.func_sizes[0] as usize].to_vec()
    };
    let (v2, v3) = (code(TargetCpu::X86_64V2), code(TargetCpu::X86_64V3));
    assert_ne!(v2, v3);
    // addps/mulps are 0f 58 / 0f 59 without a prefix; vaddps/vmulps are c5 xx 58 / c5 xx 59.
    let vex_arith = |c: &[u8]| {
        c.windows(3)
            .any(|w| w[0] == 0xc5 && (w[2] == 0x58 || w[2] == 0x59))
    };
    assert!(vex_arith(&v3), "no VEX vaddps/vmulps in {v3:02x?}");
    assert!(!vex_arith(&v2), "VEX code for x86-64-v2: {v2:02x?}");
}

fn check_symbols(wasm: &[u8]) {
    for target_cpu in [TargetCpu::X86_64V2, TargetCpu::X86_64V3, TargetCpu::Native] {
        for opt_level in [OptLevel::Speed, OptLevel::None] {
            let obj = compile(
                wasm,
                &CompileOptions {
                    target_cpu,
                    opt_level,
                    ..Default::default()
                },
            )
            .unwrap();
            let file = object::File::parse(&*obj).unwrap();
            for sym in file.symbols() {
                let name = sym.name().unwrap_or("?");
                assert!(
                    !sym.is_undefined() || sym.kind() == SymbolKind::File || name.is_empty(),
                    "undefined symbol {name}"
                );
                if sym.is_global() {
                    assert_eq!(
                        name,
                        wasic_abi::MODULE_DESCRIPTOR_SYMBOL,
                        "unexpected exported symbol"
                    );
                }
            }
            assert!(file
                .symbols()
                .any(|s| s.name() == Ok("wasic_module") && s.is_global() && !s.is_undefined()));
            for section in file.sections() {
                for (_, reloc) in section.relocations() {
                    if let RelocationTarget::Symbol(i) = reloc.target() {
                        let sym = file.symbol_by_index(i).unwrap();
                        assert!(
                            !sym.is_undefined(),
                            "relocation against undefined {:?}",
                            sym.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn descriptor_leads_to_the_metadata() {
    let wasm = wat::parse_str(MODULE).unwrap();
    let (obj, meta) = compile_with_meta(&wasm, &CompileOptions::default()).unwrap();
    let file = object::File::parse(&*obj).unwrap();
    let desc_sym = file
        .symbols()
        .find(|s| s.name() == Ok("wasic_module"))
        .unwrap();
    let section = file
        .section_by_index(desc_sym.section_index().unwrap())
        .unwrap();
    let base = desc_sym.address() as usize;
    let desc = &section.data().unwrap()[base..base + size_of::<ModuleDescriptor>()];
    let word = |off: usize| u64::from_le_bytes(desc[off..off + 8].try_into().unwrap());
    assert_eq!(word(offset_of!(ModuleDescriptor, magic)), DESCRIPTOR_MAGIC);
    assert_eq!(
        word(offset_of!(ModuleDescriptor, abi_version)),
        u64::from(wasic_abi::ABI_VERSION)
    );
    assert_eq!(word(offset_of!(ModuleDescriptor, num_funcs)), 6);
    assert_eq!(
        word(offset_of!(ModuleDescriptor, num_types)),
        meta.types.len() as u64
    );

    let reloc_at = |field: usize| {
        section
            .relocations()
            .find(|(off, _)| *off as usize == base + field)
            .unwrap_or_else(|| panic!("no relocation at descriptor offset {field}"))
            .1
    };
    let meta_len = word(offset_of!(ModuleDescriptor, meta_len)) as usize;
    let r = reloc_at(offset_of!(ModuleDescriptor, meta));
    let decoded =
        wasic_abi::meta::decode(symbol_bytes(&file, r.target(), r.addend(), meta_len)).unwrap();
    assert_eq!(decoded, meta);

    let data_len = word(offset_of!(ModuleDescriptor, data_len)) as usize;
    let r = reloc_at(offset_of!(ModuleDescriptor, data));
    assert_eq!(
        symbol_bytes(&file, r.target(), r.addend(), data_len),
        b"hellopassive"
    );
    for field in [
        offset_of!(ModuleDescriptor, funcs),
        offset_of!(ModuleDescriptor, array_trampolines),
        offset_of!(ModuleDescriptor, host_adapters),
    ] {
        reloc_at(field);
    }

    // The metadata describes the module completely.
    assert_eq!(meta.name.as_deref(), Some("demo"));
    assert_eq!(meta.num_imported_funcs, 1);
    assert_eq!(meta.num_imported_globals, 1);
    assert_eq!(meta.funcs.len(), 7);
    assert_eq!(meta.func_sizes.len(), 6);
    assert!(meta.func_sizes.iter().all(|s| *s > 0));
    assert_eq!(meta.traps.len(), 6);
    assert_eq!(meta.start, Some(6));
    assert_eq!(meta.elements.len(), 2);
    assert_eq!(meta.data.len(), 2);
    assert_eq!(meta.exports.len(), 1);
    assert_eq!(meta.func_names.get(1), Some("add"));
    for traps in meta.traps.iter() {
        let sites: Vec<_> = traps.iter().collect();
        assert!(sites.windows(2).all(|w| w[0].offset <= w[1].offset));
    }
    let traps = |f: usize| meta.traps.get(f).unwrap();
    let has = |f: usize, t: Trap| traps(f).iter().any(|s| s.trap == t);
    // No prologue stack check: the runtime's guard region ends recursion (`stack_guard`;
    // tests/stack.rs checks the checks come back with it off).
    for f in 0..6 {
        assert!(
            !has(f, Trap::StackOverflow),
            "prologue stack check in {f}: {:?}",
            traps(f).iter().collect::<Vec<_>>()
        );
    }
    assert!(has(1, Trap::MemoryOutOfBounds));
    assert!(has(1, Trap::IntegerDivisionByZero));
    assert!(has(1, Trap::IntegerOverflow));
    assert!(has(2, Trap::BadConversionToInteger));
    assert!(has(3, Trap::UndefinedElement));
    assert!(has(3, Trap::UninitializedElement));
    assert!(has(3, Trap::BadSignature));
}
