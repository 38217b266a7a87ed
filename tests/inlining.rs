//! End-to-end tests of the `inline` optimization (compiler/src/inline.rs): every program gives
//! the same results with inlining on and off — multi-value returns, traps inside an inlined
//! callee, exceptions crossing the inlined boundary in both directions, tail calls, many call
//! sites — and the object's relocations show where a call was inlined (the caller no longer
//! references the callee) and where it must not be (recursion, direct and mutual).

use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeSet;
use wasic_compiler::CompileOptions;
use wasic_runtime::{Error, Instance, Store, Trap, Val};

fn options(inline: bool) -> CompileOptions {
    let mut opts = CompileOptions::default();
    opts.optimizations.inline = inline;
    opts
}

fn instantiate(text: &str, inline: bool) -> (Store, Instance) {
    let wasm = wat::parse_str(text).unwrap();
    let m = wasic_tests::load_wasm_with(&wasm, &options(inline)).unwrap_or_else(|e| panic!("{e}"));
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    (store, inst)
}

/// The direct calls the compiled code still makes, as (caller, callee) function indices: the
/// relocations of each function symbol's code that target another one.
fn calls_in_object(text: &str, inline: bool) -> BTreeSet<(u32, u32)> {
    let wasm = wat::parse_str(text).unwrap();
    let (obj, meta) = wasic_compiler::compile_with_meta(&wasm, &options(inline)).unwrap();
    let symbols = wasic_tests::function_symbols(&obj);
    let file = object::read::elf::ElfFile64::<object::Endianness>::parse(&*obj).unwrap();
    let func_index = |name: &str| {
        let defined = symbols.iter().position(|s| s == name)?;
        Some(meta.num_imported_funcs + defined as u32)
    };
    let funcs: Vec<(object::SectionIndex, u64, u64, u32)> = file
        .symbols()
        .filter_map(|s| {
            let index = func_index(s.name().ok()?)?;
            Some((s.section_index()?, s.address(), s.size(), index))
        })
        .collect();
    let mut calls = BTreeSet::new();
    for section in file.sections() {
        for (offset, reloc) in section.relocations() {
            let object::RelocationTarget::Symbol(target) = reloc.target() else {
                continue;
            };
            let Some(callee) = file
                .symbol_by_index(target)
                .ok()
                .and_then(|s| func_index(s.name().ok()?))
            else {
                continue;
            };
            if let Some(&(_, _, _, caller)) = funcs.iter().find(|(sec, addr, size, _)| {
                *sec == section.index() && (*addr..addr + size).contains(&offset)
            }) {
                calls.insert((caller, callee));
            }
        }
    }
    calls
}

/// Calls export `name` in a fresh instance with inlining on and off and checks both give
/// `expected` (values in `Debug` form).
fn same_results(text: &str, name: &str, args: &[Val], expected: &str) {
    for inline in [true, false] {
        let (mut store, inst) = instantiate(text, inline);
        let r = wasic_tests::call(&mut store, &inst, name, args)
            .unwrap_or_else(|e| panic!("{name} (inline={inline}): {e}"));
        assert_eq!(format!("{r:?}"), expected, "{name} (inline={inline})");
    }
}

const SMALL_CALLEE: &str = r#"(module
    (func $add3 (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
    (func (export "twice") (param i32) (result i32) (call $add3 (call $add3 (local.get 0)))))"#;

#[test]
fn a_small_callee_is_inlined_and_not_with_the_switch_off() {
    assert_eq!(calls_in_object(SMALL_CALLEE, true), BTreeSet::new());
    assert_eq!(
        calls_in_object(SMALL_CALLEE, false),
        BTreeSet::from([(1, 0)])
    );
    same_results(SMALL_CALLEE, "twice", &[Val::I32(10)], "[I32(16)]");
}

const RECURSION: &str = r#"(module
    (func $fact (export "fact") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0))
            (then (i64.const 1))
            (else (i64.mul (local.get 0)
                           (call $fact (i64.sub (local.get 0) (i64.const 1)))))))
    (func $even (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then (i32.const 1))
            (else (call $odd (i32.sub (local.get 0) (i32.const 1))))))
    (func $odd (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then (i32.const 0))
            (else (call $even (i32.sub (local.get 0) (i32.const 1))))))
    (func (export "is_even") (param i32) (result i32) (call $even (local.get 0)))
    (func (export "fact5") (result i64) (call $fact (i64.const 5))))"#;

