//! The GC heap and its collector (`runtime/src/gc.rs`) beyond what the spec suite covers:
//! unreachable objects are reclaimed while the program runs, so allocation loops run in
//! bounded memory; objects reachable from locals (conservative stack roots), from other
//! objects, globals, tables, element segments, exception payloads and host handles survive
//! every collection intact; the heap limit (`max_memory`) traps cleanly; and GC references
//! cross the host API (`Val::AnyRef`) with their identity and type.

use wasic_runtime::{AnyRef, Error, Instance, Store, StoreConfig, Trap, Val};
use wasic_tests::{call, module};

fn store_with_limit(bytes: u64) -> Store {
    Store::new(StoreConfig {
        max_memory: Some(bytes),
        ..Default::default()
    })
}

fn i32_of(v: &[Val]) -> i32 {
    match v {
        [Val::I32(x)] => *x,
        other => panic!("expected one i32, got {other:?}"),
    }
}

/// Lists of `$node`s: garbage made in loops, lists kept in locals, globals, tables and
/// exception payloads while garbage is made.
const LISTS: &str = r#"(module
    (type $node (struct (field $v i32) (field $next (ref null $node))))
    (type $bytes (array (mut i8)))
    (type $nodes (array (mut (ref null $node))))
    (tag $carry (param (ref null $node)))
    (global $kept (mut (ref null $node)) (ref.null $node))
    (table $t 4 (ref null $node))
    (elem $seg (ref null $node) (item (struct.new $node (i32.const 77) (ref.null $node))))

    ;; A list n..1 (sum n(n+1)/2).
    (func $list (param $n i32) (result (ref null $node))
        (local $l (ref null $node))
        (block $done (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $l (struct.new $node (local.get $n) (local.get $l)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $l))
    (func $sum (param $l (ref null $node)) (result i32)
        (local $s i32)
        (block $done (loop $next
            (br_if $done (ref.is_null (local.get $l)))
            (local.set $s (i32.add (local.get $s) (struct.get $node $v (local.get $l))))
            (local.set $l (struct.get $node $next (local.get $l)))
            (br $next)))
        (local.get $s))
    ;; `bytes` bytes of garbage: lists of 100 nodes and 1000-byte arrays.
    (func $garbage (param $bytes i32)
        (block $done (loop $next
            (br_if $done (i32.le_s (local.get $bytes) (i32.const 0)))
            (drop (call $list (i32.const 100)))
            (drop (array.new_default $bytes (i32.const 1000)))
            (local.set $bytes (i32.sub (local.get $bytes) (i32.const 3400)))
            (br $next))))

    (func (export "churn") (param $mib i32)
        (call $garbage (i32.mul (local.get $mib) (i32.const 1048576))))
    ;; A list kept only in a local across making garbage.
    (func (export "local_survives") (param $n i32) (param $mib i32) (result i32)
        (local $l (ref null $node))
        (local.set $l (call $list (local.get $n)))
        (call $garbage (i32.mul (local.get $mib) (i32.const 1048576)))
        (call $sum (local.get $l)))
    ;; Lists kept in a global, a table, an array and an exception payload.
    (func (export "roots_survive") (param $mib i32) (result i32)
        (local $arr (ref null $nodes))
        (local $exn exnref)
        (global.set $kept (call $list (i32.const 1000)))
        (table.set $t (i32.const 2) (call $list (i32.const 2000)))
        (local.set $arr (array.new $nodes (ref.null $node) (i32.const 3)))
        (array.set $nodes (local.get $arr) (i32.const 1) (call $list (i32.const 3000)))
        (local.set $exn
            (block $caught (result exnref)
                (try_table (catch_all_ref $caught)
                    (throw $carry (call $list (i32.const 4000))))
                (unreachable)))
        (call $garbage (i32.mul (local.get $mib) (i32.const 1048576)))
        (i32.add
            (i32.add
                (call $sum (global.get $kept))
                (call $sum (table.get $t (i32.const 2))))
            (i32.add
                (call $sum (array.get $nodes (local.get $arr) (i32.const 1)))
                (call $sum
                    (block $c (result (ref null $node))
                        (try_table (catch $carry $c) (throw_ref (local.get $exn)))
                        (unreachable))))))
    ;; Objects of a passive element segment survive until used.
    (func (export "segment_survives") (param $mib i32) (result i32)
        (local $a (ref null $nodes))
        (call $garbage (i32.mul (local.get $mib) (i32.const 1048576)))
        (local.set $a (array.new_elem $nodes $seg (i32.const 0) (i32.const 1)))
        (struct.get $node $v (array.get $nodes (local.get $a) (i32.const 0))))
    ;; Keeps every list it makes: grows until the heap is full.
    (func (export "hoard") (param $lists i32) (result i32)
        (local $a (ref null $nodes))
        (local $i i32)
        (local.set $a (array.new $nodes (ref.null $node) (local.get $lists)))
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $lists)))
            (array.set $nodes (local.get $a) (local.get $i) (call $list (i32.const 1000)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (array.len (local.get $a)))
    (func (export "huge_array") (param $n i32) (result i32)
        (array.len (array.new_default $bytes (local.get $n))))
    ;; Each of `depth` frames keeps its own node (in a local, and as an operand across the
    ;; call) while the frames below make garbage; each checks its node on the way back.
    (func $nest (export "nest") (param $depth i32) (result i32)
        (local $mine (ref null $node))
        (if (i32.eqz (local.get $depth)) (then (call $garbage (i32.const 65536)) (return (i32.const 0))))
        (local.set $mine (struct.new $node (local.get $depth) (call $list (i32.const 3))))
        (call $garbage (i32.const 16384))
        (i32.add
            (struct.get $node $v (local.get $mine))
            (i32.add
                (call $nest (i32.sub (local.get $depth) (i32.const 1)))
                (i32.add
                    (struct.get $node $v (local.get $mine))
                    (call $sum (struct.get $node $next (local.get $mine)))))))
    ;; Objects live across the builtin call that allocates a large array (and may collect),
    ;; where compiled code may keep them in callee-saved registers rather than on the stack.
    (func (export "across_builtin") (param $n i32) (result i32)
        (local $a (ref null $node))
        (local $b (ref null $node))
        (local $s i32)
        (block $done (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $a (struct.new $node (local.get $n) (ref.null $node)))
            (local.set $b (struct.new $node (i32.const 1) (local.get $a)))
            (drop (array.new_default $bytes (i32.const 100000)))
            (local.set $s (i32.add (local.get $s)
                (i32.add (struct.get $node $v (local.get $a))
                    (struct.get $node $v (struct.get $node $next (local.get $b))))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $s))
    (func (export "list") (param i32) (result (ref null $node)) (call $list (local.get 0)))
    (func (export "sum") (param (ref null $node)) (result i32) (call $sum (local.get 0)))
    (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
    (func (export "i31_get") (param i31ref) (result i32) (i31.get_s (local.get 0)))
    (func (export "internalize") (param externref) (result anyref)
        (any.convert_extern (local.get 0)))
    (func (export "externalize") (param anyref) (result externref)
        (extern.convert_any (local.get 0)))
)"#;

fn sum_to(n: i32) -> i32 {
    n * (n + 1) / 2
}

#[test]
fn an_allocation_loop_runs_in_bounded_memory() {
    let m = module(LISTS);
    let mut store = store_with_limit(16 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    // 512 MiB of garbage through a 16 MiB heap.
    call(&mut store, &inst, "churn", &[Val::I32(512)]).unwrap();
    assert!(
        store.gc_collections() >= 10,
        "{} collections",
        store.gc_collections()
    );
    assert!(
        store.gc_heap_bytes() <= 16 << 20,
        "{} bytes",
        store.gc_heap_bytes()
    );
}

#[test]
fn a_list_held_only_in_a_local_survives_collections() {
    let m = module(LISTS);
    let mut store = store_with_limit(32 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(
        &mut store,
        &inst,
        "local_survives",
        &[Val::I32(20_000), Val::I32(128)],
    )
    .unwrap();
    assert!(store.gc_collections() >= 2);
    assert_eq!(i32_of(&r), sum_to(20_000));
}

#[test]
fn lists_in_globals_tables_arrays_and_exception_payloads_survive_collections() {
    let m = module(LISTS);
    let mut store = store_with_limit(32 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(&mut store, &inst, "roots_survive", &[Val::I32(128)]).unwrap();
    assert!(store.gc_collections() >= 2);
    assert_eq!(
        i32_of(&r),
        sum_to(1000) + sum_to(2000) + sum_to(3000) + sum_to(4000)
    );
}

#[test]
fn objects_held_by_every_frame_of_a_deep_recursion_survive_collections() {
    let m = module(LISTS);
    let mut store = store_with_limit(16 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(&mut store, &inst, "nest", &[Val::I32(2000)]).unwrap();
    assert!(
        store.gc_collections() >= 2,
        "{} collections",
        store.gc_collections()
    );
    // Each level d adds d twice and the sum 1+2+3 of its list.
    assert_eq!(i32_of(&r), 2 * sum_to(2000) + 6 * 2000);
}

#[test]
fn objects_live_across_an_allocating_builtin_call_survive_collections() {
    let m = module(LISTS);
    let mut store = store_with_limit(16 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(&mut store, &inst, "across_builtin", &[Val::I32(2000)]).unwrap();
    assert!(
        store.gc_collections() >= 2,
        "{} collections",
        store.gc_collections()
    );
    assert_eq!(i32_of(&r), 2 * sum_to(2000));
}

#[test]
fn objects_of_a_passive_element_segment_survive_collections() {
    let m = module(LISTS);
    let mut store = store_with_limit(32 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(&mut store, &inst, "segment_survives", &[Val::I32(64)]).unwrap();
    assert!(store.gc_collections() >= 1);
    assert_eq!(i32_of(&r), 77);
}

#[test]
fn a_full_gc_heap_traps_and_the_store_stays_usable() {
    let m = module(LISTS);
    let mut store = store_with_limit(8 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    // 1000 lists of 1000 nodes: 24 MB, over the limit.
    let r = call(&mut store, &inst, "hoard", &[Val::I32(1000)]);
    assert!(
        matches!(&r, Err(Error::Trap(t)) if t.trap == Trap::GcHeapOutOfMemory),
        "{r:?}"
    );
    // The hoard is garbage now: the next calls collect it.
    let r = call(
        &mut store,
        &inst,
        "local_survives",
        &[Val::I32(1000), Val::I32(32)],
    )
    .unwrap();
    assert_eq!(i32_of(&r), sum_to(1000));
    // An array larger than the heap can ever be traps without allocating.
    let r = call(&mut store, &inst, "huge_array", &[Val::I32(-1)]);
    assert!(
        matches!(&r, Err(Error::Trap(t)) if t.trap == Trap::GcHeapOutOfMemory),
        "{r:?}"
    );
}

#[test]
fn objects_the_host_holds_survive_collections_and_keep_their_identity() {
    let m = module(LISTS);
    let mut store = store_with_limit(32 << 20);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let list = call(&mut store, &inst, "list", &[Val::I32(500)]).unwrap();
    let Val::AnyRef(Some(AnyRef::Object(obj))) = list[0] else {
        panic!("expected an object, got {list:?}");
    };
    assert!(matches!(
        obj.heap_type(),
        wasic_abi::HeapType::ConcreteStruct(_)
    ));
    call(&mut store, &inst, "churn", &[Val::I32(128)]).unwrap();
    assert!(store.gc_collections() >= 2);
    let r = call(&mut store, &inst, "sum", &list).unwrap();
    assert_eq!(i32_of(&r), sum_to(500));
}

#[test]
fn i31_and_host_values_cross_the_host_boundary_unchanged() {
    let m = module(LISTS);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let r = call(&mut store, &inst, "i31", &[Val::I32(-5)]).unwrap();
    assert!(matches!(r[0], Val::AnyRef(Some(AnyRef::I31(_)))), "{r:?}");
    let back = call(&mut store, &inst, "i31_get", &r).unwrap();
    assert_eq!(i32_of(&back), -5);
    // A host value internalized is `any`, externalized again the same host value.
    let inside = call(
        &mut store,
        &inst,
        "internalize",
        &[Val::ExternRef(Some(42))],
    )
    .unwrap();
    assert_eq!(inside[0], Val::AnyRef(Some(AnyRef::Host(42))));
    let outside = call(&mut store, &inst, "externalize", &inside).unwrap();
    assert_eq!(outside[0], Val::ExternRef(Some(42)));
    // Host values have 62 bits.
    let r = call(
        &mut store,
        &inst,
        "internalize",
        &[Val::ExternRef(Some(u64::MAX))],
    );
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
    // A struct passed where an i31ref is expected is refused by the type check.
    let list = call(&mut store, &inst, "list", &[Val::I32(2)]).unwrap();
    let r = call(&mut store, &inst, "i31_get", &list);
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
}
