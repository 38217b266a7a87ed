//! Store limits on what a guest makes the runtime allocate, through the embedding API:
//! exception objects count against `max_memory` (a guest keeping many alive fails cleanly with
//! "exception heap out of memory"), all tables of a store together against
//! `max_table_elements` (`table.grow` returns -1 beyond it, making a table fails with a clear
//! error), and `--timeout`'s watchdog interrupts the thread it guards only, also inside host
//! calls, while a signal that is no timeout leaves a blocked read waiting for its data.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wasic_abi::{FuncType, RefType, TableType, ValType};
use wasic_runtime::traps::interrupt::Watchdog;
use wasic_runtime::wasi::WasiCtx;
use wasic_runtime::{Error, ExnRef, Instance, Linker, Store, StoreConfig, Table, Tag, Trap, Val};
use wasic_tests::{call, module};

fn store_with(max_memory: Option<u64>, max_table_elements: Option<u64>) -> Store {
    Store::new(StoreConfig {
        max_memory,
        max_table_elements,
        ..StoreConfig::default()
    })
}

fn resource_error(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Resource(m)) => m,
        other => panic!("expected a resource error, got {other:?}"),
    }
}

/// Throws `n` exceptions with a 256-byte payload (16 v128 values); `keep` stores every caught
/// exnref in a table, `churn` drops it. Both return how many were thrown.
const THROWER: &str = r#"(module
    (tag $big (param PAYLOAD))
    (table $kept 20000 exnref)
    (func $catch (result exnref)
        (block $h (result exnref)
            (try_table (catch_all_ref $h) (throw $big CONSTS))
            (unreachable)))
    (func (export "keep") (param $n i32) (result i32)
        (local $i i32)
        (loop $l
            (table.set $kept (local.get $i) (call $catch))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                (local.get $n))))
        (local.get $i))
    (func (export "churn") (param $n i32) (result i32)
        (local $i i32)
        (loop $l
            (drop (call $catch))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                (local.get $n))))
        (local.get $i))
)"#;

/// Bytes one exception of `THROWER` takes at least: its 16 payload cells.
const BIG_EXCEPTION_BYTES: usize = 16 * 16;

fn thrower() -> std::sync::Arc<wasic_runtime::Module> {
    module(
        &THROWER
            .replace("PAYLOAD", &["v128"; 16].join(" "))
            .replace("CONSTS", &["(v128.const i64x2 1 2)"; 16].join(" ")),
    )
}

#[test]
fn live_exceptions_beyond_max_memory_fail_with_exception_heap_out_of_memory() {
    let m = thrower();
    let mut store = store_with(Some(1 << 20), None);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    let msg = resource_error(call(&mut store, &inst, "keep", &[Val::I32(20_000)]));
    assert!(
        msg.starts_with("exception heap out of memory: no capacity for an allocation of"),
        "{msg}"
    );
    assert!(msg.contains("1048576 bytes max_memory allows"), "{msg}");
    let n = store.num_exceptions();
    assert!(
        n * BIG_EXCEPTION_BYTES <= 1 << 20,
        "{n} live exception objects under a 1 MiB limit"
    );
    assert!(n > 1000, "only {n} exceptions fit in 1 MiB");
}

#[test]
fn exceptions_thrown_and_dropped_in_a_loop_keep_running_under_max_memory() {
    let m = thrower();
    let mut store = store_with(Some(1 << 20), None);
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    // 100,000 x 288 bytes = 27 MiB made in all; unreachable ones are reclaimed (and uncounted).
    let r = call(&mut store, &inst, "churn", &[Val::I32(100_000)]).unwrap();
    assert_eq!(r, vec![Val::I32(100_000)]);
}

