//! Handles used with the wrong store: every handle of the runtime's API (`Func`, host `Func`,
//! `Memory`, `Table`, `Global`, `Tag`, `ExnRef`, `Instance`, `Extern`), used with another live
//! store or after its own store was dropped, is refused (a usage or link error where the
//! method returns a `Result`, a panic naming the handle otherwise), never a read of freed or
//! foreign memory. Also the raw forms of references (host function parameters and results,
//! `call_raw`), which must be references of the store they enter.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use wasic_abi::{FuncType, GlobalType, MemoryType, RefType, TableType, ValRaw, ValType};
use wasic_runtime::{
    Error, ExnRef, Extern, Func, Global, Instance, Linker, Memory, Module, Store, Table, Tag, Val,
};

use wasic_tests::module;

/// What every refusal says.
const WRONG_STORE: &str = "used with a store it does not belong to";

/// Exports one item of every kind, and functions taking and making references.
const ITEMS: &str = r#"(module
    (memory (export "mem") 1)
    (table (export "tab") 2 funcref)
    (global (export "g") (mut i32) (i32.const 7))
    (tag $e (export "e") (param i32))
    (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (elem (i32.const 0) $inc)
    (func (export "is_null_func") (param funcref) (result i32) (ref.is_null (local.get 0)))
    (func (export "call_func") (param funcref) (result i32)
        (table.set (i32.const 1) (local.get 0))
        (call_indirect (param i32) (result i32) (i32.const 41) (i32.const 1)))
    (func (export "throw_given") (param exnref) (throw_ref (local.get 0)))
    (func (export "make_exn") (param i32) (result exnref)
        (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $e (local.get 0)))
            (unreachable))))"#;

/// Imports one item of every kind.
const IMPORTS: &str = r#"(module
    (import "p" "inc" (func (param i32) (result i32)))
    (import "p" "mem" (memory 1))
    (import "p" "tab" (table 2 funcref))
    (import "p" "g" (global (mut i32)))
    (import "p" "e" (tag (param i32))))"#;

/// A store with an instance of [`ITEMS`], and accessors for the instance's handles. The
/// store is owned here so that each test decides when it is dropped.
struct Items {
    store: Store,
    inst: Instance,
}

impl Items {
    fn new() -> Items {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &module(ITEMS), &[]).unwrap();
        Items { store, inst }
    }
    fn func(&self, name: &str) -> Func {
        self.inst.get_func(name).unwrap()
    }
    fn memory(&self) -> Memory {
        self.inst.get_memory("mem").unwrap()
    }
    fn table(&self) -> Table {
        match self.inst.get_export("tab") {
            Some(Extern::Table(t)) => t,
            other => panic!("tab: {other:?}"),
        }
    }
    fn global(&self) -> Global {
        self.inst.get_global("g").unwrap()
    }
    fn tag(&self) -> Tag {
        match self.inst.get_export("e") {
            Some(Extern::Tag(t)) => t,
            other => panic!("e: {other:?}"),
        }
    }
    fn exn(&mut self) -> ExnRef {
        let f = self.func("make_exn");
        match f.call(&mut self.store, &[Val::I32(5)]).unwrap()[..] {
            [Val::ExnRef(Some(e))] => e,
            ref other => panic!("make_exn: {other:?}"),
        }
    }
}

/// The message of the panic `f` raises (fails the test if it returns).
fn panic_of<R: std::fmt::Debug>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => panic!("expected a panic, got {r:?}"),
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    }
}

/// Asserts that `f` panics with the wrong-store message naming `what`.
fn assert_refused_panic<R: std::fmt::Debug>(what: &str, f: impl FnOnce() -> R) {
    let m = panic_of(f);
    assert!(
        m.contains(WRONG_STORE) && m.contains(what),
        "panic message: {m}"
    );
}

/// Asserts that `r` is the wrong-store usage error naming `what`.
fn assert_refused<T: std::fmt::Debug>(what: &str, r: Result<T, Error>) {
    match r {
        Err(Error::Usage(m)) if m.contains(WRONG_STORE) && m.contains(what) => {}
        other => panic!("expected a wrong-store error about {what}, got {other:?}"),
    }
}

/// Asserts that instantiating `user` (importing `ext` as `p`.`name`, the rest from `good`) in
/// `store` is a link error naming the import.
fn assert_import_refused(store: &mut Store, good: &Instance, name: &str, ext: Extern) {
    let mut linker = Linker::new();
    linker.define_instance("p", good);
    linker.define("p", name, ext);
    match linker.instantiate(store, &module(IMPORTS)) {
        Err(Error::Link(m)) if m.contains("another store") && m.contains(name) => {}
        other => panic!("importing {name} from another store: {other:?}"),
    }
}

