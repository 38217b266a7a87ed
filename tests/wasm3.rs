//! End-to-end tests of the WebAssembly 3.0 features wasic implements, for what the proposals'
//! spec suites do not pin down: tail calls run in constant stack space (a million calls deep,
//! directly, indirectly, with stack-passed arguments, into imports); several memories stay
//! distinct and reachable from the host, and 64-bit memories go beyond 4 GiB with their accesses
//! checked explicitly; relaxed SIMD gives its documented results whatever the target CPU.

use wasic_abi::{FuncType, ValRaw, ValType};
use wasic_runtime::{Error, Extern, Func, Instance, Linker, Module, Store, Trap, Val};

use wasic_tests::{call, module};

const DEPTH: i64 = 1_000_000;

/// A mutually tail-recursive pair (`even`/`odd`) reached by `return_call`, by
/// `return_call_indirect`, and the same pair with ordinary calls (which must run out of stack).
const MUTUAL: &str = r#"(module
    (type $p (func (param i64) (result i32)))
    (table funcref (elem $even_i $odd_i))
    (func $even (export "even") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 1))
            (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
    (func $odd (export "odd") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 0))
            (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
    (func $even_i (export "even_indirect") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 1))
            (else (return_call_indirect (type $p)
                (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))
    (func $odd_i (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 0))
            (else (return_call_indirect (type $p)
                (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
    (func $even_c (export "even_call") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 1))
            (else (call $odd_c (i64.sub (local.get 0) (i64.const 1))))))
    (func $odd_c (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0))
            (then (i32.const 0))
            (else (call $even_c (i64.sub (local.get 0) (i64.const 1)))))))"#;

#[test]
fn mutual_tail_recursion_runs_a_million_calls_deep_in_constant_stack() {
    let m = module(MUTUAL);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    for (name, n, expect) in [
        ("even", DEPTH, 1),
        ("even", DEPTH + 1, 0),
        ("odd", DEPTH + 1, 1),
        ("even_indirect", DEPTH, 1),
        ("even_indirect", DEPTH + 1, 0),
    ] {
        assert_eq!(
            call(&mut store, &inst, name, &[Val::I64(n)]).unwrap(),
            vec![Val::I32(expect)],
            "{name}({n})"
        );
    }
    // The same recursion with ordinary calls exhausts the (1 MiB) wasm stack: the tail calls
    // above really did not grow it.
    match call(&mut store, &inst, "even_call", &[Val::I64(DEPTH)]) {
        Err(Error::Trap(t)) => assert_eq!(t.trap, Trap::StackOverflow),
        other => panic!("expected stack exhaustion, got {other:?}"),
    }
    assert_eq!(
        call(&mut store, &inst, "even_call", &[Val::I64(100)]).unwrap(),
        vec![Val::I32(1)]
    );
}

