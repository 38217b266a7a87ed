//! Bad input never panics: truncated, corrupted, invalid and unsupported modules each give a
//! typed error that names the problem and its byte offset.

use wasic_compiler::{compile, CompileError, CompileOptions};

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

fn err(wasm: &[u8]) -> CompileError {
    match compile(wasm, &CompileOptions::default()) {
        Ok(_) => panic!("module was accepted"),
        Err(e) => e,
    }
}

/// A module with some of everything, to truncate and corrupt.
fn sample() -> Vec<u8> {
    wat(r#"(module
        (type $t (func (param i32) (result i32)))
        (import "env" "f" (func $f (type $t)))
        (memory 1 2)
        (table 4 funcref)
        (global $g (mut i64) (i64.const 7))
        (func $add (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.add call $f)
        (func (type $t) local.get 0 i32.load offset=8 global.get $g i32.wrap_i64 i32.div_s)
        (elem (i32.const 0) $add)
        (data (i32.const 16) "hello"))"#)
}

#[test]
fn sample_compiles() {
    compile(&sample(), &CompileOptions::default()).unwrap();
}

#[test]
fn bad_modules_are_rejected_with_offsets() {
    let good = sample();
    let mut cases: Vec<(String, Vec<u8>, &str)> = vec![
        ("empty".into(), vec![], "unexpected end"),
        ("bad magic".into(), b"\0wsm\x01\0\0\0".to_vec(), "magic"),
        ("bad version".into(), b"\0asm\x02\0\0\0".to_vec(), "version"),
        (
            "unknown section".into(),
            b"\0asm\x01\0\0\0\x20\x00".to_vec(),
            "section",
        ),
        (
            "type mismatch".into(),
            wat("(module (func (result i32) i64.const 1))"),
            "type mismatch",
        ),
        (
            "unknown local".into(),
            wat("(module (func local.get 0 drop))"),
            "unknown local",
        ),
        (
            "unknown function".into(),
            wat("(module (func call 5))"),
            "unknown function",
        ),
        (
            "no memory".into(),
            wat("(module (func i32.const 0 i32.load drop))"),
            "unknown memory",
        ),
        (
            "no table".into(),
            wat("(module (func i32.const 0 call_indirect))"),
            "unknown table",
        ),
        (
            "immutable global".into(),
            wat("(module (global i32 (i32.const 0)) (func i32.const 1 global.set 0))"),
            "immutable",
        ),
        (
            "bad branch depth".into(),
            wat("(module (func br 3))"),
            "unknown label",
        ),
        (
            "duplicate export".into(),
            wat(r#"(module (func) (export "a" (func 0)) (export "a" (func 0)))"#),
            "duplicate export",
        ),
        (
            "bad start".into(),
            wat("(module (func (param i32)) (start 0))"),
            "start",
        ),
        (
            "memory too large".into(),
            wat("(module (memory 70000))"),
            "memory size",
        ),
    ];
    // Truncations at several points of a real module.
    for cut in [9, 12, 20, good.len() / 3, good.len() / 2, good.len() - 1] {
        cases.push((format!("truncated at {cut}"), good[..cut].to_vec(), ""));
    }
    // Corrupted single bytes: the section id of the first section, and an opcode in the code.
    let mut bad_section = good.clone();
    bad_section[8] = 0x7f;
    cases.push(("corrupt section id".into(), bad_section, "section"));
    let add_pos = good.windows(2).position(|w| w == [0x20, 0x01]).unwrap() + 2;
    let mut bad_opcode = good.clone();
    bad_opcode[add_pos] = 0xff; // i32.add -> unknown opcode
    cases.push(("corrupt opcode".into(), bad_opcode, ""));
    // Wrongly typed (relaxed) SIMD operands.
    cases.push((
        "relaxed simd operands".into(),
        wat("(module (func (param v128) (result v128) local.get 0 i8x16.relaxed_swizzle))"),
        "type mismatch",
    ));
    cases.push((
        "simd type mismatch".into(),
        wat("(module (func (param v128) (result i32) local.get 0 i64.extend_i32_s))"),
        "type mismatch",
    ));
    cases.push((
        "simd lane index".into(),
        wat("(module (func (param v128) (result i32) local.get 0 i32x4.extract_lane 4))"),
        "index out of bounds",
    ));
    // WebAssembly 3.0 proposals wasic does not implement are rejected by validation, with an
    // error naming the proposal.
    cases.push((
        "custom page sizes".into(),
        wat("(module (memory 1 (pagesize 1)))"),
        "page size",
    ));
    cases.push((
        "wide arithmetic".into(),
        wat("(module (func (param i64 i64 i64 i64) (result i64 i64)
            local.get 0 local.get 1 local.get 2 local.get 3 i64.add128))"),
        "wide arithmetic",
    ));

    assert!(cases.len() >= 20);
    let mut seen = std::collections::HashSet::new();
    for (name, wasm, expect) in &cases {
        assert!(seen.insert(wasm.clone()), "{name}: duplicate case");
        let e = err(wasm);
        let text = e.to_string();
        println!("{name}: {text}");
        let offset = e
            .offset()
            .unwrap_or_else(|| panic!("{name}: no offset in {text}"));
        assert!(offset <= wasm.len(), "{name}: offset {offset} beyond input");
        assert!(
            text.contains(&format!("offset {offset:#x}")),
            "{name}: {text}"
        );
        assert!(
            text.to_lowercase().contains(&expect.to_lowercase()),
            "{name}: expected {expect:?} in {text}"
        );
        assert!(matches!(e, CompileError::Invalid { .. }), "{name}: {text}");
    }
}

/// What needs a garbage collector is valid WebAssembly 3.0 that wasic does not compile yet:
/// each is refused as unsupported, naming what and where.
#[test]
fn garbage_collection_compiles_by_default_and_is_invalid_under_strict_2_0() {
    let cases = [
        "(module (type (struct)))",
        "(module (type (array i8)))",
        "(module (func (param anyref)))",
        "(module (func (result i31ref) unreachable))",
        "(module (type $a (sub (func))) (type (sub $a (func))))",
        "(module (rec (type $a (func (param (ref $b)))) (type $b (struct))))",
    ];
    let strict = CompileOptions {
        features: wasic_compiler::Features::Wasm2,
        ..Default::default()
    };
    for text in cases {
        let wasm = wat(text);
        compile(&wasm, &CompileOptions::default()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let e = match compile(&wasm, &strict) {
            Ok(_) => panic!("{text}: accepted under the strict 2.0 feature set"),
            Err(e) => e,
        };
        let msg = e.to_string();
        assert!(matches!(e, CompileError::Invalid { .. }), "{text}: {msg}");
        let offset = e
            .offset()
            .unwrap_or_else(|| panic!("{text}: no offset in {msg}"));
        assert!(offset <= wasm.len(), "{text}: offset {offset} beyond input");
    }
}

#[test]
fn shared_gc_types_beyond_3_0_are_refused_naming_the_proposal() {
    // Binary of `(module (type (shared (struct))))`: 0x65 marks a shared composite type
    // (shared-everything threads proposal), which stays disabled.
    let wasm = b"\0asm\x01\0\0\0\x01\x04\x01\x65\x5f\x00";
    let e = err(wasm);
    let msg = e.to_string();
    assert!(msg.contains("shared"), "{msg}");
    assert!(e.offset().is_some(), "{msg}");
}

#[test]
fn typed_function_references_compile() {
    let wasm = wat(r#"(module
        (type $t (func (param i32) (result i32)))
        (func $f (type $t) (local.get 0))
        (elem declare func $f)
        (func (export "run") (param (ref null $t)) (result i32)
            (local $l (ref $t))
            (local.set $l (ref.func $f))
            (block $null (br_on_null $null (local.get 0)) (drop))
            (call_ref $t (i32.const 1) (local.get $l))))"#);
    compile(&wasm, &CompileOptions::default()).unwrap();
}

#[test]
fn every_prefix_of_a_module_is_handled_without_panic() {
    let good = sample();
    // A prefix ending at a section boundary is itself a valid module; all others must fail.
    let mut rejected = 0;
    for cut in 0..good.len() {
        if compile(&good[..cut], &CompileOptions::default()).is_err() {
            rejected += 1;
        } else {
            assert!(cut >= 8, "prefix {cut} accepted");
        }
    }
    assert!(rejected > good.len() * 3 / 4);
    // Flip every byte: must never panic (it may still be valid).
    for i in 0..good.len() {
        let mut m = good.clone();
        m[i] ^= 0xa5;
        let _ = compile(&m, &CompileOptions::default());
    }
}
