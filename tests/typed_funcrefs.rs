//! Typed function references at the host boundary. Compiled code calls a `(ref $t)` with
//! `call_ref`, which checks no signature: every way a reference enters wasm code from the host
//! (a host function's results, arguments of `Func::call` and `call_raw`, globals, tables,
//! imports) must let in only functions of exactly that type, and no null where the type is
//! not nullable. Concrete types in the host API are canonical ids (`Func::type_id`).

use wasic_abi::{FuncType, GlobalType, HeapType, RefType, ValRaw, ValType};
use wasic_runtime::{Error, Extern, Func, Global, Instance, Store, Val};
use wasic_tests::module;

/// Functions of two types, and functions taking and making `(ref $i32)`.
const FUNCS: &str = r#"(module
    (type $i32 (func (result i32)))
    (type $i64 (func (result i64)))
    (func $seven (export "seven") (type $i32) (i32.const 7))
    (func $wide (export "wide") (type $i64) (i64.const 8))
    (elem declare func $seven)
    (func (export "call") (param (ref $i32)) (result i32) (call_ref $i32 (local.get 0)))
    (func (export "call_null") (param (ref null $i32)) (result i32) (call_ref $i32 (local.get 0)))
    (table (export "tab") 1 (ref null $i32))
    (global (export "g") (mut (ref null $i32)) (ref.null $i32))
    (func (export "call_global") (result i32) (call_ref $i32 (global.get 0)))
    (func (export "make") (result (ref $i32)) (ref.func $seven)))"#;

fn typed(nullable: bool, id: u32) -> ValType {
    ValType::Ref(RefType {
        nullable,
        heap: HeapType::Concrete(id),
    })
}

fn setup() -> (Store, Instance) {
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &module(FUNCS), &[]).unwrap();
    (store, inst)
}