#[test]
fn recursive_functions_are_never_inlined_direct_or_mutual() {
    let calls = calls_in_object(RECURSION, true);
    assert!(calls.contains(&(0, 0)), "fact calls itself: {calls:?}");
    assert!(calls.contains(&(1, 2)), "even calls odd: {calls:?}");
    assert!(calls.contains(&(2, 1)), "odd calls even: {calls:?}");
    assert!(
        calls.contains(&(3, 1)),
        "even is recursive, not inlined: {calls:?}"
    );
    assert!(
        calls.contains(&(4, 0)),
        "fact is recursive, not inlined: {calls:?}"
    );
    same_results(
        RECURSION,
        "fact",
        &[Val::I64(20)],
        "[I64(2432902008176640000)]",
    );
    same_results(RECURSION, "is_even", &[Val::I32(1001)], "[I32(0)]");
    same_results(RECURSION, "fact5", &[], "[I64(120)]");
}

const MULTI_VALUE: &str = r#"(module
    (func $split (param i64) (result i32 i64 f32 f64 v128)
        (i32.wrap_i64 (local.get 0))
        (i64.shr_u (local.get 0) (i64.const 32))
        (f32.convert_i64_s (local.get 0))
        (f64.convert_i64_u (local.get 0))
        (i64x2.splat (local.get 0)))
    (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
    (func (export "combine") (param i64) (result i64 f64 i32 i32)
        (local $w i32) (local $hi i64) (local $f f32) (local $d f64) (local $lane i64)
        (call $split (local.get 0))
        (local.set $lane (i64x2.extract_lane 1))
        (local.set $d)
        (local.set $f)
        (local.set $hi)
        (local.set $w)
        (i64.add (local.get $hi) (local.get $lane))
        (f64.add (local.get $d) (f64.promote_f32 (local.get $f)))
        (call $swap (local.get $w) (i32.const 7))))"#;

#[test]
fn multi_value_results_of_an_inlined_callee_are_the_same() {
    assert!(calls_in_object(MULTI_VALUE, true).is_empty());
    let x = 0x1_0000_0005i64;
    // (high word + lane 1, both float conversions added, swap(low word, 7)).
    let sum = x as f64 + f64::from(x as f32);
    same_results(
        MULTI_VALUE,
        "combine",
        &[Val::I64(x)],
        &format!("[I64({}), F64({}), I32(7), I32(5)]", 1 + x, sum.to_bits()),
    );
}

const TRAPS: &str = r#"(module
    (memory 1)
    (func $div (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func $load (param i32) (result i32) (i32.load (local.get 0)))
    (func $never (unreachable))
    (func (export "div") (param i32 i32) (result i32)
        (i32.add (i32.const 1) (call $div (local.get 0) (local.get 1))))
    (func (export "load") (param i32) (result i32)
        (i32.add (i32.const 1) (call $load (local.get 0))))
    (func (export "never") (call $never)))"#;

