//! The threads proposal through the embedding API: atomics on ordinary memories under the
//! default feature set (and refused under the strict 2.0 set), the alignment and bounds traps,
//! `memory.atomic.wait*` timeouts, and shared memories used by several stores on several
//! threads (`SharedMemory`): notify wakes a waiter of another thread, atomic read-modify-writes
//! of two threads do not lose updates, growth is seen by every store.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wasic_abi::MemoryType;
use wasic_compiler::{CompileOptions, Features};
use wasic_runtime::{Error, Extern, Instance, Memory, Module, SharedMemory, Store, Trap, Val};
use wasic_tests::{call, module};

fn trap_of(r: Result<Vec<Val>, Error>) -> Trap {
    match r {
        Err(Error::Trap(t)) => t.trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn i32s(r: Result<Vec<Val>, Error>) -> i32 {
    match r.unwrap().as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("expected one i32, got {other:?}"),
    }
}

fn i64s(r: Result<Vec<Val>, Error>) -> i64 {
    match r.unwrap().as_slice() {
        [Val::I64(v)] => *v,
        other => panic!("expected one i64, got {other:?}"),
    }
}

/// Atomics on an ordinary (non-shared) memory, as a wasi-sdk C++ program has them.
const NON_SHARED: &str = r#"(module
    (memory 1)
    (func (export "add") (param i32 i32) (result i32)
        (i32.atomic.rmw.add (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
    (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
    (func (export "store8") (param i32 i32) (i32.atomic.store8 (local.get 0) (local.get 1)))
    (func (export "sub8") (param i32 i32) (result i32)
        (i32.atomic.rmw8.sub_u (local.get 0) (local.get 1)))
    (func (export "xchg16") (param i32 i64) (result i64)
        (i64.atomic.rmw16.xchg_u (local.get 0) (local.get 1)))
    (func (export "cmpxchg8") (param i32 i32 i32) (result i32)
        (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
    (func (export "cmpxchg64") (param i32 i64 i64) (result i64)
        (i64.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
    (func (export "fence") (atomic.fence))
    (func (export "notify") (param i32 i32) (result i32)
        (memory.atomic.notify (local.get 0) (local.get 1)))
    (func (export "wait32") (param i32 i32 i64) (result i32)
        (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2))))"#;

#[test]
fn atomics_on_non_shared_memory_compile_and_run_under_the_default_features() {
    let m = module(NON_SHARED);
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let c = |store: &mut Store, name: &str, args: &[Val]| call(store, &inst, name, args);
    assert_eq!(i32s(c(&mut store, "add", &[Val::I32(8), Val::I32(5)])), 0);
    assert_eq!(i32s(c(&mut store, "add", &[Val::I32(8), Val::I32(-1)])), 5);
    assert_eq!(i32s(c(&mut store, "load", &[Val::I32(8)])), 4);
    assert_eq!(i64s(c(&mut store, "load64", &[Val::I32(8)])), 4);
    c(&mut store, "fence", &[]).unwrap();
    // Narrow read-modify-writes return the old value zero-extended and leave the other bytes.
    c(&mut store, "store8", &[Val::I32(16), Val::I32(0x1ff)]).unwrap();
    assert_eq!(
        i32s(c(&mut store, "sub8", &[Val::I32(16), Val::I32(1)])),
        0xff
    );
    assert_eq!(i32s(c(&mut store, "load", &[Val::I32(16)])), 0xfe);
    assert_eq!(
        i64s(c(&mut store, "xchg16", &[Val::I32(16), Val::I64(-1)])),
        0xfe
    );
    assert_eq!(i32s(c(&mut store, "load", &[Val::I32(16)])), 0xffff);
    // cmpxchg compares the expected value wrapped to the access width.
    assert_eq!(
        i32s(c(
            &mut store,
            "cmpxchg8",
            &[Val::I32(16), Val::I32(0x7ff), Val::I32(0x12)]
        )),
        0xff
    );
    assert_eq!(i32s(c(&mut store, "load", &[Val::I32(16)])), 0xff12);
    assert_eq!(
        i64s(c(
            &mut store,
            "cmpxchg64",
            &[Val::I32(16), Val::I64(1), Val::I64(2)]
        )),
        0xff12,
        "a failed cmpxchg returns the value and stores nothing"
    );
    assert_eq!(i32s(c(&mut store, "load", &[Val::I32(16)])), 0xff12);
    // Nothing can wait on a non-shared memory: notify wakes nobody, wait traps.
    assert_eq!(
        i32s(c(&mut store, "notify", &[Val::I32(0), Val::I32(1)])),
        0
    );
    let r = c(
        &mut store,
        "wait32",
        &[Val::I32(0), Val::I32(0), Val::I64(0)],
    );
    assert_eq!(trap_of(r), Trap::AtomicWaitNonShared);
    assert_eq!(
        Trap::AtomicWaitNonShared.to_string(),
        "expected shared memory"
    );
}

#[test]
fn atomics_are_refused_under_the_strict_wasm2_features() {
    let wasm = wat::parse_str(NON_SHARED).unwrap();
    let strict = CompileOptions {
        features: Features::Wasm2,
        ..CompileOptions::default()
    };
    let e = wasic_compiler::compile(&wasm, &strict)
        .unwrap_err()
        .to_string();
    assert!(e.contains("threads"), "{e}");
    assert!(wasic_compiler::compile(&wasm, &CompileOptions::default()).is_ok());
}

#[test]
fn unaligned_atomic_accesses_trap_before_the_bounds_check() {
    let m = module(
        r#"(module
            (memory 1)
            (func (export "load16") (param i32) (result i32)
                (i32.atomic.load16_u offset=1 (local.get 0)))
            (func (export "rmw64") (param i32) (result i64)
                (i64.atomic.rmw.or (local.get 0) (i64.const 1)))
            (func (export "store32") (param i32) (i32.atomic.store (local.get 0) (i32.const 1)))
            (func (export "load8") (param i32) (result i32) (i32.atomic.load8_u (local.get 0)))
            (func (export "notify") (param i32) (result i32)
                (memory.atomic.notify (local.get 0) (i32.const 1))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let mut c = |name: &str, addr: i32| call(&mut store, &inst, name, &[Val::I32(addr)]);
    // The effective address (index + offset) must be aligned, not the index.
    assert_eq!(i32s(c("load16", 1)), 0);
    assert_eq!(trap_of(c("load16", 0)), Trap::HeapMisaligned);
    assert_eq!(Trap::HeapMisaligned.to_string(), "unaligned atomic");
    assert_eq!(trap_of(c("rmw64", 4)), Trap::HeapMisaligned);
    assert_eq!(trap_of(c("store32", 2)), Trap::HeapMisaligned);
    assert_eq!(trap_of(c("notify", 2)), Trap::HeapMisaligned);
    // Misaligned and out of bounds: the alignment trap comes first.
    assert_eq!(trap_of(c("store32", 65537)), Trap::HeapMisaligned);
    // Aligned accesses at the end and past it.
    assert_eq!(i64s(c("rmw64", 65528)), 0);
    assert_eq!(trap_of(c("rmw64", 65536)), Trap::MemoryOutOfBounds);
    assert_eq!(trap_of(c("store32", -4)), Trap::MemoryOutOfBounds);
    assert_eq!(i32s(c("load8", 65535)), 0);
    assert_eq!(trap_of(c("load8", 65536)), Trap::MemoryOutOfBounds);
    assert_eq!(i32s(c("notify", 65532)), 0);
    assert_eq!(trap_of(c("notify", 65536)), Trap::MemoryOutOfBounds);
}

#[test]
fn atomics_on_a_shared_64_bit_memory_are_bounds_checked() {
    let m = module(
        r#"(module
            (memory i64 1 2 shared)
            (func (export "add") (param i64) (result i64)
                (i64.atomic.rmw.add offset=8 (local.get 0) (i64.const 3)))
            (func (export "grow") (result i64) (memory.grow (i64.const 1)))
            (func (export "wait") (param i64) (result i32)
                (memory.atomic.wait64 (local.get 0) (i64.const 1) (i64.const 0))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let mut c = |name: &str, args: &[Val]| call(&mut store, &inst, name, args);
    assert_eq!(i64s(c("add", &[Val::I64(65520)])), 0);
    assert_eq!(i64s(c("add", &[Val::I64(65520)])), 3);
    assert_eq!(
        trap_of(c("add", &[Val::I64(65528)])),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(trap_of(c("add", &[Val::I64(-8)])), Trap::MemoryOutOfBounds);
    assert_eq!(trap_of(c("add", &[Val::I64(-16)])), Trap::MemoryOutOfBounds);
    assert_eq!(
        trap_of(c("wait", &[Val::I64(65536)])),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(i64s(c("grow", &[])), 1);
    assert_eq!(i64s(c("add", &[Val::I64(65528)])), 0);
    // The value differs: wait returns 1 ("not-equal") at once.
    assert_eq!(i32s(c("wait", &[Val::I64(65536)])), 1);
}

#[test]
fn wait_with_a_timeout_returns_2_after_roughly_the_timeout() {
    let m = module(
        r#"(module
            (memory 1 1 shared)
            (func (export "wait32") (param i32 i64) (result i32)
                (memory.atomic.wait32 (local.get 0) (i32.const 0) (local.get 1)))
            (func (export "wait64") (param i32 i64) (result i32)
                (memory.atomic.wait64 (local.get 0) (i64.const 0) (local.get 1))))"#,
    );
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    for name in ["wait32", "wait64"] {
        let t = Instant::now();
        let r = call(
            &mut store,
            &inst,
            name,
            &[Val::I32(8), Val::I64(50_000_000)],
        );
        let took = t.elapsed();
        assert_eq!(i32s(r), 2, "{name}: timed out");
        assert!(took >= Duration::from_millis(50), "{name}: {took:?}");
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
        let r = call(&mut store, &inst, name, &[Val::I32(8), Val::I64(0)]);
        assert_eq!(i32s(r), 2, "{name}: a zero timeout does not sleep");
    }
}

const SHARED_USER: &str = r#"(module
    (import "env" "memory" (memory 1 4 shared))
    (func (export "wait") (param i32 i32) (result i32)
        (memory.atomic.wait32 (local.get 0) (local.get 1) (i64.const -1)))
    (func (export "notify") (param i32 i32) (result i32)
        (memory.atomic.notify (local.get 0) (local.get 1)))
    (func (export "store") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
    (func (export "count") (param i32 i32)
        (loop $l
            (drop (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
            (br_if $l (local.tee 1 (i32.sub (local.get 1) (i32.const 1))))))
    (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn shared_memory() -> SharedMemory {
    let ty = MemoryType {
        min: 1,
        max: Some(4),
        memory64: false,
        shared: true,
    };
    SharedMemory::new(ty, None).unwrap()
}

/// An instance of [`SHARED_USER`] in a new store, importing `mem`.
fn user(m: &Arc<Module>, mem: &SharedMemory) -> (Store, Instance) {
    let mut store = Store::default();
    let memory = Memory::from_shared(&mut store, mem);
    let inst = Instance::new(&mut store, m, &[Extern::Memory(memory)]).unwrap();
    (store, inst)
}

#[test]
fn notify_wakes_a_waiter_in_another_thread_sharing_the_memory() {
    let m = module(SHARED_USER);
    let mem = shared_memory();
    let waiter = {
        let (m, mem) = (m.clone(), mem.clone());
        std::thread::spawn(move || {
            let (mut store, inst) = user(&m, &mem);
            // No timeout: only a notify ends this wait.
            let r = i32s(call(
                &mut store,
                &inst,
                "wait",
                &[Val::I32(64), Val::I32(0)],
            ));
            let seen = i32s(call(&mut store, &inst, "load", &[Val::I32(64)]));
            (r, seen)
        })
    };
    let (mut store, inst) = user(&m, &mem);
    call(&mut store, &inst, "store", &[Val::I32(64), Val::I32(0)]).unwrap();
    // Notify until the waiter was asleep and got woken (notify returns how many it woke).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let woken = i32s(call(
            &mut store,
            &inst,
            "notify",
            &[Val::I32(64), Val::I32(1)],
        ));
        if woken == 1 {
            break;
        }
        assert_eq!(woken, 0);
        assert!(Instant::now() < deadline, "the waiter never waited");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(waiter.join().unwrap(), (0, 0), "woken (0), value unchanged");
    // Once the value changed, a wait does not sleep: 1 ("not-equal").
    call(&mut store, &inst, "store", &[Val::I32(64), Val::I32(7)]).unwrap();
    let r = call(&mut store, &inst, "wait", &[Val::I32(64), Val::I32(0)]);
    assert_eq!(i32s(r), 1);
}

#[test]
fn atomic_adds_of_two_threads_on_a_shared_memory_lose_no_update() {
    let m = module(SHARED_USER);
    let mem = shared_memory();
    const N: i32 = 200_000;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (m, mem) = (m.clone(), mem.clone());
            std::thread::spawn(move || {
                let (mut store, inst) = user(&m, &mem);
                call(&mut store, &inst, "count", &[Val::I32(128), Val::I32(N)]).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (mut store, inst) = user(&m, &mem);
    assert_eq!(
        i32s(call(&mut store, &inst, "load", &[Val::I32(128)])),
        2 * N
    );
}

#[test]
fn growing_a_shared_memory_is_seen_by_every_store() {
    let m = module(SHARED_USER);
    let mem = shared_memory();
    let (mut a, ia) = user(&m, &mem);
    let (mut b, ib) = user(&m, &mem);
    assert_eq!(i32s(call(&mut a, &ia, "grow", &[Val::I32(2)])), 1);
    assert_eq!(i32s(call(&mut b, &ib, "size", &[])), 3);
    // The new pages are accessible from the other store, and the maximum holds for both.
    call(
        &mut b,
        &ib,
        "store",
        &[Val::I32(3 * 65536 - 4), Val::I32(9)],
    )
    .unwrap();
    assert_eq!(
        i32s(call(&mut a, &ia, "load", &[Val::I32(3 * 65536 - 4)])),
        9
    );
    assert_eq!(i32s(call(&mut b, &ib, "grow", &[Val::I32(2)])), -1);
    assert_eq!(mem.pages(), 3);
    assert_eq!(mem.grow(1), Some(3));
    assert_eq!(i32s(call(&mut a, &ia, "size", &[])), 4);
    let handle = Memory::from_shared(&mut a, &mem);
    assert!(handle.shared(&a).unwrap().same(&mem));
}

#[test]
fn a_shared_import_needs_a_shared_memory_and_vice_versa() {
    let m = module(SHARED_USER);
    let mut store = Store::default();
    let plain = Memory::new(
        &mut store,
        MemoryType {
            min: 1,
            max: Some(4),
            memory64: false,
            shared: false,
        },
    )
    .unwrap();
    let r = Instance::new(&mut store, &m, &[Extern::Memory(plain)]);
    assert!(matches!(r, Err(Error::Link(_))), "{r:?}");
    let unshared = module(r#"(module (import "env" "memory" (memory 1 4)))"#);
    let shared = Memory::from_shared(&mut store, &shared_memory());
    let r = Instance::new(&mut store, &unshared, &[Extern::Memory(shared)]);
    assert!(matches!(r, Err(Error::Link(_))), "{r:?}");
    let ty = MemoryType {
        min: 1,
        max: Some(4),
        memory64: false,
        shared: false,
    };
    assert!(SharedMemory::new(ty, None).is_err());
}

#[test]
fn concurrent_grows_of_a_shared_memory_each_get_their_own_old_size() {
    let m = module(SHARED_USER);
    let mem = shared_memory();
    // Four threads grow by one page at once: three succeed (maximum 4), each seeing a
    // different old size, one fails.
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (m, mem, barrier) = (m.clone(), mem.clone(), barrier.clone());
            std::thread::spawn(move || {
                let (mut store, inst) = user(&m, &mem);
                barrier.wait();
                i32s(call(&mut store, &inst, "grow", &[Val::I32(1)]))
            })
        })
        .collect();
    let mut olds: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    olds.sort();
    assert_eq!(olds, [-1, 1, 2, 3]);
    assert_eq!(mem.pages(), 4);
}

#[test]
fn shared_memory_bytes_are_copied_in_and_out_and_never_lent_as_slices() {
    let mem = shared_memory();
    assert_eq!(mem.write(65_530, b"wasic!"), Some(()));
    let mut out = [0u8; 6];
    assert_eq!(mem.read(65_530, &mut out), Some(()));
    assert_eq!(&out, b"wasic!");
    // Past the end (one page), or wrapping: nothing is copied.
    assert_eq!(mem.write(65_531, b"wasic!"), None);
    assert_eq!(mem.read(u64::MAX, &mut out), None);
    mem.grow(1).unwrap();
    assert_eq!(mem.write(65_531, b"wasic!"), Some(()));
    // Other threads may write a shared memory at any time: no `&[u8]` of it is handed out.
    let mut store = Store::default();
    let m = Memory::from_shared(&mut store, &mem);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.data(&store).len()));
    let msg = refused.unwrap_err();
    let msg = msg
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| msg.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(msg.contains("SharedMemory::read/write"), "{msg}");
}
