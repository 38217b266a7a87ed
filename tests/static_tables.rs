//! The `static_tables` optimization end to end: `call_indirect` through a table nothing can
//! change after instantiation checks the callee against read-only per-slot records of the object
//! and calls defined functions straight through them; a constant index becomes a direct call or
//! an immediate trap.
//!
//! Each behaviour test also checks the shape of the code (relocations of the function's code,
//! its trap sites) so that it pins down that the optimization fired, or that it did not where it
//! must not: on a table that can change (exported, imported, changed by an operator, or whose
//! contents depend on the imports) the generic path must see every change.

use std::sync::Arc;
use wasic_abi::{FuncType, TableType, ValRaw, ValType};
use wasic_compiler::{CompileOptions, Optimizations};
use wasic_runtime::{Error, Extern, Func, Instance, Linker, Module, Store, Table, Trap, Val};
use wasic_tests::call;

/// A module compiled with the optimization on or off: its object, metadata and loaded form.
struct Compiled {
    object: Vec<u8>,
    meta: wasic_abi::meta::ModuleMeta,
    module: Arc<Module>,
}

fn compile_with(text: &str, static_tables: bool) -> Compiled {
    let wasm = wat::parse_str(text).unwrap();
    let opts = CompileOptions {
        optimizations: Optimizations {
            static_tables,
            ..Default::default()
        },
        ..Default::default()
    };
    let (object, meta) = wasic_compiler::compile_with_meta(&wasm, &opts).unwrap();
    // SAFETY: `object` was just produced by `wasic_compiler::compile_with_meta`.
    let module = unsafe { Module::from_object(&object) }.unwrap();
    Compiled {
        object,
        meta,
        module,
    }
}

fn compile(text: &str) -> Compiled {
    compile_with(text, true)
}

impl Compiled {
    /// The symbol of function `index` (imports included in the numbering).
    fn symbol(&self, index: u32) -> String {
        let defined = (index - self.meta.num_imported_funcs) as usize;
        wasic_tests::function_symbols(&self.object)[defined].clone()
    }