fn trap_of(r: Result<Vec<Val>, Error>) -> (Trap, u32) {
    match r {
        Err(Error::Trap(t)) => (t.trap, t.frames.first().map_or(u32::MAX, |f| f.func_index)),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn a_trap_inside_an_inlined_callee_has_its_kind_is_recoverable_and_is_reported_in_the_caller() {
    assert!(calls_in_object(TRAPS, true).is_empty());
    for inline in [true, false] {
        let (mut store, inst) = instantiate(TRAPS, inline);
        let mut call = |name: &str, args: &[Val]| wasic_tests::call(&mut store, &inst, name, args);
        // The innermost frame of the backtrace: the caller when the callee was inlined (it has
        // no frame of its own), the callee when it was not.
        let frame = |caller: u32, callee: u32| if inline { caller } else { callee };
        let what = format!("inline={inline}");
        assert_eq!(
            trap_of(call("div", &[Val::I32(1), Val::I32(0)])),
            (Trap::IntegerDivisionByZero, frame(3, 0)),
            "{what}"
        );
        assert_eq!(
            trap_of(call("div", &[Val::I32(i32::MIN), Val::I32(-1)])),
            (Trap::IntegerOverflow, frame(3, 0)),
            "{what}"
        );
        assert_eq!(
            trap_of(call("load", &[Val::I32(65535)])),
            (Trap::MemoryOutOfBounds, frame(4, 1)),
            "{what}"
        );
        assert_eq!(
            trap_of(call("never", &[])),
            (Trap::Unreachable, frame(5, 2)),
            "{what}"
        );
        // The instance stays usable.
        assert_eq!(
            format!("{:?}", call("div", &[Val::I32(9), Val::I32(2)]).unwrap()),
            "[I32(5)]",
            "{what}"
        );
        assert_eq!(
            format!("{:?}", call("load", &[Val::I32(0)]).unwrap()),
            "[I32(1)]",
            "{what}"
        );
    }
}

const EXCEPTIONS: &str = r#"(module
    (tag $a (param i32))
    (tag $b (param i32))
    ;; 0. Recursive, so never inlined: after $0 frames throws $a(40), or $b(50) when $1 != 0.
    (func $deep (param i32 i32)
        (if (i32.eqz (local.get 0))
            (then (if (local.get 1) (then (throw $b (i32.const 50))))
                  (throw $a (i32.const 40))))
        (call $deep (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))
    ;; 1. Small, throws out of itself.
    (func $throw_b (param i32) (throw $b (local.get 0)))
    ;; 2. Small, catches $a from $deep and lets $b through.
    (func $catch_a (param i32 i32) (result i32)
        (block $h (result i32)
            (try_table (catch $a $h) (call $deep (local.get 0) (local.get 1)))
            (i32.const -1)
            (return))
        (i32.add (i32.const 1)))
    ;; 3. Recursive; at the bottom calls $throw_b (inlined here).
    (func $mid (param i32 i32)
        (if (i32.eqz (local.get 0)) (then (call $throw_b (local.get 1)) (return)))
        (call $mid (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))
    ;; 4. Recursive; at the bottom calls $catch_a (inlined here), which lets $b through.
    (func $mid2 (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then (call $catch_a (i32.const 2) (i32.const 1)))
            (else (call $mid2 (i32.sub (local.get 0) (i32.const 1))))))
    ;; 5. A callee that may throw is not inlined inside a try_table (see inline.rs).
    (func (export "thrown_at_try") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $b $h) (call $throw_b (local.get 0)))
            (i32.const -1))
        (i32.add (i32.const 1000)))
    ;; 6. Thrown by the inlined $throw_b in $mid's frame, caught here.
    (func (export "thrown_through_inlined") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $b $h) (call $mid (i32.const 3) (local.get 0)))
            (i32.const -1))
        (i32.add (i32.const 1000)))
    ;; 7. Thrown by $deep, caught by the handler of the inlined $catch_a in this frame.
    (func (export "callee_catches") (param i32) (result i32)
        (call $catch_a (local.get 0) (i32.const 0)))
    ;; 8. Thrown by $deep, not matched by the inlined $catch_a's handler in $mid2's frame,
    ;; caught here.
    (func (export "passes_through") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $b $h) (call $mid2 (local.get 0)) (return))
            (i32.const -2))
        (i32.add (i32.const 2000)))
    ;; 9. Nobody catches: the trap reaches the host.
    (func (export "uncaught") (result i32) (call $catch_a (i32.const 1) (i32.const 1))))"#;

#[test]
fn exceptions_cross_an_inlined_call_in_both_directions() {
    assert_eq!(
        calls_in_object(EXCEPTIONS, true),
        BTreeSet::from([
            (0, 0),
            (2, 0),
            (3, 3),
            (4, 0),
            (4, 4),
            (5, 1),
            (6, 3),
            (7, 0),
            (8, 4),
            (9, 0)
        ])
    );
    same_results(EXCEPTIONS, "thrown_at_try", &[Val::I32(5)], "[I32(1005)]");
    same_results(
        EXCEPTIONS,
        "thrown_through_inlined",
        &[Val::I32(7)],
        "[I32(1007)]",
    );
    same_results(EXCEPTIONS, "callee_catches", &[Val::I32(3)], "[I32(41)]");
    same_results(EXCEPTIONS, "passes_through", &[Val::I32(2)], "[I32(2050)]");
    for inline in [true, false] {
        let (mut store, inst) = instantiate(EXCEPTIONS, inline);
        let r = wasic_tests::call(&mut store, &inst, "uncaught", &[]);
        assert_eq!(trap_of(r).0, Trap::UncaughtException, "inline={inline}");
        // Still usable after the exception left wasm.
        let r = wasic_tests::call(&mut store, &inst, "callee_catches", &[Val::I32(1)]).unwrap();
        assert_eq!(format!("{r:?}"), "[I32(41)]", "inline={inline}");
    }
}

const LEGACY_EXCEPTIONS: &str = r#"(module
    (tag $e (param i32))
    ;; 0. Small, may throw.
    (func $thrower (param i32) (result i32)
        (if (local.get 0) (then (throw $e (local.get 0))))
        (i32.const 0))
    ;; 1. Recursive; at the bottom calls $thrower (inlined here).
    (func $mid (param i32 i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then (call $thrower (local.get 1)))
            (else (call $mid (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))))
    ;; 2. $thrower inside a legacy try: not inlined.
    (func (export "direct") (param i32) (result i32)
        try (result i32)
            (call $thrower (local.get 0))
        catch $e
            (i32.add (i32.const 100))
        end)
    ;; 3. Thrown by the inlined $thrower in $mid's frame.
    (func (export "through_inlined") (param i32) (result i32)
        try (result i32)
            (call $mid (i32.const 2) (local.get 0))
        catch $e
            (i32.add (i32.const 200))
        end))"#;