fn usage(r: Result<Vec<Val>, Error>) -> String {
    match r {
        Err(Error::Usage(m)) => m,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn func_call_takes_only_functions_of_the_parameters_type() {
    let (mut store, inst) = setup();
    let call = inst.get_func("call").unwrap();
    let seven = inst.get_func("seven").unwrap();
    let wide = inst.get_func("wide").unwrap();
    assert_ne!(seven.type_id(), wide.type_id());
    assert_eq!(
        call.call(&mut store, &[Val::FuncRef(Some(seven))]).unwrap(),
        vec![Val::I32(7)]
    );
    let m = usage(call.call(&mut store, &[Val::FuncRef(Some(wide))]));
    assert!(m.contains("wrong arguments"), "{m}");
    // A null for a non-nullable parameter is refused; for a nullable one it traps in call_ref.
    usage(call.call(&mut store, &[Val::FuncRef(None)]));
    let call_null = inst.get_func("call_null").unwrap();
    match call_null.call(&mut store, &[Val::FuncRef(None)]) {
        Err(Error::Trap(t)) => assert_eq!(t.trap.message(), "null function reference"),
        other => panic!("{other:?}"),
    }
    // The parameter's type is what Func::ty reports, with the canonical id.
    assert_eq!(call.ty().params, vec![typed(false, seven.type_id())]);
}

#[test]
fn call_raw_refuses_a_raw_function_of_another_type() {
    let (mut store, inst) = setup();
    let call = inst.get_func("call").unwrap();
    let wide = Val::FuncRef(Some(inst.get_func("wide").unwrap())).to_raw();
    match call.call_raw(&mut store, &mut [wide]) {
        Err(Error::Usage(m)) => assert!(m.contains("not a reference of this store"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut null = [ValRaw::from_usize(0)];
    assert!(matches!(
        call.call_raw(&mut store, &mut null),
        Err(Error::Usage(_))
    ));
    let seven = Val::FuncRef(Some(inst.get_func("seven").unwrap())).to_raw();
    let mut values = [seven];
    call.call_raw(&mut store, &mut values).unwrap();
    assert_eq!(values[0].as_i32(), 7);
}

#[test]
fn typed_tables_and_globals_refuse_functions_of_another_type() {
    let (mut store, inst) = setup();
    let seven = inst.get_func("seven").unwrap();
    let wide = inst.get_func("wide").unwrap();
    let Some(Extern::Table(tab)) = inst.get_export("tab") else {
        panic!("no table")
    };
    assert!(tab.set(&mut store, 0, Val::FuncRef(Some(wide))).is_err());
    tab.set(&mut store, 0, Val::FuncRef(Some(seven))).unwrap();
    assert_eq!(
        tab.ty(&store).elem.heap,
        HeapType::Concrete(seven.type_id())
    );

    let Some(Extern::Global(g)) = inst.get_export("g") else {
        panic!("no global")
    };
    assert!(g.set(&mut store, Val::FuncRef(Some(wide))).is_err());
    g.set(&mut store, Val::FuncRef(Some(seven))).unwrap();
    let call_global = inst.get_func("call_global").unwrap();
    assert_eq!(
        call_global.call(&mut store, &[]).unwrap(),
        vec![Val::I32(7)]
    );

    // A host-made global of a non-nullable type must start with a function of that type.
    let ty = GlobalType {
        ty: typed(false, seven.type_id()),
        mutable: false,
    };
    assert!(Global::new(&mut store, ty, Val::FuncRef(None)).is_err());
    assert!(Global::new(&mut store, ty, Val::FuncRef(Some(wide))).is_err());
    assert!(Global::new(&mut store, ty, Val::FuncRef(Some(seven))).is_ok());
}

/// Imports a host function returning `(ref $i32)` and calls what it returns.
const CALLS_HOST: &str = r#"(module
    (type $i32 (func (result i32)))
    (import "host" "get" (func $get (result (ref $i32))))
    (func (export "run") (result i32) (call_ref $i32 (call $get))))"#;

#[test]
fn a_host_function_must_return_a_function_of_its_result_type() {
    let (mut store, inst) = setup();
    let seven = inst.get_func("seven").unwrap();
    let wide = inst.get_func("wide").unwrap();
    let host = |store: &mut Store, f: Option<Func>| {
        let ty = FuncType {
            params: vec![],
            results: vec![typed(false, seven.type_id())],
        };
        let word = Val::FuncRef(f).to_raw();
        Func::new_host(store, ty, move |_, values| {
            values[0] = word;
            Ok(())
        })
    };
    let m = module(CALLS_HOST);
    for (f, ok) in [(Some(seven), true), (Some(wide), false), (None, false)] {
        let get = host(&mut store, f);
        let user = Instance::new(&mut store, &m, &[Extern::Func(get)]).unwrap();
        let r = user.get_func("run").unwrap().call(&mut store, &[]);
        if ok {
            assert_eq!(r.unwrap(), vec![Val::I32(7)]);
        } else {
            match r {
                Err(Error::Host(msg)) => {
                    assert!(msg.contains("not a reference of its store"), "{msg}")
                }
                other => panic!("{f:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_typed_import_links_only_to_a_function_of_the_same_type_in_another_module() {
    let (mut store, inst) = setup();
    // The same `(func (result i32))` written in another module is the same type.
    let m = module(
        r#"(module
            (type $t (func (result i32)))
            (import "m" "f" (func $f (type $t)))
            (import "m" "g" (global (mut (ref null $t))))
            (func (export "run") (result i32) (call_ref $t (ref.func $f)))
            (elem declare func $f))"#,
    );
    let seven = inst.get_export("seven").unwrap();
    let g = inst.get_export("g").unwrap();
    let user = Instance::new(&mut store, &m, &[seven, g]).unwrap();
    assert_eq!(
        user.get_func("run").unwrap().call(&mut store, &[]).unwrap(),
        vec![Val::I32(7)]
    );
    // A function of another type, or a global of another reference type, does not link.
    let wide = inst.get_export("wide").unwrap();
    assert!(Instance::new(&mut store, &m, &[wide, g]).is_err());
    let other = module(
        r#"(module (type $u (func (result i64))) (global (export "g") (mut (ref null $u)) (ref.null $u)))"#,
    );
    let o = Instance::new(&mut store, &other, &[]).unwrap();
    let seven = inst.get_export("seven").unwrap();
    assert!(Instance::new(&mut store, &m, &[seven, o.get_export("g").unwrap()]).is_err());
}

#[test]
fn a_typed_result_comes_back_as_the_function_it_is() {
    let (mut store, inst) = setup();
    let make = inst.get_func("make").unwrap();
    let seven = inst.get_func("seven").unwrap();
    assert_eq!(
        make.call(&mut store, &[]).unwrap(),
        vec![Val::FuncRef(Some(seven))]
    );
    assert_eq!(
        Val::FuncRef(Some(seven)).ty(),
        typed(false, seven.type_id())
    );
    assert!(Val::FuncRef(Some(seven)).matches(ValType::FUNCREF));
    assert!(!Val::FuncRef(None).matches(typed(false, seven.type_id())));
    assert!(Val::FuncRef(None).matches(typed(true, seven.type_id())));
}