/// The raw word of a funcref.
fn raw(f: Func) -> usize {
    Val::FuncRef(Some(f)).to_raw().as_usize()
}

/// Handles whose store was dropped, and a new store to misuse them with. The new store is
/// made after the drop, so it may reuse the old one's memory: only ids tell them apart.
fn orphaned<H>(take: impl FnOnce(&mut Items) -> H) -> (H, Store) {
    let mut items = Items::new();
    let h = take(&mut items);
    drop(items);
    (h, Store::default())
}

#[test]
fn func_of_a_dropped_store_is_refused() {
    let (f, mut store) = orphaned(|i| i.func("inc"));
    assert_refused("a Func", f.call(&mut store, &[Val::I32(1)]));
    assert_refused("a Func", f.call_raw(&mut store, &mut [ValRaw::from_i32(1)]));
    // The type is kept in the handle: asking for it reads nothing of the store.
    assert_eq!(f.ty().params, vec![ValType::I32]);
}

#[test]
fn func_of_another_store_is_refused() {
    let a = Items::new();
    let mut b = Items::new();
    let f = a.func("inc");
    assert_refused("a Func", f.call(&mut b.store, &[Val::I32(1)]));
    assert_refused(
        "a Func",
        f.call_raw(&mut b.store, &mut [ValRaw::from_i32(1)]),
    );
    // As an argument or element, it may not enter the other store either.
    let call_func = b.func("call_func");
    assert_refused(
        "a Func",
        call_func.call(&mut b.store, &[Val::FuncRef(Some(f))]),
    );
    assert_refused(
        "a Func",
        b.table().set(&mut b.store, 1, Val::FuncRef(Some(f))),
    );
    let ty = TableType {
        elem: RefType::FUNCREF,
        min: 1,
        max: None,
        table64: false,
    };
    assert_refused(
        "a Func",
        Table::new(&mut b.store, ty, Val::FuncRef(Some(f))),
    );
    let gty = GlobalType {
        ty: ValType::FUNCREF,
        mutable: true,
    };
    assert_refused(
        "a Func",
        Global::new(&mut b.store, gty, Val::FuncRef(Some(f))),
    );
    // Its own store's function, passed the same way, works.
    let own = b.func("inc");
    assert_eq!(
        call_func
            .call(&mut b.store, &[Val::FuncRef(Some(own))])
            .unwrap(),
        vec![Val::I32(42)]
    );
}

/// A host function counting its calls.
fn counting_host(store: &mut Store) -> (Func, Rc<Cell<u32>>) {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let ty = FuncType {
        params: vec![],
        results: vec![ValType::I32],
    };
    let f = Func::new_host(store, ty, move |_, values| {
        c.set(c.get() + 1);
        values[0] = ValRaw::from_i32(3);
        Ok(())
    });
    (f, calls)
}

#[test]
fn host_func_of_a_dropped_store_is_refused_without_running() {
    let mut store = Store::default();
    let (f, calls) = counting_host(&mut store);
    assert_eq!(f.call(&mut store, &[]).unwrap(), vec![Val::I32(3)]);
    drop(store);
    let mut other = Store::default();
    assert_refused("a Func", f.call(&mut other, &[]));
    assert_eq!(calls.get(), 1);
}

#[test]
fn host_func_of_another_store_is_refused_without_running() {
    let mut a = Store::default();
    let mut b = Store::default();
    let (f, calls) = counting_host(&mut a);
    assert_refused("a Func", f.call(&mut b, &[]));
    assert_refused("a Func", f.call_raw(&mut b, &mut [ValRaw::default()]));
    assert_eq!(calls.get(), 0);
}

/// Every method of a memory handle refuses `store`.
fn assert_memory_refused(m: Memory, store: &mut Store) {
    assert_refused_panic("a Memory", || m.data(store).len());
    assert_refused_panic("a Memory", || m.data_mut(store).len());
    assert_refused_panic("a Memory", || m.pages(store));
    assert_refused_panic("a Memory", || m.grow(store, 1));
    assert_refused_panic("a Memory", || m.ty(store));
}