#[test]
fn tail_calls_with_stack_arguments_and_many_results_stay_in_constant_stack() {
    // 12 parameters (more than the argument registers) and 5 results (more than the return
    // registers: returned through the implicit return area); the callees' argument counts
    // differ from the caller's, so the frame size changes on each tail call.
    let m = module(
        r#"(module
        (func $a (export "a") (param $n i64) (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 v128)
            (result i64 i64 i64 i64 v128)
            (if (i64.eqz (local.get $n))
                (then (return (local.get 1) (local.get 10) (i64.add (local.get 2) (local.get 9))
                    (local.get 5) (local.get 11))))
            (return_call $b (i64.sub (local.get $n) (i64.const 1))
                (i64.add (local.get 1) (i64.const 1)) (local.get 2) (local.get 3)
                (local.get 11)))
        (func $b (param $n i64) (param i64 i64 i64 v128) (result i64 i64 i64 i64 v128)
            (return_call $a (local.get $n) (local.get 1) (local.get 2) (local.get 3)
                (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8)
                (i64.const 9) (i64.const 10) (local.get 4))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let mut args = vec![Val::I64(DEPTH)];
    args.extend((1..=10).map(Val::I64));
    args.push(Val::V128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210));
    assert_eq!(
        call(&mut store, &inst, "a", &args).unwrap(),
        vec![
            Val::I64(1 + DEPTH),
            Val::I64(10),
            Val::I64(2 + 9),
            Val::I64(5),
            Val::V128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        ]
    );
}

#[test]
fn tail_calls_into_imported_wasm_and_host_functions() {
    let callee = module(
        r#"(module
        (func $down (export "down") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
                (then (i64.const 7))
                (else (return_call $down (i64.sub (local.get 0) (i64.const 1)))))))"#,
    );
    let caller = module(
        r#"(module
        (import "m" "down" (func $down (param i64) (result i64)))
        (import "host" "triple" (func $triple (param i64) (result i64)))
        (func $loop (export "loop") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
                (then (return_call $down (i64.const 1000)))
                (else (return_call $loop (i64.sub (local.get 0) (i64.const 1))))))
        (func (export "triple") (param i64) (result i64)
            (return_call $triple (local.get 0))))"#,
    );
    let mut store = Store::default();
    let m = Instance::new(&mut store, &callee, &[]).unwrap();
    let triple = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I64],
            results: vec![ValType::I64],
        },
        |_, values: &mut [ValRaw]| {
            values[0] = ValRaw::from_i64(values[0].as_i64() * 3);
            Ok(())
        },
    );
    let mut linker = Linker::new();
    linker.define_instance("m", &m);
    linker.define("host", "triple", Extern::Func(triple));
    let inst = linker.instantiate(&mut store, &caller).unwrap();
    assert_eq!(
        call(&mut store, &inst, "loop", &[Val::I64(DEPTH)]).unwrap(),
        vec![Val::I64(7)]
    );
    assert_eq!(
        call(&mut store, &inst, "triple", &[Val::I64(14)]).unwrap(),
        vec![Val::I64(42)]
    );
}