    /// Names of the symbols the code of function `index` has relocations against.
    fn code_refs(&self, index: u32) -> Vec<String> {
        use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
        let file = object::File::parse(&*self.object).unwrap();
        let name = self.symbol(index);
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(name.as_str()))
            .unwrap_or_else(|| panic!("no symbol {name}"));
        let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
        let range = sym.address()..sym.address() + sym.size();
        section
            .relocations()
            .filter(|(offset, _)| range.contains(offset))
            .filter_map(|(_, r)| match r.target() {
                RelocationTarget::Symbol(i) => {
                    Some(file.symbol_by_index(i).unwrap().name().unwrap().to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Whether the object holds slot records of any static table.
    fn has_static_records(&self) -> bool {
        use object::{Object, ObjectSymbol};
        let file = object::File::parse(&*self.object).unwrap();
        let found = file
            .symbols()
            .any(|s| s.name().is_ok_and(|n| n.starts_with("wasic_static_table_")));
        found
    }

    /// Whether the code of function `index` goes through static table `table`'s records.
    fn uses_records(&self, index: u32, table: u32) -> bool {
        let records = format!("wasic_static_table_{table}");
        self.code_refs(index).contains(&records)
    }

    /// Whether the code of function `index` calls defined function `callee` directly.
    fn calls_directly(&self, index: u32, callee: u32) -> bool {
        self.code_refs(index).contains(&self.symbol(callee))
    }

    /// The `call_indirect` traps that function `index`'s code can raise, in code order.
    fn table_traps(&self, index: u32) -> Vec<Trap> {
        self.meta
            .traps
            .get((index - self.meta.num_imported_funcs) as usize)
            .unwrap()
            .iter()
            .map(|t| t.trap)
            .filter(|t| {
                matches!(
                    t,
                    Trap::UndefinedElement | Trap::UninitializedElement | Trap::BadSignature
                )
            })
            .collect()
    }
}

fn trap_of(r: Result<Vec<Val>, Error>) -> Trap {
    match r {
        Err(Error::Trap(t)) => t.trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn i32_result(r: Result<Vec<Val>, Error>) -> i32 {
    match r.unwrap().as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("expected one i32, got {other:?}"),
    }
}

/// A host function `() -> i32` returning `v`.
fn host_const(store: &mut Store, v: i32) -> Func {
    Func::new_host(
        store,
        FuncType {
            params: vec![],
            results: vec![ValType::I32],
        },
        move |_, values: &mut [ValRaw]| {
            values[0] = ValRaw::from_i32(v);
            Ok(())
        },
    )
}

/// Slot 0: $one, 1: $two (declared with a second, equal type), 2: null, 3: $other (another
/// type), 4: the imported $forty, 5..8: null (beyond the last non-null slot).
const MIXED: &str = r#"(module
    (type $t (func (result i32)))
    (type $t_again (func (result i32)))
    (type $u (func (param i32) (result i32)))
    (import "host" "forty" (func $forty (type $t)))
    (table 8 funcref)
    (elem (i32.const 0) $one $two)
    (elem (i32.const 3) $other $forty)
    (func $one (type $t) (i32.const 1))
    (func $two (type $t_again) (i32.const 2))
    (func $other (type $u) (local.get 0))
    (func (export "call") (param i32) (result i32)
        (call_indirect (type $t) (local.get 0)))
    (func (export "call_again") (param i32) (result i32)
        (call_indirect (type $t_again) (local.get 0)))
    (func (export "call_u") (param i32) (result i32)
        (call_indirect (type $u) (i32.const 7) (local.get 0))))"#;

/// Function indices of MIXED's exports.
const MIXED_CALL: u32 = 4;
const MIXED_CALL_U: u32 = 6;

fn instantiate_mixed(m: &Compiled) -> (Store, Instance) {
    let mut store = Store::default();
    let forty = host_const(&mut store, 40);
    let mut linker = Linker::new();
    linker.define("host", "forty", Extern::Func(forty));
    let inst = linker.instantiate(&mut store, &m.module).unwrap();
    (store, inst)
}

#[test]
fn a_dynamic_index_reaches_every_slot_of_a_static_table_with_the_right_result_or_trap() {
    let on = compile(MIXED);
    assert!(
        on.uses_records(MIXED_CALL, 0),
        "{:?}",
        on.code_refs(MIXED_CALL)
    );
    assert!(on.uses_records(MIXED_CALL_U, 0));
    let off = compile_with(MIXED, false);
    assert!(!off.has_static_records());

    let expected: [(i32, Result<i32, Trap>); 9] = [
        (0, Ok(1)),
        (1, Ok(2)),
        (2, Err(Trap::UninitializedElement)),
        (3, Err(Trap::BadSignature)),
        (4, Ok(40)),
        (5, Err(Trap::UninitializedElement)),
        (7, Err(Trap::UninitializedElement)),
        (8, Err(Trap::UndefinedElement)),
        (-1, Err(Trap::UndefinedElement)),
    ];
    for m in [&on, &off] {
        let (mut store, inst) = instantiate_mixed(m);
        for name in ["call", "call_again"] {
            for (i, want) in expected {
                let r = call(&mut store, &inst, name, &[Val::I32(i)]);
                match want {
                    Ok(v) => assert_eq!(i32_result(r), v, "{name}({i})"),
                    Err(t) => assert_eq!(trap_of(r), t, "{name}({i})"),
                }
            }
        }
        // Through the other type, only slot 3 matches.
        let r = call(&mut store, &inst, "call_u", &[Val::I32(3)]);
        assert_eq!(i32_result(r), 7);
        for i in [0, 1, 4] {
            let r = call(&mut store, &inst, "call_u", &[Val::I32(i)]);
            assert_eq!(trap_of(r), Trap::BadSignature, "call_u({i})");
        }
    }
}

#[test]
fn a_constant_index_of_a_defined_function_with_the_right_type_is_a_direct_call() {
    let text = r#"(module
        (type $t (func (param i32) (result i32)))
        (type $t_again (func (param i32) (result i32)))
        (table 2 funcref)
        (elem (i32.const 0) $inc $double)
        (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
        (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
        (func (export "f") (param i32) (result i32)
            (call_indirect (type $t_again) (local.get 0) (i32.const 1))))"#;
    let on = compile(text);
    assert!(on.calls_directly(2, 1), "{:?}", on.code_refs(2));
    assert!(!on.uses_records(2, 0));
    assert_eq!(on.table_traps(2), vec![]);
    let off = compile_with(text, false);
    assert!(!off.calls_directly(2, 1));
    for m in [&on, &off] {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
        assert_eq!(
            i32_result(call(&mut store, &inst, "f", &[Val::I32(21)])),
            42
        );
    }
}

#[test]
fn a_constant_index_of_a_null_wrong_type_or_missing_slot_traps_without_reading_the_table() {
    let text = r#"(module
        (type $t (func (result i32)))
        (type $u (func (result i64)))
        (table 4 funcref)
        (elem (i32.const 1) $f)
        (func $f (type $u) (i64.const 1))
        (func (export "null") (result i32) (call_indirect (type $t) (i32.const 0)))
        (func (export "beyond_last") (result i32) (call_indirect (type $t) (i32.const 3)))
        (func (export "wrong_type") (result i32) (call_indirect (type $t) (i32.const 1)))
        (func (export "out_of_bounds") (result i32) (call_indirect (type $t) (i32.const 4)))
        (func (export "far_out") (result i32) (call_indirect (type $t) (i32.const -1))))"#;
    let cases = [
        ("null", 1, Trap::UninitializedElement),
        ("beyond_last", 2, Trap::UninitializedElement),
        ("wrong_type", 3, Trap::BadSignature),
        ("out_of_bounds", 4, Trap::UndefinedElement),
        ("far_out", 5, Trap::UndefinedElement),
    ];
    let on = compile(text);
    let off = compile_with(text, false);
    for (name, index, trap) in cases {
        // Only the one trap the call raises: no bounds, null or signature check is left.
        assert_eq!(on.table_traps(index), vec![trap], "{name}");
        assert_eq!(off.table_traps(index).len(), 3, "{name}");
    }
    for m in [&on, &off] {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
        for (name, _, trap) in cases {
            assert_eq!(trap_of(call(&mut store, &inst, name, &[])), trap, "{name}");
        }
    }
}

#[test]
fn a_constant_index_of_an_imported_function_calls_the_import() {
    let text = r#"(module
        (type $t (func (result i32)))
        (import "host" "forty" (func $forty (type $t)))
        (table 1 funcref)
        (elem (i32.const 0) $forty)
        (func (export "f") (result i32) (call_indirect (type $t) (i32.const 0))))"#;
    let on = compile(text);
    assert_eq!(on.table_traps(1), vec![]);
    for m in [&on, &compile_with(text, false)] {
        let (mut store, inst) = instantiate_mixed(m);
        assert_eq!(i32_result(call(&mut store, &inst, "f", &[])), 40);
    }
}

#[test]
fn tail_calls_through_a_static_table_run_in_constant_stack_space() {
    // A million tail calls: without real tail calls on the direct path the stack overflows.
    let text = r#"(module
        (type $t (func (param i32 i32) (result i32)))
        (global $slot (mut i32) (i32.const 0))
        (table 2 funcref)
        (elem (i32.const 0) $count $count_const)
        (func $count (type $t)
            (if (result i32) (i32.eqz (local.get 0))
                (then (local.get 1))
                (else (return_call_indirect (type $t)
                    (i32.sub (local.get 0) (i32.const 1))
                    (i32.add (local.get 1) (i32.const 2))
                    (global.get $slot)))))
        (func $count_const (type $t)
            (if (result i32) (i32.eqz (local.get 0))
                (then (local.get 1))
                (else (return_call_indirect (type $t)
                    (i32.sub (local.get 0) (i32.const 1))
                    (i32.add (local.get 1) (i32.const 3))
                    (i32.const 1)))))
        (func (export "count") (param i32) (result i32)
            (call_indirect (type $t) (local.get 0) (i32.const 0) (i32.const 0)))
        (func (export "count_const") (param i32) (result i32)
            (call_indirect (type $t) (local.get 0) (i32.const 0) (i32.const 1))))"#;
    let on = compile(text);
    assert!(on.uses_records(0, 0));
    assert!(on.calls_directly(1, 1));
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &on.module, &[]).unwrap();
    let n = 1_000_000;
    assert_eq!(
        i32_result(call(&mut store, &inst, "count", &[Val::I32(n)])),
        2 * n
    );
    assert_eq!(
        i32_result(call(&mut store, &inst, "count_const", &[Val::I32(n)])),
        3 * n
    );
}

#[test]
fn multiple_results_and_exceptions_pass_through_both_paths_of_a_static_call() {
    // Slot 0 is defined (direct path), slot 1 imported (generic path); both paths must deliver
    // both results, and an exception thrown by the callee must reach the caller's handler.
    let text = r#"(module
        (type $pair (func (param i32) (result i32 i64)))
        (type $thrower (func))
        (import "host" "pair" (func $host_pair (type $pair)))
        (tag $e (param i32))
        (table 3 funcref)
        (elem (i32.const 0) $pair $host_pair $throw)
        (func $pair (type $pair) (local.get 0) (i64.extend_i32_s (i32.mul (local.get 0) (i32.const 10))))
        (func $throw (type $thrower) (throw $e (i32.const 99)))
        (func (export "pair") (param i32 i32) (result i64) (local $hi i64)
            (call_indirect (type $pair) (local.get 1) (local.get 0))
            (local.set $hi)
            (i64.extend_i32_s)
            (local.get $hi)
            (i64.add))
        (func (export "catch") (param i32) (result i32)
            (block $h (result i32)
                (try_table (catch $e $h)
                    (call_indirect (type $thrower) (local.get 0)))
                (i32.const -1))))"#;
    let on = compile(text);
    assert!(on.uses_records(3, 0));
    assert!(on.uses_records(4, 0));
    let mut store = Store::default();
    let pair = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32, ValType::I64],
        },
        |_, values: &mut [ValRaw]| {
            let x = values[0].as_i32();
            values[0] = ValRaw::from_i32(x + 1);
            values[1] = ValRaw::from_i64(i64::from(x) * 100);
            Ok(())
        },
    );
    let mut linker = Linker::new();
    linker.define("host", "pair", Extern::Func(pair));
    let inst = linker.instantiate(&mut store, &on.module).unwrap();
    let r = call(&mut store, &inst, "pair", &[Val::I32(0), Val::I32(4)]).unwrap();
    assert_eq!(r, vec![Val::I64(44)]);
    let r = call(&mut store, &inst, "pair", &[Val::I32(1), Val::I32(4)]).unwrap();
    assert_eq!(r, vec![Val::I64(405)]);
    assert_eq!(
        i32_result(call(&mut store, &inst, "catch", &[Val::I32(2)])),
        99
    );
}