#[test]
fn host_made_exceptions_count_against_max_memory() {
    let mut store = store_with(Some(64 << 10), None);
    let tag = Tag::new(
        &mut store,
        FuncType {
            params: vec![ValType::V128; 16],
            results: vec![],
        },
    )
    .unwrap();
    let args = vec![Val::V128(7); 16];
    let mut made = 0;
    let msg = loop {
        match ExnRef::new(&mut store, tag, &args) {
            Ok(_) => made += 1,
            Err(Error::Resource(m)) => break m,
            Err(e) => panic!("{e}"),
        }
        assert!(
            made <= 1000,
            "1000 exceptions of 256+ bytes made under a 64 KiB limit"
        );
    };
    assert!(msg.starts_with("exception heap out of memory"), "{msg}");
    assert!(
        made * BIG_EXCEPTION_BYTES <= 64 << 10 && made > 100,
        "{made} made"
    );
}

/// Two tables (30 and 20 elements) that can grow.
const TWO_TABLES: &str = r#"(module
    (table $a 30 funcref)
    (table $b 20 funcref)
    (func (export "grow_a") (param i32) (result i32) (table.grow $a (ref.null func) (local.get 0)))
    (func (export "grow_b") (param i32) (result i32) (table.grow $b (ref.null func) (local.get 0)))
    (func (export "size_a") (result i32) (table.size $a))
    (func (export "size_b") (result i32) (table.size $b))
)"#;

fn i32_of(store: &mut Store, inst: &Instance, name: &str, args: &[Val]) -> i32 {
    match call(store, inst, name, args).unwrap()[..] {
        [Val::I32(v)] => v,
        ref other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn table_grow_beyond_the_stores_max_table_elements_returns_minus_one() {
    let m = module(TWO_TABLES);
    let mut store = store_with(None, Some(100));
    let inst = Instance::new(&mut store, &m, &[]).unwrap();
    // 30 + 20 in use: table $a may take the other 50, then nothing more fits anywhere.
    assert_eq!(i32_of(&mut store, &inst, "grow_a", &[Val::I32(51)]), -1);
    assert_eq!(i32_of(&mut store, &inst, "grow_a", &[Val::I32(50)]), 30);
    assert_eq!(i32_of(&mut store, &inst, "grow_b", &[Val::I32(1)]), -1);
    assert_eq!(i32_of(&mut store, &inst, "grow_a", &[Val::I32(1)]), -1);
    assert_eq!(i32_of(&mut store, &inst, "grow_b", &[Val::I32(0)]), 20);
    assert_eq!(i32_of(&mut store, &inst, "size_a", &[]), 80);
    assert_eq!(i32_of(&mut store, &inst, "size_b", &[]), 20);
}

#[test]
fn instantiating_tables_beyond_the_stores_max_table_elements_fails_with_a_clear_error() {
    let m = module(TWO_TABLES);
    let mut store = store_with(None, Some(100));
    Instance::new(&mut store, &m, &[]).unwrap();
    // Two instances take exactly the 100 elements; a third one's first table does not fit.
    Instance::new(&mut store, &m, &[]).unwrap();
    let msg = resource_error(Instance::new(&mut store, &m, &[]));
    assert_eq!(
        msg,
        "table minimum size of 30 elements exceeds table limits (the store's tables may hold \
         100 elements together, 100 are in use)"
    );
    let big = module("(module (table 101 externref))");
    let mut fresh = store_with(None, Some(100));
    let msg = resource_error(Instance::new(&mut fresh, &big, &[]));
    assert!(msg.starts_with("table minimum size of 101 elements exceeds table limits"));
}

#[test]
fn tables_made_by_the_host_count_against_max_table_elements() {
    let mut store = store_with(None, Some(100));
    let ty = |min| TableType {
        elem: RefType::FUNCREF,
        min,
        max: None,
        table64: false,
    };
    Table::new(&mut store, ty(60), Val::FuncRef(None)).unwrap();
    let msg = resource_error(Table::new(&mut store, ty(41), Val::FuncRef(None)));
    assert!(msg.contains("60 are in use"), "{msg}");
    let m = module(TWO_TABLES);
    resource_error(Instance::new(&mut store, &m, &[]));
}

/// Calls `sched_yield` `n` times (forever when `n` is 0).
const YIELDER: &str = r#"(module
    (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (param $n i32) (result i32)
        (local $i i32)
        (loop $l
            (drop (call $yield))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.or (i32.eqz (local.get $n)) (i32.lt_u (local.get $i) (local.get $n)))))
        (local.get $i))
)"#;

