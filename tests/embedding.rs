//! Focused end-to-end tests of embedding wasic: wat text is compiled by `wasic_compiler`,
//! loaded with `Module::from_object` and instantiated and called through the runtime's API.
//! Each test pins one behaviour an embedder relies on: traps are recoverable, memory faults
//! report the wasm address, instances link to each other and stay isolated, and host functions
//! can return values and trap.

use wasic_abi::{FuncType, GlobalType, ValRaw, ValType};
use wasic_runtime::{Error, Extern, Func, HostError, Instance, Linker, Store, Trap, Val};

use wasic_tests::{call, module};

fn trap_of(r: Result<Vec<Val>, Error>) -> Box<wasic_runtime::TrapError> {
    match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn unbounded_recursion_traps_with_stack_overflow_and_the_thread_can_call_again() {
    let m = module(
        r#"(module
            (func $loop (export "loop") (param i32) (result i32)
                (call $loop (i32.add (local.get 0) (i32.const 1))))
            (func (export "answer") (result i32) (i32.const 42)))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    for _ in 0..3 {
        let t = trap_of(call(&mut store, &inst, "loop", &[Val::I32(0)]));
        assert_eq!(t.trap, Trap::StackOverflow);
        assert_eq!(t.trap.to_string(), "call stack exhausted");
        assert_eq!(
            call(&mut store, &inst, "answer", &[]).unwrap(),
            vec![Val::I32(42)]
        );
    }
}

#[test]
fn out_of_bounds_load_traps_and_reports_the_wasm_address() {
    let m = module(
        r#"(module
            (memory 1)
            (func (export "load") (param i32) (result i32)
                (i32.load offset=4 (local.get 0))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    assert_eq!(
        call(&mut store, &inst, "load", &[Val::I32(65532 - 4)]).unwrap(),
        vec![Val::I32(0)]
    );
    let t = trap_of(call(&mut store, &inst, "load", &[Val::I32(0x10000)]));
    assert_eq!(t.trap, Trap::MemoryOutOfBounds);
    assert_eq!(
        t.memory_fault,
        Some((0x10004, 0x10000)),
        "wasm address and memory size of the fault"
    );
    assert!(t.to_string().contains("out of bounds memory access"), "{t}");
    // The instance stays usable after the fault.
    assert_eq!(
        call(&mut store, &inst, "load", &[Val::I32(0)]).unwrap(),
        vec![Val::I32(0)]
    );
}

#[test]
fn linked_instances_share_function_memory_table_and_global_and_see_each_others_writes() {
    let provider = module(
        r#"(module
            (memory (export "mem") 1)
            (table (export "tab") 2 funcref)
            (global (export "g") (mut i32) (i32.const 1))
            (type $t (func (result i32)))
            (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
            (func (export "get_g") (result i32) (global.get 0))
            (func (export "call_slot") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
    );
    let user = module(
        r#"(module
            (import "p" "store" (func $store (param i32 i32)))
            (import "p" "mem" (memory 1))
            (import "p" "tab" (table 2 funcref))
            (import "p" "g" (global $g (mut i32)))
            (func $seven (result i32) (i32.const 7))
            (elem (i32.const 1) $seven)
            (func (export "store_via_import") (param i32 i32) (call $store (local.get 0) (local.get 1)))
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
            (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
            (func (export "set_g") (param i32) (global.set $g (local.get 0)))
            (func (export "get_g") (result i32) (global.get $g)))"#,
    );
    let mut store = Store::default();
    let mut linker = Linker::new();
    let p = linker.instantiate(&mut store, &provider).unwrap();
    linker.define_instance("p", &p);
    let u = linker.instantiate(&mut store, &user).unwrap();

    // Memory: writes of each side are seen by the other, including through the imported func.
    call(&mut store, &u, "store", &[Val::I32(16), Val::I32(1234)]).unwrap();
    assert_eq!(
        call(&mut store, &p, "load", &[Val::I32(16)]).unwrap(),
        vec![Val::I32(1234)]
    );
    call(&mut store, &p, "store", &[Val::I32(32), Val::I32(-5)]).unwrap();
    assert_eq!(
        call(&mut store, &u, "load", &[Val::I32(32)]).unwrap(),
        vec![Val::I32(-5)]
    );
    call(
        &mut store,
        &u,
        "store_via_import",
        &[Val::I32(48), Val::I32(99)],
    )
    .unwrap();
    assert_eq!(
        call(&mut store, &u, "load", &[Val::I32(48)]).unwrap(),
        vec![Val::I32(99)]
    );
    let mem = p.get_memory("mem").unwrap();
    assert_eq!(&mem.data(&store)[48..52], &99i32.to_le_bytes());

    // Global: both directions, and through the host handle.
    call(&mut store, &u, "set_g", &[Val::I32(77)]).unwrap();
    assert_eq!(
        call(&mut store, &p, "get_g", &[]).unwrap(),
        vec![Val::I32(77)]
    );
    p.get_global("g")
        .unwrap()
        .set(&mut store, Val::I32(78))
        .unwrap();
    assert_eq!(
        call(&mut store, &u, "get_g", &[]).unwrap(),
        vec![Val::I32(78)]
    );

    // Table: the user's element segment wrote into the provider's table.
    assert_eq!(
        call(&mut store, &p, "call_slot", &[Val::I32(1)]).unwrap(),
        vec![Val::I32(7)]
    );
    let t = trap_of(call(&mut store, &p, "call_slot", &[Val::I32(0)]));
    assert_eq!(t.trap, Trap::UninitializedElement);
    match p.get_export("tab") {
        Some(Extern::Table(tab)) => {
            assert!(matches!(tab.get(&store, 1), Some(Val::FuncRef(Some(_)))))
        }
        other => panic!("tab export: {other:?}"),
    }
}

#[test]
fn instances_of_one_module_have_independent_memories() {
    let m = module(
        r#"(module
            (memory 1)
            (global $n (mut i32) (i32.const 0))
            (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
            (func (export "bump") (result i32)
                (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))"#,
    );
    let mut store = Store::default();
    let instances: Vec<Instance> = (0..4)
        .map(|_| Instance::new(&mut store, &m, &[]).unwrap())
        .collect();
    for (i, inst) in instances.iter().enumerate() {
        call(
            &mut store,
            inst,
            "store",
            &[Val::I32(100), Val::I32(i as i32 * 10)],
        )
        .unwrap();
    }
    for (i, inst) in instances.iter().enumerate() {
        assert_eq!(
            call(&mut store, inst, "load", &[Val::I32(100)]).unwrap(),
            vec![Val::I32(i as i32 * 10)]
        );
        for n in 1..=i as i32 + 1 {
            assert_eq!(
                call(&mut store, inst, "bump", &[]).unwrap(),
                vec![Val::I32(n)]
            );
        }
    }
    // A second store's instance of the same module starts from scratch.
    let mut other = Store::default();
    let fresh = Instance::new(&mut other, &m, &[]).unwrap();
    assert_eq!(
        call(&mut other, &fresh, "load", &[Val::I32(100)]).unwrap(),
        vec![Val::I32(0)]
    );
}

#[test]
fn host_functions_return_values_to_wasm_and_can_trap() {
    let m = module(
        r#"(module
            (import "host" "double" (func $double (param i64) (result i64)))
            (import "host" "fail" (func $fail (param i32)))
            (func (export "quad") (param i64) (result i64) (call $double (call $double (local.get 0))))
            (func (export "fail_then_42") (param i32) (result i32) (call $fail (local.get 0)) (i32.const 42)))"#,
    );
    let mut store = Store::default();
    let double = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I64],
            results: vec![ValType::I64],
        },
        |_, values: &mut [ValRaw]| {
            values[0] = ValRaw::from_i64(values[0].as_i64() * 2);
            Ok(())
        },
    );
    let fail = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![],
        },
        |_, values| {
            if values[0].as_i32() != 0 {
                Err(HostError::Trap(Trap::Unreachable))
            } else {
                Ok(())
            }
        },
    );
    let mut linker = Linker::new();
    linker.define("host", "double", Extern::Func(double));
    linker.define("host", "fail", Extern::Func(fail));
    let inst = linker.instantiate(&mut store, &m).unwrap();

    assert_eq!(
        call(&mut store, &inst, "quad", &[Val::I64(5)]).unwrap(),
        vec![Val::I64(20)]
    );
    assert_eq!(
        call(&mut store, &inst, "fail_then_42", &[Val::I32(0)]).unwrap(),
        vec![Val::I32(42)]
    );
    let t = trap_of(call(&mut store, &inst, "fail_then_42", &[Val::I32(1)]));
    assert_eq!(t.trap, Trap::Unreachable);
    // Still usable after the host trap.
    assert_eq!(
        call(&mut store, &inst, "quad", &[Val::I64(-3)]).unwrap(),
        vec![Val::I64(-12)]
    );
    // The host function can also be called directly.
    assert_eq!(
        double.call(&mut store, &[Val::I64(21)]).unwrap(),
        vec![Val::I64(42)]
    );
}

#[test]
fn imported_global_of_the_wrong_type_is_a_link_error() {
    let m = module(r#"(module (import "env" "g" (global i64)))"#);
    let mut store = Store::default();
    let g = wasic_runtime::Global::new(
        &mut store,
        GlobalType {
            ty: ValType::I32,
            mutable: false,
        },
        Val::I32(1),
    )
    .unwrap();
    let mut linker = Linker::new();
    linker.define("env", "g", Extern::Global(g));
    assert!(matches!(
        linker.instantiate(&mut store, &m),
        Err(Error::Link(_))
    ));
}