/// A module whose table 0 holds $one at slot 0 and $two at slot 1, with `call` (function 2)
/// calling through it, plus `extra` (module fields that may make the table non-static).
fn two_slots(table: &str, extra: &str) -> String {
    format!(
        r#"(module
        (type $t (func (result i32)))
        {table}
        (elem (table 0) (i32.const 0) func $one $two)
        (func $one (type $t) (i32.const 1))
        (func $two (type $t) (i32.const 2))
        (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
        (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0)))
        {extra})"#
    )
}

/// Asserts that `m`'s table 0 is not treated as static: no records, generic code.
fn assert_generic(m: &Compiled) {
    assert!(!m.has_static_records());
    assert_eq!(m.table_traps(2).len(), 3);
    assert_eq!(m.table_traps(3).len(), 3);
}

#[test]
fn a_table_of_two_defined_functions_alone_is_static() {
    // The baseline of the tests below: the same module without anything that can change the
    // table takes the static path.
    let m = compile(&two_slots("(table 2 funcref)", ""));
    assert!(m.uses_records(2, 0));
    assert!(m.calls_directly(3, 0));
}

#[test]
fn an_exported_table_stays_dynamic_and_sees_elements_the_host_sets() {
    let m = compile(&two_slots("(table (export \"tab\") 2 funcref)", ""));
    assert_generic(&m);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
    assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), 1);
    let Some(Extern::Table(tab)) = inst.get_export("tab") else {
        panic!("no table export")
    };
    let two = tab.get(&store, 1).unwrap();
    tab.set(&mut store, 0, two).unwrap();
    assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), 2);
    assert_eq!(
        i32_result(call(&mut store, &inst, "call", &[Val::I32(0)])),
        2
    );
}