#[test]
fn memory_of_a_dropped_store_is_refused() {
    let (m, mut store) = orphaned(|i| i.memory());
    assert_memory_refused(m, &mut store);
    let mut own = Store::default();
    let ty = MemoryType {
        min: 1,
        max: None,
        memory64: false,
        shared: false,
    };
    let made = Memory::new(&mut own, ty).unwrap();
    drop(own);
    assert_memory_refused(made, &mut store);
}

#[test]
fn memory_of_another_store_is_refused() {
    let mut a = Items::new();
    let mut b = Items::new();
    a.memory().data_mut(&mut a.store)[0] = 9;
    assert_memory_refused(a.memory(), &mut b.store);
    assert_import_refused(&mut b.store, &b.inst, "mem", Extern::Memory(a.memory()));
    assert_eq!(a.memory().data(&a.store)[0], 9);
    assert_eq!(b.memory().data(&b.store)[0], 0);
}

fn assert_table_refused(t: Table, store: &mut Store) {
    assert_refused_panic("a Table", || t.get(store, 0));
    assert_refused_panic("a Table", || t.size(store));
    assert_refused_panic("a Table", || t.ty(store));
    assert_refused("a Table", t.set(store, 0, Val::FuncRef(None)));
}

#[test]
fn table_of_a_dropped_store_is_refused() {
    let (t, mut store) = orphaned(|i| i.table());
    assert_table_refused(t, &mut store);
}

#[test]
fn table_of_another_store_is_refused() {
    let a = Items::new();
    let mut b = Items::new();
    assert_table_refused(a.table(), &mut b.store);
    assert_import_refused(&mut b.store, &b.inst, "tab", Extern::Table(a.table()));
}

#[test]
fn table_set_refuses_a_value_of_another_reference_type() {
    let mut a = Items::new();
    let t = a.table();
    match t.set(&mut a.store, 1, Val::ExternRef(Some(0x1000))) {
        Err(Error::Usage(m)) => assert!(m.contains("(ref extern)") && m.contains("funcref"), "{m}"),
        other => panic!("externref into a funcref table: {other:?}"),
    }
    assert_eq!(t.get(&a.store, 1), Some(Val::FuncRef(None)));
}

fn assert_global_refused(g: Global, store: &mut Store) {
    assert_refused_panic("a Global", || g.get(store));
    assert_refused_panic("a Global", || g.ty(store));
    assert_refused("a Global", g.set(store, Val::I32(1)));
}

#[test]
fn global_of_a_dropped_store_is_refused() {
    let (g, mut store) = orphaned(|i| i.global());
    assert_global_refused(g, &mut store);
}

#[test]
fn global_of_another_store_is_refused() {
    let a = Items::new();
    let mut b = Items::new();
    assert_global_refused(a.global(), &mut b.store);
    assert_import_refused(&mut b.store, &b.inst, "g", Extern::Global(a.global()));
    assert_eq!(a.global().get(&a.store), Val::I32(7));
}

#[test]
fn tag_of_a_dropped_store_is_refused() {
    let (tag, mut store) = orphaned(|i| i.tag());
    assert_refused("a Tag", ExnRef::new(&mut store, tag, &[Val::I32(1)]));
    // The type is kept in the handle.
    assert_eq!(tag.ty().params, vec![ValType::I32]);
}

#[test]
fn tag_of_another_store_is_refused() {
    let a = Items::new();
    let mut b = Items::new();
    assert_refused("a Tag", ExnRef::new(&mut b.store, a.tag(), &[Val::I32(1)]));
    assert_import_refused(&mut b.store, &b.inst, "e", Extern::Tag(a.tag()));
    let made = Tag::new(
        &mut Store::default(),
        FuncType {
            params: vec![],
            results: vec![],
        },
    )
    .unwrap();
    assert_refused("a Tag", ExnRef::new(&mut b.store, made, &[]));
}

fn assert_exn_refused(e: ExnRef, store: &mut Store) {
    assert_refused_panic("an ExnRef", || e.tag(store));
    assert_refused_panic("an ExnRef", || e.payload(store));
}

#[test]
fn exnref_of_a_dropped_store_is_refused() {
    let (e, mut store) = orphaned(|i| i.exn());
    assert_exn_refused(e, &mut store);
    let mut b = Items::new();
    let throw = b.func("throw_given");
    assert_refused(
        "an ExnRef",
        throw.call(&mut b.store, &[Val::ExnRef(Some(e))]),
    );
}