#[test]
fn legacy_try_catches_an_exception_thrown_in_an_inlined_callee() {
    assert_eq!(
        calls_in_object(LEGACY_EXCEPTIONS, true),
        BTreeSet::from([(1, 1), (2, 0), (3, 1)])
    );
    same_results(LEGACY_EXCEPTIONS, "direct", &[Val::I32(5)], "[I32(105)]");
    same_results(LEGACY_EXCEPTIONS, "direct", &[Val::I32(0)], "[I32(0)]");
    same_results(
        LEGACY_EXCEPTIONS,
        "through_inlined",
        &[Val::I32(5)],
        "[I32(205)]",
    );
    same_results(
        LEGACY_EXCEPTIONS,
        "through_inlined",
        &[Val::I32(0)],
        "[I32(0)]",
    );
}

const TAIL_CALLS: &str = r#"(module
    ;; Self-recursive through tail calls: never inlined, runs in constant stack.
    (func $count (param i64 i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0))
            (then (local.get 1))
            (else (return_call $count (i64.sub (local.get 0) (i64.const 1))
                                      (i64.add (local.get 1) (i64.const 2))))))
    ;; Small, ends in a tail call: inlined, its tail call becoming a plain call.
    (func $double_count (param i64) (result i64)
        (return_call $count (local.get 0) (local.get 0)))
    (func $inc (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
    (func (export "callee_tail_calls") (param i64) (result i64)
        (i64.add (i64.const 1) (call $double_count (local.get 0))))
    ;; A tail call of a small function, inlined at the tail call.
    (func (export "tail_calls_callee") (param i64) (result i64)
        (return_call $inc (local.get 0)))
    (func (export "tail_call_in_try") (param i64) (result i64)
        (block $h
            (try_table (catch_all $h) (return (call $double_count (local.get 0)))))
        (i64.const -1)))"#;

#[test]
fn tail_calls_in_and_of_an_inlined_callee_are_the_same() {
    let calls = calls_in_object(TAIL_CALLS, true);
    assert_eq!(
        calls,
        BTreeSet::from([(0, 0), (1, 0), (3, 0), (5, 0)]),
        "only $count stays called"
    );
    same_results(
        TAIL_CALLS,
        "callee_tail_calls",
        &[Val::I64(1_000_000)],
        "[I64(3000001)]",
    );
    same_results(
        TAIL_CALLS,
        "tail_calls_callee",
        &[Val::I64(41)],
        "[I64(42)]",
    );
    same_results(TAIL_CALLS, "tail_call_in_try", &[Val::I64(10)], "[I64(30)]");
}

#[test]
fn a_function_called_from_many_sites_is_inlined_at_each() {
    let sites: String = (0..60)
        .map(|i| format!("(call $mix (local.get 0) (i32.const {i})) (i32.add)\n"))
        .collect();
    let text = format!(
        r#"(module
            (func $mix (param i32 i32) (result i32)
                (i32.xor (i32.mul (local.get 0) (i32.const 31)) (local.get 1)))
            (func (export "sum") (param i32) (result i32)
                (i32.const 0)
                {sites}))"#
    );
    assert!(calls_in_object(&text, true).is_empty());
    assert_eq!(calls_in_object(&text, false), BTreeSet::from([(1, 0)]));
    let expected: i32 = (0..60).fold(0i32, |acc, i| acc.wrapping_add((7 * 31) ^ i));
    same_results(&text, "sum", &[Val::I32(7)], &format!("[I32({expected})]"));
}

#[test]
fn candidates_are_inlined_bottom_up_through_a_chain() {
    // $c3 -> $c2 -> $c1 -> $c0: each level is inlined into the next, so the export calls
    // nothing.
    let text = r#"(module
        (func $c0 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        (func $c1 (param i32) (result i32) (i32.mul (call $c0 (local.get 0)) (i32.const 2)))
        (func $c2 (param i32) (result i32) (i32.mul (call $c1 (local.get 0)) (i32.const 3)))
        (func $c3 (param i32) (result i32) (i32.mul (call $c2 (local.get 0)) (i32.const 5)))
        (func (export "chain") (param i32) (result i32) (call $c3 (local.get 0))))"#;
    assert!(calls_in_object(text, true).is_empty());
    same_results(text, "chain", &[Val::I32(1)], "[I32(60)]");
}