#[test]
fn an_imported_table_stays_dynamic_and_sees_elements_the_host_sets() {
    let m = compile(&two_slots(
        "(import \"host\" \"tab\" (table 2 funcref))",
        "",
    ));
    assert_generic(&m);
    let mut store = Store::default();
    let ty = TableType {
        elem: wasic_abi::RefType::FUNCREF,
        min: 2,
        max: None,
        table64: false,
    };
    let tab = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    let seven = host_const(&mut store, 7);
    let mut linker = Linker::new();
    linker.define("host", "tab", Extern::Table(tab));
    let inst = linker.instantiate(&mut store, &m.module).unwrap();
    assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), 1);
    tab.set(&mut store, 0, Val::FuncRef(Some(seven))).unwrap();
    assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), 7);
}

#[test]
fn tables_changed_by_table_operators_stay_dynamic() {
    // Each `change` function rewrites slot 0 (or adds slot 2), after which `call` sees it.
    let cases = [
        (
            "table.set",
            "(func (export \"change\") (table.set 0 (i32.const 0) (ref.func $two)))",
            0,
        ),
        (
            "table.fill",
            "(func (export \"change\") (table.fill 0 (i32.const 0) (ref.func $two) (i32.const 1)))",
            0,
        ),
        (
            "table.copy",
            "(func (export \"change\") (table.copy 0 0 (i32.const 0) (i32.const 1) (i32.const 1)))",
            0,
        ),
        (
            "table.init",
            "(elem $later func $two)
             (func (export \"change\") (table.init 0 $later (i32.const 0) (i32.const 0) (i32.const 1)))",
            0,
        ),
        (
            "table.grow",
            "(func (export \"change\") (drop (table.grow 0 (ref.func $two) (i32.const 1))))",
            2,
        ),
    ];
    for (op, change, slot) in cases {
        let m = compile(&two_slots("(table 2 funcref)", change));
        assert!(!m.has_static_records(), "{op}");
        assert_eq!(m.table_traps(2).len(), 3, "{op}");
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
        let before = call(&mut store, &inst, "call", &[Val::I32(slot)]);
        call(&mut store, &inst, "change", &[]).unwrap();
        let after = call(&mut store, &inst, "call", &[Val::I32(slot)]);
        assert_eq!(i32_result(after), 2, "{op}");
        if slot == 0 {
            assert_eq!(i32_result(before), 1, "{op}");
            assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), 2, "{op}");
        } else {
            assert_eq!(trap_of(before), Trap::UndefinedElement, "{op}");
        }
    }
}