#[test]
fn exnref_of_another_store_is_refused() {
    let mut a = Items::new();
    let mut b = Items::new();
    let e = a.exn();
    assert_eq!(e.payload(&a.store), vec![Val::I32(5)]);
    assert_exn_refused(e, &mut b.store);
    let throw = b.func("throw_given");
    assert_refused(
        "an ExnRef",
        throw.call(&mut b.store, &[Val::ExnRef(Some(e))]),
    );
    let tag = b.tag();
    let nested = Tag::new(
        &mut b.store,
        FuncType {
            params: vec![ValType::EXNREF],
            results: vec![],
        },
    )
    .unwrap();
    assert_refused(
        "an ExnRef",
        ExnRef::new(&mut b.store, nested, &[Val::ExnRef(Some(e))]),
    );
    let gty = GlobalType {
        ty: ValType::EXNREF,
        mutable: true,
    };
    assert_refused(
        "an ExnRef",
        Global::new(&mut b.store, gty, Val::ExnRef(Some(e))),
    );
    // The other store's own exception passes.
    let own = ExnRef::new(&mut b.store, tag, &[Val::I32(1)]).unwrap();
    assert!(ExnRef::new(&mut b.store, nested, &[Val::ExnRef(Some(own))]).is_ok());
}

#[test]
fn instance_of_a_dropped_store_hands_out_only_refused_handles() {
    let (inst, mut store) = orphaned(|i| i.inst.clone());
    // The handle owns its export list: looking exports up reads nothing of the dropped store.
    assert_eq!(inst.exports().len(), 9);
    let f = inst.get_func("inc").unwrap();
    assert_refused("a Func", f.call(&mut store, &[Val::I32(1)]));
    assert_memory_refused(inst.get_memory("mem").unwrap(), &mut store);
    let mut linker = Linker::new();
    linker.define_instance("p", &inst);
    assert!(matches!(
        linker.instantiate(&mut store, &module(IMPORTS)),
        Err(Error::Link(m)) if m.contains("another store")
    ));
}

#[test]
fn instance_of_another_store_cannot_provide_imports() {
    let a = Items::new();
    let mut b = Store::default();
    let mut linker = Linker::new();
    linker.define_instance("p", &a.inst);
    match linker.instantiate(&mut b, &module(IMPORTS)) {
        Err(Error::Link(m)) => assert!(m.contains("another store") && m.contains("inc"), "{m}"),
        other => panic!("linking another store's instance: {other:?}"),
    }
    // The same imports from the right store link.
    let mut a = a;
    assert!(linker.instantiate(&mut a.store, &module(IMPORTS)).is_ok());
}

/// The names of [`IMPORTS`]' imports, in order.
const IMPORTED: [&str; 5] = ["inc", "mem", "tab", "g", "e"];

/// Asserts that each of `exts` (the exports of [`ITEMS`]) is refused as an import in `store`,
/// through a [`Linker`] and through [`Instance::new`].
fn assert_externs_refused(store: &mut Store, good: &Instance, exts: &[(String, Extern)]) {
    let imports: Vec<Extern> = IMPORTED
        .iter()
        .map(|n| exts.iter().find(|(e, _)| e == n).unwrap().1)
        .collect();
    for (name, ext) in IMPORTED.iter().zip(&imports) {
        assert_import_refused(store, good, name, *ext);
    }
    assert!(matches!(
        Instance::new(store, &module(IMPORTS), &imports),
        Err(Error::Link(m)) if m.contains("another store")
    ));
}

#[test]
fn externs_of_a_dropped_store_are_refused_as_imports() {
    let (exts, _) = orphaned(|i| i.inst.exports());
    let mut b = Items::new();
    assert_externs_refused(&mut b.store, &b.inst, &exts);
}

#[test]
fn externs_of_another_store_are_refused_as_imports() {
    let a = Items::new();
    let mut b = Items::new();
    assert_externs_refused(&mut b.store, &b.inst, &a.inst.exports());
    // The store's own externs link.
    let own: Vec<Extern> = IMPORTED
        .iter()
        .map(|n| b.inst.get_export(n).unwrap())
        .collect();
    assert!(Instance::new(&mut b.store, &module(IMPORTS), &own).is_ok());
}