#[test]
fn several_memories_are_distinct_and_exported() {
    let m = module(
        r#"(module
        (memory $a (export "a") 1)
        (memory $b (export "b") 2 3)
        (data (memory $b) (i32.const 70000) "\2a")
        (func (export "copy") (param i32 i32)
            (i32.store8 $a (local.get 0) (i32.load8_u $b (local.get 1))))
        (func (export "grow_b") (result i32) (memory.grow $b (i32.const 1)))
        (func (export "size_b") (result i32) (memory.size $b))
        (func (export "load_b") (param i32) (result i32) (i32.load8_u $b (local.get 0))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    call(&mut store, &inst, "copy", &[Val::I32(5), Val::I32(70000)]).unwrap();
    let a = inst.get_memory("a").unwrap();
    let b = inst.get_memory("b").unwrap();
    assert_eq!(a.data(&store)[5], 42);
    assert_eq!(b.data(&store)[70000], 42);
    assert_eq!(b.data(&store)[5], 0);
    assert_eq!(a.pages(&store), 1);
    assert_eq!(
        call(&mut store, &inst, "grow_b", &[]).unwrap(),
        vec![Val::I32(2)]
    );
    assert_eq!(
        call(&mut store, &inst, "size_b", &[]).unwrap(),
        vec![Val::I32(3)]
    );
    assert_eq!(
        call(&mut store, &inst, "grow_b", &[]).unwrap(),
        vec![Val::I32(-1)]
    );
    // Memory 1 is bounds-checked by its own size (3 pages), not memory 0's.
    assert_eq!(
        call(&mut store, &inst, "load_b", &[Val::I32(3 * 65536 - 1)]).unwrap(),
        vec![Val::I32(0)]
    );
    match call(&mut store, &inst, "load_b", &[Val::I32(3 * 65536)]) {
        Err(Error::Trap(t)) => assert_eq!(t.trap, Trap::MemoryOutOfBounds),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn memory64_reaches_beyond_4_gib_and_checks_bounds_explicitly() {
    let m = module(
        r#"(module
        (memory $m (export "m") i64 1)
        (memory $s 1)
        (data (memory $m) (i64.const 65530) "\01\02\03\04\05\06")
        (func (export "grow") (param i64) (result i64) (memory.grow $m (local.get 0)))
        (func (export "size") (result i64) (memory.size $m))
        (func (export "store") (param i64 i64) (i64.store $m (local.get 0) (local.get 1)))
        (func (export "load") (param i64) (result i64) (i64.load $m (local.get 0)))
        (func (export "load_off") (param i64) (result i32)
            (i32.load8_u $m offset=0xffff_ffff_ffff_fff0 (local.get 0)))
        (func (export "copy_to_32") (param i64 i32 i32)
            ;; 64-bit source, 32-bit destination: the length is an i32.
            (memory.copy $s $m (local.get 1) (local.get 0) (local.get 2)))
        (func (export "load32") (param i32) (result i32) (i32.load8_u $s (local.get 0))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let trap = |r: Result<Vec<Val>, Error>| match r {
        Err(Error::Trap(t)) => assert_eq!(t.trap, Trap::MemoryOutOfBounds),
        other => panic!("expected an out-of-bounds trap, got {other:?}"),
    };
    // The data segment (i64 offset) landed; an 8-byte load ending exactly at the end works,
    // one byte further traps.
    assert_eq!(
        call(&mut store, &inst, "load", &[Val::I64(65528)]).unwrap(),
        vec![Val::I64(0x0605_0403_0201_0000)]
    );
    trap(call(&mut store, &inst, "load", &[Val::I64(65529)]));
    trap(call(&mut store, &inst, "load", &[Val::I64(-1)]));
    trap(call(&mut store, &inst, "load", &[Val::I64(i64::MAX)]));
    // index + offset overflows u64: a trap, not a wrapped address.
    trap(call(&mut store, &inst, "load_off", &[Val::I64(0x20)]));
    trap(call(&mut store, &inst, "load_off", &[Val::I64(0)]));

    // Grow past 4 GiB (65537 pages) and use an address above 2^32.
    assert_eq!(
        call(&mut store, &inst, "grow", &[Val::I64(65536)]).unwrap(),
        vec![Val::I64(1)]
    );
    assert_eq!(
        call(&mut store, &inst, "size", &[]).unwrap(),
        vec![Val::I64(65537)]
    );
    let high = (1i64 << 32) + 8;
    call(&mut store, &inst, "store", &[Val::I64(high), Val::I64(-42)]).unwrap();
    assert_eq!(
        call(&mut store, &inst, "load", &[Val::I64(high)]).unwrap(),
        vec![Val::I64(-42)]
    );
    // The 32-bit alias of that address is another byte.
    assert_eq!(
        call(&mut store, &inst, "load", &[Val::I64(8)]).unwrap(),
        vec![Val::I64(0)]
    );
    let mem = inst.get_memory("m").unwrap();
    assert_eq!(mem.pages(&store), 65537);
    assert!(mem.ty(&store).memory64);
    trap(call(
        &mut store,
        &inst,
        "load",
        &[Val::I64(65537 * 65536 - 7)],
    ));
    // Growing beyond what wasic reserves fails with -1 and leaves the memory alone.
    assert_eq!(
        call(&mut store, &inst, "grow", &[Val::I64(1 << 40)]).unwrap(),
        vec![Val::I64(-1)]
    );
    assert_eq!(
        call(&mut store, &inst, "size", &[]).unwrap(),
        vec![Val::I64(65537)]
    );

    call(
        &mut store,
        &inst,
        "copy_to_32",
        &[Val::I64(65530), Val::I32(100), Val::I32(6)],
    )
    .unwrap();
    assert_eq!(
        call(&mut store, &inst, "load32", &[Val::I32(105)]).unwrap(),
        vec![Val::I32(6)]
    );
    trap(call(
        &mut store,
        &inst,
        "copy_to_32",
        &[Val::I64(-1), Val::I32(0), Val::I32(2)],
    ));
}

/// The relaxed SIMD operators and inputs where implementations may differ, with the result
/// wasic documents (`compiler/src/translate/simd.rs`, "Relaxed SIMD").
const RELAXED: &str = r#"(module
    (func (export "swizzle") (param v128 v128) (result v128)
        (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
    (func (export "trunc_f32_s") (param v128) (result v128)
        (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
    (func (export "trunc_f32_u") (param v128) (result v128)
        (i32x4.relaxed_trunc_f32x4_u (local.get 0)))
    (func (export "trunc_f64_s") (param v128) (result v128)
        (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0)))
    (func (export "trunc_f64_u") (param v128) (result v128)
        (i32x4.relaxed_trunc_f64x2_u_zero (local.get 0)))
    (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
    (func (export "nmadd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
    (func (export "laneselect") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
    (func (export "min") (param v128 v128) (result v128)
        (f32x4.relaxed_min (local.get 0) (local.get 1)))
    (func (export "max") (param v128 v128) (result v128)
        (f64x2.relaxed_max (local.get 0) (local.get 1)))
    (func (export "q15") (param v128 v128) (result v128)
        (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
    (func (export "dot") (param v128 v128) (result v128)
        (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
    (func (export "dot_add") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))"#;

fn v128_f32(l: [f32; 4]) -> Val {
    Val::V128(
        l.iter()
            .enumerate()
            .map(|(i, f)| u128::from(f.to_bits()) << (32 * i))
            .sum(),
    )
}
fn v128_i32(l: [i32; 4]) -> Val {
    Val::V128(
        l.iter()
            .enumerate()
            .map(|(i, x)| u128::from(*x as u32) << (32 * i))
            .sum(),
    )
}
fn v128_f64(l: [f64; 2]) -> Val {
    Val::V128(u128::from(l[0].to_bits()) | u128::from(l[1].to_bits()) << 64)
}
fn v128_i16(l: [i16; 8]) -> Val {
    Val::V128(
        l.iter()
            .enumerate()
            .map(|(i, x)| u128::from(*x as u16) << (16 * i))
            .sum(),
    )
}
fn v128_i8(l: [i8; 16]) -> Val {
    Val::V128(
        l.iter()
            .enumerate()
            .map(|(i, x)| u128::from(*x as u8) << (8 * i))
            .sum(),
    )
}

#[test]
fn relaxed_simd_gives_the_documented_deterministic_results_on_every_target_cpu() {
    let wasm = wat::parse_str(RELAXED).unwrap();
    let nan = f32::from_bits(0x7fc0_0000);
    // (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 when fused, 0 with the product rounded first.
    let a = f32::from_bits(0x3f80_0800);
    let c = f32::from_bits(0xbf80_1000);
    let cases: Vec<(&str, Vec<Val>, Val)> = vec![
        (
            "swizzle",
            vec![
                v128_i8([
                    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                ]),
                v128_i8([0, 15, 16, 31, 127, -128, -1, 1, 0, 0, 0, 0, 0, 0, 0, 2]),
            ],
            v128_i8([10, 25, 0, 0, 0, 0, 0, 11, 10, 10, 10, 10, 10, 10, 10, 12]),
        ),
        (
            "trunc_f32_s",
            vec![v128_f32([nan, 3e9, -3e9, -1.9])],
            v128_i32([0, i32::MAX, i32::MIN, -1]),
        ),
        (
            "trunc_f32_u",
            vec![v128_f32([nan, 5e9, -3.0, 3e9])],
            v128_i32([0, -1, 0, 3_000_000_000u32 as i32]),
        ),
        (
            "trunc_f64_s",
            vec![v128_f64([f64::NAN, -1e10])],
            v128_i32([0, i32::MIN, 0, 0]),
        ),
        (
            "trunc_f64_u",
            vec![v128_f64([1e10, -2.5])],
            v128_i32([-1, 0, 0, 0]),
        ),
        (
            "madd",
            vec![
                v128_f32([a, 2.0, 1.5, 0.0]),
                v128_f32([a, 3.0, 2.0, 0.0]),
                v128_f32([c, 1.0, -3.0, -0.0]),
            ],
            v128_f32([0.0, 7.0, 0.0, 0.0]),
        ),
        (
            "nmadd",
            vec![
                v128_f32([a, 2.0, 1.5, 1.0]),
                v128_f32([a, 3.0, 2.0, 1.0]),
                v128_f32([-c, 1.0, 3.0, 1.0]),
            ],
            v128_f32([0.0, -5.0, 0.0, 0.0]),
        ),
        (
            "laneselect",
            vec![
                v128_i32([-1, -1, -1, -1]),
                v128_i32([0, 0, 0, 0]),
                v128_i32([0x0f0f_0f0f, -1, 0, 1]),
            ],
            v128_i32([0x0f0f_0f0f, -1, 0, 1]),
        ),
        (
            "min",
            vec![
                v128_f32([nan, 1.0, 0.0, -0.0]),
                v128_f32([1.0, nan, -0.0, 0.0]),
            ],
            v128_f32([nan, nan, -0.0, -0.0]),
        ),
        (
            "max",
            vec![v128_f64([0.0, -0.0]), v128_f64([-0.0, 0.0])],
            v128_f64([0.0, 0.0]),
        ),
        (
            "q15",
            vec![
                v128_i16([i16::MIN, i16::MIN, 16384, 0, 0, 0, 0, 0]),
                v128_i16([i16::MIN, i16::MAX, 16384, 0, 0, 0, 0, 0]),
            ],
            v128_i16([i16::MAX, -32767, 8192, 0, 0, 0, 0, 0]),
        ),
        (
            "dot",
            vec![
                v128_i8([
                    -128, -128, 127, 127, -128, -128, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0,
                ]),
                v128_i8([
                    -127, -127, 127, 127, -128, -128, 3, -4, 0, 0, 0, 0, 0, 0, 0, 0,
                ]),
            ],
            // Signed x signed; -128 * -128 * 2 = 32768 wraps to -32768.
            v128_i16([32512, 32258, -32768, -5, 0, 0, 0, 0]),
        ),
        (
            "dot_add",
            vec![
                v128_i8([-128, -128, -128, -128, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]),
                v128_i8([
                    -127, -127, -127, -127, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0,
                ]),
                v128_i32([1, 2, 3, 4]),
            ],
            v128_i32([65025, -8, 3, 4]),
        ),
    ];
    let mut cpus = vec![wasic_compiler::TargetCpu::X86_64V2];
    let host_has_v3 = std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt");
    if host_has_v3 {
        cpus.push(wasic_compiler::TargetCpu::X86_64V3);
    }
    // Results of each CPU level, which must agree bit for bit.
    let mut per_cpu: Vec<Vec<u128>> = Vec::new();
    for cpu in &cpus {
        let opts = wasic_compiler::CompileOptions {
            target_cpu: *cpu,
            ..Default::default()
        };
        let object = wasic_compiler::compile(&wasm, &opts).unwrap();
        // SAFETY: `object` was just produced by `wasic_compiler::compile`.
        let m = unsafe { Module::from_object(&object) }.unwrap();
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &m, &[]).unwrap();
        let mut results = Vec::new();
        for (name, args, expect) in &cases {
            let got = match call(&mut store, &inst, name, args).unwrap()[..] {
                [Val::V128(x)] => x,
                ref other => panic!("{name}: {other:?}"),
            };
            let Val::V128(want) = *expect else {
                unreachable!()
            };
            // NaN lanes (only in `min`): any NaN; wasm leaves the sign of a NaN open.
            let sign_mask = if *name == "min" {
                !(1u128 << 31 | 1u128 << 63)
            } else {
                !0
            };
            assert_eq!(
                format!("{:#034x}", got & sign_mask),
                format!("{:#034x}", want & sign_mask),
                "{name} compiled for {cpu:?}"
            );
            results.push(got);
        }
        per_cpu.push(results);
    }
    for r in &per_cpu[1..] {
        assert_eq!(r, &per_cpu[0], "results differ between {cpus:?}");
    }
}