#[test]
fn table_copy_from_a_static_table_and_elem_drop_keep_it_static() {
    let m = compile(&two_slots(
        "(table 2 funcref) (table $other 2 funcref)",
        "(elem $p func $one)
         (func (export \"copy_out\")
            (table.copy $other 0 (i32.const 0) (i32.const 0) (i32.const 2))
            (elem.drop $p))
         (func (export \"call_other\") (param i32) (result i32)
            (call_indirect $other (type $t) (local.get 0)))",
    ));
    assert!(m.uses_records(2, 0));
    // Table 1 is the destination of the copy: dynamic.
    assert!(!m.code_refs(5).contains(&"wasic_static_table_1".to_string()));
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
    call(&mut store, &inst, "copy_out", &[]).unwrap();
    assert_eq!(
        i32_result(call(&mut store, &inst, "call_other", &[Val::I32(1)])),
        2
    );
    assert_eq!(
        i32_result(call(&mut store, &inst, "call", &[Val::I32(1)])),
        2
    );
}

#[test]
fn a_slot_initialized_from_an_imported_global_calls_whatever_the_import_holds() {
    let text = r#"(module
        (type $t (func (result i32)))
        (import "host" "f" (global $f funcref))
        (table 3 funcref)
        (elem (i32.const 0) funcref (global.get $f) (ref.func $two) (ref.null func))
        (func $two (type $t) (i32.const 2))
        (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
        (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0))))"#;
    let m = compile(text);
    // The table is static, but slot 0 is what the import says: the generic path decides.
    assert!(m.uses_records(1, 0));
    assert_eq!(m.table_traps(2).len(), 3);
    for v in [11, 12] {
        let mut store = Store::default();
        let f = host_const(&mut store, v);
        let g = wasic_runtime::Global::new(
            &mut store,
            wasic_abi::GlobalType {
                ty: ValType::FUNCREF,
                mutable: false,
            },
            Val::FuncRef(Some(f)),
        )
        .unwrap();
        let mut linker = Linker::new();
        linker.define("host", "f", Extern::Global(g));
        let inst = linker.instantiate(&mut store, &m.module).unwrap();
        assert_eq!(i32_result(call(&mut store, &inst, "call0", &[])), v);
        assert_eq!(
            i32_result(call(&mut store, &inst, "call", &[Val::I32(0)])),
            v
        );
        assert_eq!(
            i32_result(call(&mut store, &inst, "call", &[Val::I32(1)])),
            2
        );
        let r = call(&mut store, &inst, "call", &[Val::I32(2)]);
        assert_eq!(trap_of(r), Trap::UninitializedElement);
    }
}