#[test]
fn raw_funcref_arguments_must_be_references_of_the_store() {
    let mut a = Items::new();
    let mut b = Items::new();
    let is_null = b.func("is_null_func");
    // A made-up address, and another store's function: refused before any code runs.
    for word in [0x1234_5678usize, raw(a.func("inc"))] {
        let mut values = [ValRaw::from_usize(word)];
        match is_null.call_raw(&mut b.store, &mut values) {
            Err(Error::Usage(m)) => assert!(m.contains("not a reference of this store"), "{m}"),
            other => panic!("raw funcref {word:#x}: {other:?}"),
        }
        assert!(b.store.val_from_raw(values[0], ValType::FUNCREF).is_err());
    }
    // Null and the store's own functions pass.
    let own = Val::FuncRef(Some(b.func("inc"))).to_raw();
    let mut values = [own];
    is_null.call_raw(&mut b.store, &mut values).unwrap();
    assert_eq!(values[0].as_i32(), 0);
    assert_eq!(
        b.store.val_from_raw(own, ValType::FUNCREF).unwrap(),
        Val::FuncRef(Some(b.func("inc")))
    );
    let mut values = [ValRaw::from_usize(0)];
    is_null.call_raw(&mut b.store, &mut values).unwrap();
    assert_eq!(values[0].as_i32(), 1);
    // Exnrefs likewise.
    let e = a.exn();
    let throw = b.func("throw_given");
    assert!(matches!(
        throw.call_raw(&mut b.store, &mut [Val::ExnRef(Some(e)).to_raw()]),
        Err(Error::Usage(_))
    ));
}

/// A module calling a host function that returns a funcref, and calling what it got.
const CALLS_HOST_FUNCREF: &str = r#"(module
    (import "host" "get" (func $get (result funcref)))
    (table 1 funcref)
    (func (export "run") (result i32)
        (table.set (i32.const 0) (call $get))
        (call_indirect (result i32) (i32.const 0))))"#;

fn host_returning(store: &mut Store, word: usize) -> Func {
    let ty = FuncType {
        params: vec![],
        results: vec![ValType::FUNCREF],
    };
    Func::new_host(store, ty, move |_, values| {
        values[0] = ValRaw::from_usize(word);
        Ok(())
    })
}

#[test]
fn host_function_results_must_be_references_of_the_store() {
    let m: Arc<Module> = module(CALLS_HOST_FUNCREF);
    let other = Items::new();
    let foreign = raw(other.func("inc"));
    for word in [0xdead_beefusize, foreign] {
        let mut store = Store::default();
        let get = host_returning(&mut store, word);
        let inst = Instance::new(&mut store, &m, &[Extern::Func(get)]).unwrap();
        let run = inst.get_func("run").unwrap();
        match run.call(&mut store, &[]) {
            Err(Error::Host(msg)) => assert!(msg.contains("not a reference of its store"), "{msg}"),
            other => panic!("host returned {word:#x}: {other:?}"),
        }
        // Called directly, the same result is refused.
        assert!(matches!(get.call(&mut store, &[]), Err(Error::Host(_))));
    }
    // A funcref of its own store is fine.
    let answer = module(r#"(module (func (export "f") (result i32) (i32.const 42)))"#);
    let mut store = Store::default();
    let a = Instance::new(&mut store, &answer, &[]).unwrap();
    let word = raw(a.get_func("f").unwrap());
    let get = host_returning(&mut store, word);
    let inst = Instance::new(&mut store, &m, &[Extern::Func(get)]).unwrap();
    assert_eq!(
        inst.get_func("run").unwrap().call(&mut store, &[]).unwrap(),
        vec![Val::I32(42)]
    );
}

#[test]
fn host_functions_read_raw_references_through_their_caller() {
    let m = module(
        r#"(module
            (import "host" "see" (func $see (param funcref)))
            (func $f (export "f"))
            (elem declare func $f)
            (func (export "run") (call $see (ref.func $f))))"#,
    );
    let mut store = Store::default();
    let seen: Rc<Cell<Option<Val>>> = Rc::new(Cell::new(None));
    let s = seen.clone();
    let see = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::FUNCREF],
            results: vec![],
        },
        move |caller, values| {
            s.set(Some(
                caller.val_from_raw(values[0], ValType::FUNCREF).unwrap(),
            ));
            assert!(caller
                .val_from_raw(ValRaw::from_usize(0x4000), ValType::FUNCREF)
                .is_err());
            Ok(())
        },
    );
    let inst = Instance::new(&mut store, &m, &[Extern::Func(see)]).unwrap();
    inst.get_func("run").unwrap().call(&mut store, &[]).unwrap();
    assert_eq!(
        seen.get(),
        Some(Val::FuncRef(Some(inst.get_func("f").unwrap())))
    );
}