/// Runs `YIELDER.run(n)` in a fresh store with WASI on the calling thread.
fn run_yielder(n: i32) -> Result<Vec<Val>, Error> {
    let m = module(YIELDER);
    let mut store = Store::default();
    let mut linker = Linker::new();
    let ctx = Arc::new(WasiCtx::builder().build().unwrap());
    wasic_runtime::exec::add_wasi_to_linker(&mut linker, &mut store, ctx);
    let inst = linker.instantiate(&mut store, &m).unwrap();
    call(&mut store, &inst, "run", &[Val::I32(n)])
}

#[test]
fn a_watchdog_interrupts_host_calls_of_its_own_thread_only() {
    let other = std::thread::spawn(|| {
        let start = Instant::now();
        let mut rounds = 0;
        // Keeps calling into the host for longer than the other thread's timeout.
        while start.elapsed() < Duration::from_millis(600) {
            run_yielder(2000).expect("a thread without a watchdog was interrupted");
            rounds += 1;
        }
        rounds
    });
    let _watchdog = Watchdog::start(Duration::from_millis(100));
    let start = Instant::now();
    match run_yielder(0) {
        Err(Error::Trap(t)) => {
            assert_eq!(t.trap, Trap::Interrupted);
            assert!(!t.frames.is_empty(), "no wasm backtrace");
        }
        other => panic!("expected the interrupted trap, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(other.join().unwrap() > 0);
}

/// Reads up to 16 bytes from stdin into memory at 16 and returns the count (-1 on an error).
const READER: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "read") (result i32)
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 16))
        (if (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
            (then (return (i32.const -1))))
        (i32.load (i32.const 8)))
)"#;

#[test]
fn signals_without_an_expired_watchdog_leave_a_blocked_fd_read_waiting_for_its_data() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let (reader, mut writer) = std::io::pipe().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let guest = std::thread::spawn(move || {
        // Installs the signal handler; never expires.
        let _watchdog = Watchdog::start(Duration::from_secs(3600));
        let m = module(READER);
        let mut store = Store::default();
        let mut linker = Linker::new();
        let ctx = WasiCtx::builder()
            .stdin(reader.as_raw_fd())
            .build()
            .unwrap();
        wasic_runtime::exec::add_wasi_to_linker(&mut linker, &mut store, Arc::new(ctx));
        let inst = linker.instantiate(&mut store, &m).unwrap();
        // Right before blocking in fd_read.
        // SAFETY: no preconditions.
        tx.send(unsafe { libc::pthread_self() } as usize).unwrap();
        let r = call(&mut store, &inst, "read", &[]).map_err(|e| e.to_string());
        let r = r.map(|v| format!("{v:?}"));
        let data = inst.get_memory("memory").unwrap().data(&store)[16..21].to_vec();
        drop(reader);
        (r, data)
    });
    let thread = rx.recv().unwrap() as libc::pthread_t;
    // The guest blocks in fd_read within microseconds: each signal makes the read return EINTR.
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        // SAFETY: the guest thread is alive: it cannot end before the data is written.
        unsafe { libc::pthread_kill(thread, wasic_runtime::traps::interrupt::INTERRUPT_SIGNAL) };
    }
    writer.write_all(b"hello").unwrap();
    let (r, data) = guest.join().unwrap();
    assert_eq!(r.unwrap(), "[I32(5)]");
    assert_eq!(data, b"hello");
}