#[test]
fn a_segment_offset_from_an_imported_global_keeps_the_table_dynamic() {
    let text = r#"(module
        (type $t (func (result i32)))
        (import "host" "off" (global $off i32))
        (table 4 funcref)
        (elem (global.get $off) $two)
        (func $two (type $t) (i32.const 2))
        (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
        (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0))))"#;
    let m = compile(text);
    assert!(!m.has_static_records());
    for off in [0, 3] {
        let mut store = Store::default();
        let g = wasic_runtime::Global::new(
            &mut store,
            wasic_abi::GlobalType {
                ty: ValType::I32,
                mutable: false,
            },
            Val::I32(off),
        )
        .unwrap();
        let mut linker = Linker::new();
        linker.define("host", "off", Extern::Global(g));
        let inst = linker.instantiate(&mut store, &m.module).unwrap();
        assert_eq!(
            i32_result(call(&mut store, &inst, "call", &[Val::I32(off)])),
            2
        );
        let r = call(&mut store, &inst, "call0", &[]);
        if off == 0 {
            assert_eq!(i32_result(r), 2);
        } else {
            assert_eq!(trap_of(r), Trap::UninitializedElement);
        }
    }
}

/// A module that puts $probe into the imported table's slot 0, then runs `failing` (a segment
/// that may or always fails), then fills its own table 1 with $two. $probe calls through table 1
/// with a dynamic index, then with a constant one.
fn after_failure(failing: &str) -> String {
    format!(
        r#"(module
        (type $t (func (result i32)))
        (type $p (func (param i32) (result i32)))
        (import "host" "tab" (table 1 funcref))
        (table 2 funcref)
        (elem (table 0) (i32.const 0) func $probe)
        {failing}
        (elem (table 1) (i32.const 0) func $two $two)
        (func $two (type $t) (i32.const 2))
        (func $probe (type $p)
            (i32.add
                (call_indirect 1 (type $t) (local.get 0))
                (call_indirect 1 (type $t) (i32.const 1)))))"#
    )
}

/// Instantiates an [`after_failure`] module, which must fail with an out-of-bounds table
/// access, and calls $probe through the imported table, which the first segment did fill.
fn probe_after_failed_instantiation(m: &Compiled) -> Trap {
    let mut store = Store::default();
    let ty = TableType {
        elem: wasic_abi::RefType::FUNCREF,
        min: 1,
        max: None,
        table64: false,
    };
    let tab = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    let mut linker = Linker::new();
    linker.define("host", "tab", Extern::Table(tab));
    let r = linker.instantiate(&mut store, &m.module);
    assert!(
        matches!(&r, Err(Error::Trap(t)) if t.trap == Trap::TableOutOfBounds),
        "{:?}",
        r.err()
    );
    let Some(Val::FuncRef(Some(probe))) = tab.get(&store, 0) else {
        panic!("the first segment did not run")
    };
    trap_of(probe.call(&mut store, &[Val::I32(0)]))
}

#[test]
fn a_segment_that_may_fail_before_a_tables_segments_keeps_the_table_dynamic() {
    // The second segment fits the imported table's declared minimum of 1 only if the table
    // given is larger: the host gives exactly 1, so instantiation stops there and table 1 is
    // never filled; $probe, reachable through the imported table, must see it empty.
    let m = compile(&after_failure("(elem (table 0) (i32.const 1) func $two)"));
    assert!(!m.code_refs(1).iter().any(|r| r.starts_with("wasic_static")));
    assert!(!m.calls_directly(1, 0));
    assert_eq!(
        probe_after_failed_instantiation(&m),
        Trap::UninitializedElement
    );
}

