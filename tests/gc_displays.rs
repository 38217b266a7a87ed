//! The subtype display table (`runtime/src/types.rs`) is filled only once a type with
//! subtyping is registered: types registered before then get their displays at that moment.
//! A process of its own, so that the first module really registers its types before any
//! subtyping exists: a cast to a non-final type then reads the display of a function type
//! from the first module.

use wasic_runtime::{Instance, Store, Val};
use wasic_tests::{call, module};

#[test]
fn a_cast_reads_the_display_of_a_type_registered_before_any_subtyping() {
    let mut store = Store::default();
    let plain = module(
        r#"(module
            (type $odd (func (param f64 f32 i64 f64 i32) (result f32)))
            (func $f (type $odd) (f32.const 0))
            (elem declare func $f)
            (func (export "get") (result funcref) (ref.func $f)))"#,
    );
    let a = Instance::new(&mut store, &plain, &[]).unwrap();
    let f = call(&mut store, &a, "get", &[]).unwrap();
    let subtyped = module(
        r#"(module
            (type $base (sub (func (param f64 f32 i64 f64 i32) (result f32))))
            (type $derived (sub $base (func (param f64 f32 i64 f64 i32) (result f32))))
            (func (export "is_derived") (param funcref) (result i32)
                (ref.test (ref $derived) (local.get 0)))
            (func (export "is_base") (param funcref) (result i32)
                (ref.test (ref $base) (local.get 0))))"#,
    );
    let b = Instance::new(&mut store, &subtyped, &[]).unwrap();
    // `$odd` is final, so it is neither `$base` nor below it: the display says so.
    for name in ["is_derived", "is_base"] {
        let r = call(&mut store, &b, name, &f).unwrap();
        assert_eq!(r, vec![Val::I32(0)], "{name}");
    }
}
