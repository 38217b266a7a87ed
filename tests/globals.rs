//! The `const_globals` optimization: `global.get` of a defined immutable global whose
//! initializer is one numeric constant compiles to that constant, with no load. Globals that can
//! change (mutable ones) or whose value the module does not know (imported ones, initializers
//! reading another global) keep loading their cell, and every kind reads the right value.

use wasic_abi::GlobalType;
use wasic_abi::ValType;
use wasic_compiler::{CompileOptions, Optimizations};
use wasic_runtime::{Extern, Global, Instance, Store, Val};
use wasic_tests::{call, load_wasm_with, module};

const GLOBALS: &str = r#"(module
    (import "env" "imported" (global $imp i32))
    (global $c32 (export "g_c32") i32 (i32.const -7))
    (global $c64 i64 (i64.const 0x123456789abcdef0))
    (global $cf32 f32 (f32.const nan:0x200001))
    (global $cf64 f64 (f64.const -0x1.8p1))
    (global $cv v128 (v128.const i32x4 1 2 3 4))
    (global $mut (export "g_mut") (mut i32) (i32.const 5))
    (global $copy i32 (global.get $imp))
    (func (export "c32") (result i32) (global.get $c32))
    (func (export "c64") (result i64) (global.get $c64))
    (func (export "cf32") (result i32) (i32.reinterpret_f32 (global.get $cf32)))
    (func (export "cf64") (result f64) (global.get $cf64))
    (func (export "cv") (result i32) (i32x4.extract_lane 3 (global.get $cv)))
    (func (export "mut") (result i32) (global.get $mut))
    (func (export "bump") (global.set $mut (i32.add (global.get $mut) (i32.const 1))))
    (func (export "imp") (result i32) (global.get $imp))
    (func (export "copy") (result i32) (global.get $copy)))"#;

fn instance(store: &mut Store, imported: i32) -> Instance {
    let g = Global::new(
        store,
        GlobalType {
            ty: ValType::I32,
            mutable: false,
        },
        Val::I32(imported),
    )
    .unwrap();
    Instance::new(store, &module(GLOBALS), &[Extern::Global(g)]).unwrap()
}

fn get(store: &mut Store, inst: &Instance, name: &str) -> Val {
    call(store, inst, name, &[]).unwrap()[0]
}

#[test]
fn constant_globals_read_their_exact_values() {
    let mut store = Store::default();
    let inst = instance(&mut store, 0);
    assert_eq!(get(&mut store, &inst, "c32"), Val::I32(-7));
    assert_eq!(
        get(&mut store, &inst, "c64"),
        Val::I64(0x1234_5678_9abc_def0)
    );
    // The NaN payload survives.
    assert_eq!(get(&mut store, &inst, "cf32"), Val::I32(0x7fa0_0001));
    assert_eq!(
        get(&mut store, &inst, "cf64"),
        Val::F64((-3.0f64).to_bits())
    );
    assert_eq!(get(&mut store, &inst, "cv"), Val::I32(4));
}

#[test]
fn mutable_and_imported_globals_are_read_from_their_cells() {
    let mut store = Store::default();
    let (a, b) = (instance(&mut store, 11), instance(&mut store, 22));
    assert_eq!(get(&mut store, &a, "imp"), Val::I32(11));
    assert_eq!(get(&mut store, &b, "imp"), Val::I32(22));
    assert_eq!(get(&mut store, &a, "copy"), Val::I32(11));
    assert_eq!(get(&mut store, &b, "copy"), Val::I32(22));
    call(&mut store, &a, "bump", &[]).unwrap();
    assert_eq!(get(&mut store, &a, "mut"), Val::I32(6));
    let Some(Extern::Global(g)) = a.get_export("g_mut") else {
        panic!("no global export g_mut")
    };
    g.set(&mut store, Val::I32(100)).unwrap();
    assert_eq!(get(&mut store, &a, "mut"), Val::I32(100));
    assert_eq!(get(&mut store, &b, "mut"), Val::I32(5));
}

/// The disassembly of defined function `index` of `text` compiled with `opts`.
fn disassemble(text: &str, index: u32, opts: &CompileOptions) -> String {
    let wasm = wat::parse_str(text).unwrap();
    // The module must load too.
    load_wasm_with(&wasm, opts).unwrap();
    wasic_tests::disassemble_functions(&wasm, opts).swap_remove(index as usize)
}

/// Functions 0.. read: an (exported) constant global, a mutable one, one initialized from an
/// imported global.
const SHAPES: &str = r#"(module
    (import "env" "g" (global $i i32))
    (global $c (export "c") i32 (i32.const 0x1234))
    (global $m (mut i32) (i32.const 0x1234))
    (global $g i32 (global.get $i))
    (func (result i32) (global.get $c))
    (func (result i32) (global.get $m))
    (func (result i32) (global.get $g)))"#;

/// Whether `asm` loads from memory (a `mov` with a memory source operand).
fn loads(asm: &str) -> bool {
    asm.lines()
        .any(|l| l.contains("\tmov") && l.contains("),%") && !l.contains("%rsp"))
}

#[test]
fn a_constant_global_compiles_to_an_immediate_and_other_globals_to_loads() {
    let on = CompileOptions::default();
    let c = disassemble(SHAPES, 0, &on);
    assert!(c.contains("$0x1234") && !loads(&c), "{c}");
    for i in [1, 2] {
        let asm = disassemble(SHAPES, i, &on);
        assert!(loads(&asm), "function {i}:\n{asm}");
    }
    let off = CompileOptions {
        optimizations: Optimizations {
            const_globals: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let c = disassemble(SHAPES, 0, &off);
    assert!(loads(&c), "{c}");
}