#[test]
fn a_segment_that_always_fails_ends_what_static_contents_assume() {
    // The second segment cannot fit table 1 (length 2): the third never runs, table 1 stays
    // null, and the static contents say so.
    let m = compile(&after_failure(
        "(elem (table 1) (i32.const 1) func $two $two)",
    ));
    // The constant index is resolved to an immediate trap (one site) next to the dynamic
    // index's generic checks (three sites).
    assert!(!m.calls_directly(1, 0));
    assert_eq!(m.table_traps(1).len(), 4);
    assert_eq!(
        probe_after_failed_instantiation(&m),
        Trap::UninitializedElement
    );
}

impl Compiled {
    /// The machine code of function `index`.
    fn code(&self, index: u32) -> Vec<u8> {
        use object::{Object, ObjectSection, ObjectSymbol};
        let file = object::File::parse(&*self.object).unwrap();
        let name = self.symbol(index);
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(name.as_str()))
            .unwrap();
        let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
        let start = (sym.address() - section.address()) as usize;
        section.data().unwrap()[start..start + sym.size() as usize].to_vec()
    }

    /// The first bytes of the instruction at each `trap` site of function `index`.
    fn trap_instructions(&self, index: u32, trap: Trap) -> Vec<[u8; 2]> {
        let code = self.code(index);
        self.meta
            .traps
            .get((index - self.meta.num_imported_funcs) as usize)
            .unwrap()
            .iter()
            .filter(|t| t.trap == trap)
            .map(|t| [code[t.offset as usize], code[t.offset as usize + 1]])
            .collect()
    }
}

/// `ud2`, what an explicit trap instruction is.
const UD2: [u8; 2] = [0x0f, 0x0b];

#[test]
fn a_table_that_cannot_grow_has_a_constant_length_even_when_exported() {
    // Function 1 is the same code as function 0 only if `table.size` became a constant.
    let text = r#"(module
        (table (export "tab") 3 3 funcref)
        (func (result i32) (i32.const 3))
        (func (result i32) (table.size 0))
        (func (export "size") (result i32) (table.size 0))
        (func (export "grow") (result i32) (table.grow 0 (ref.null func) (i32.const 1)))
        (func (export "get_null") (param i32) (result i32)
            (ref.is_null (table.get 0 (local.get 0)))))"#;
    let on = compile(text);
    assert_eq!(on.code(1), on.code(0));
    let off = compile_with(text, false);
    assert_ne!(off.code(1), off.code(0));
    for m in [&on, &off] {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
        assert_eq!(i32_result(call(&mut store, &inst, "grow", &[])), -1);
        assert_eq!(i32_result(call(&mut store, &inst, "size", &[])), 3);
        assert_eq!(
            i32_result(call(&mut store, &inst, "get_null", &[Val::I32(2)])),
            1
        );
        let r = call(&mut store, &inst, "get_null", &[Val::I32(3)]);
        assert_eq!(trap_of(r), Trap::TableOutOfBounds);
    }
}

#[test]
fn a_null_slot_of_a_dynamic_table_traps_on_the_funcref_load_itself() {
    let text = two_slots(
        "(table (export \"tab\") 3 funcref)",
        "(func (export \"clear\") (table.set 0 (i32.const 0) (ref.null func)))",
    );
    let on = compile(&text);
    let off = compile_with(&text, false);
    // The null check is the faulting load of the callee's type, not a separate trap.
    let on_sites = on.trap_instructions(2, Trap::UninitializedElement);
    assert_eq!(on_sites.len(), 1);
    assert_ne!(on_sites[0], UD2);
    assert_eq!(
        off.trap_instructions(2, Trap::UninitializedElement),
        vec![UD2]
    );
    for m in [&on, &off] {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m.module, &[]).unwrap();
        for i in [0, 2] {
            if i == 0 {
                call(&mut store, &inst, "clear", &[]).unwrap();
            }
            let r = call(&mut store, &inst, "call", &[Val::I32(i)]);
            assert_eq!(trap_of(r), Trap::UninitializedElement, "slot {i}");
        }
        // Still usable after the fault.
        assert_eq!(
            i32_result(call(&mut store, &inst, "call", &[Val::I32(1)])),
            2
        );
    }
}
