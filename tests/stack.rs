//! Stack exhaustion through the embedding API, with the `stack_guard` optimization on (no stack
//! check in compiled code: a frame below the limit faults on the guard of the runtime's wasm
//! stack) and off (Cranelift's prologue check), which must behave the same: runaway recursion
//! is a clean trap after which the store keeps working on the same thread, `max_wasm_stack` is
//! exact to the bytes the frames use, frames larger than the guard cannot jump over it, host
//! functions, builtins, exceptions and wasm of another store called near the limit run or trap
//! but never crash, and threads with small native stacks get their whole `max_wasm_stack`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use wasic_abi::{FuncType, Trap, ValRaw, ValType};
use wasic_compiler::{CompileOptions, Optimizations};
use wasic_runtime::traps::interrupt::Watchdog;
use wasic_runtime::{Error, Extern, Func, Instance, Linker, Module, Store, StoreConfig, Val};

fn options(stack_guard: bool) -> CompileOptions {
    CompileOptions {
        optimizations: Optimizations {
            stack_guard,
            ..Optimizations::default()
        },
        ..CompileOptions::default()
    }
}

fn load(wat: &str, stack_guard: bool) -> Arc<Module> {
    let wasm = wat::parse_str(wat).unwrap();
    wasic_tests::load_wasm_with(&wasm, &options(stack_guard)).unwrap_or_else(|e| panic!("{e}"))
}

fn store(max_wasm_stack: usize) -> Store {
    Store::new(StoreConfig {
        max_wasm_stack,
        ..StoreConfig::default()
    })
}

fn is_stack_overflow<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    match r {
        Err(Error::Trap(t)) => t.trap == Trap::StackOverflow,
        Ok(_) => false,
        Err(e) => panic!("expected a result or a stack overflow, got {e}"),
    }
}

/// `down(n, what)` recurses `n` levels (one frame of `$down` each) and then, at the bottom,
/// does `what`: 0 nothing, 1 records the stack pointer (host `sp`), 2 calls host `work`
/// (which uses a lot of stack), 3 fills and copies memory (`memset` and `memmove`, builtins),
/// 4 throws (builtins too), 5 calls host `nested` (wasm of another store), 6 loops forever. It
/// returns `n` plus what the bottom returned.
const DOWN: &str = r#"(module
  (import "host" "sp" (func $sp (result i64)))
  (import "host" "work" (func $work (param i32) (result i32)))
  (import "host" "nested" (func $nested (result i32)))
  (memory 1)
  (tag $t (param i32))
  (global $bottom_sp (export "bottom_sp") (mut i64) (i64.const 0))
  (func $bottom (param $what i32) (result i32)
    (if (i32.eq (local.get $what) (i32.const 1))
      (then (global.set $bottom_sp (call $sp))))
    (if (i32.eq (local.get $what) (i32.const 2))
      (then (return (call $work (i32.const 41)))))
    (if (i32.eq (local.get $what) (i32.const 3))
      (then (memory.fill (i32.const 0) (i32.const 7) (i32.const 4096))
            (memory.copy (i32.const 4096) (i32.const 0) (i32.const 4096))
            (return (i32.load8_u (i32.const 8191)))))
    (if (i32.eq (local.get $what) (i32.const 4))
      (then (throw $t (i32.const 5))))
    (if (i32.eq (local.get $what) (i32.const 5))
      (then (return (call $nested))))
    (if (i32.eq (local.get $what) (i32.const 6))
      (then (loop $forever (br $forever))))
    (i32.const 0))
  (func $down (param $n i32) (param $what i32) (result i32)
    (if (result i32) (local.get $n)
      (then (i32.add
        (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $what))
        (i32.const 1)))
      (else (call $bottom (local.get $what)))))
  (func (export "down") (param $n i32) (param $what i32) (result i32)
    (call $down (local.get $n) (local.get $what)))
  ;; `down(n, 4)` under a handler: returns the payload thrown at the bottom.
  (func (export "catching") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $t $h) (call $down (local.get $n) (i32.const 4)))
      (drop)
      (i32.const -1))))"#;

/// Bytes of host stack `work` uses: more than the 64 KiB wasm stacks of these tests.
const WORK_STACK: usize = 256 << 10;

/// An instance of [`DOWN`]; host `nested` calls `nested` when given.
fn down_instance(
    store: &mut Store,
    m: &Arc<Module>,
    nested: Option<Rc<dyn Fn() -> Result<i32, Error>>>,
) -> Instance {
    let sp = Func::new_host(
        store,
        FuncType {
            params: vec![],
            results: vec![ValType::I64],
        },
        |_, values: &mut [ValRaw]| {
            let here = 0u8;
            values[0] = ValRaw::from_i64(std::hint::black_box(&here) as *const u8 as i64);
            Ok(())
        },
    );
    let work = Func::new_host(
        store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        |_, values: &mut [ValRaw]| {
            let mut buf = [0u8; WORK_STACK];
            std::hint::black_box(&mut buf);
            buf[WORK_STACK - 1] = 1;
            let sum: u32 = std::hint::black_box(&buf).iter().map(|b| *b as u32).sum();
            values[0] = ValRaw::from_i32(values[0].as_i32() + sum as i32);
            Ok(())
        },
    );
    let nested = Func::new_host(
        store,
        FuncType {
            params: vec![],
            results: vec![ValType::I32],
        },
        move |_, values: &mut [ValRaw]| {
            let r = match &nested {
                Some(f) => match f() {
                    Ok(v) => v,
                    Err(Error::Trap(t)) if t.trap == Trap::StackOverflow => -2,
                    Err(e) => panic!("nested call failed: {e}"),
                },
                None => -1,
            };
            values[0] = ValRaw::from_i32(r);
            Ok(())
        },
    );
    let mut linker = Linker::new();
    linker.define("host", "sp", Extern::Func(sp));
    linker.define("host", "work", Extern::Func(work));
    linker.define("host", "nested", Extern::Func(nested));
    linker.instantiate(store, m).unwrap()
}

fn down(store: &mut Store, inst: &Instance, n: u32, what: i32) -> Result<i32, Error> {
    let r = inst
        .get_func("down")
        .unwrap()
        .call(store, &[Val::I32(n as i32), Val::I32(what)])?;
    match r[..] {
        [Val::I32(v)] => Ok(v),
        _ => panic!("unexpected results {r:?}"),
    }
}

/// Stack bytes one level of `$down` takes, measured with host `sp` far from any limit.
fn frame_size(m: &Arc<Module>) -> usize {
    let mut s = store(8 << 20);
    let inst = down_instance(&mut s, m, None);
    let sp_at = |s: &mut Store, n| {
        down(s, &inst, n, 1).unwrap();
        match inst.get_global("bottom_sp").unwrap().get(s) {
            Val::I64(v) => v as usize,
            v => panic!("{v:?}"),
        }
    };
    let (top, deep) = (sp_at(&mut s, 0), sp_at(&mut s, 1000));
    assert!(top > deep, "the stack grows down: {top:#x} {deep:#x}");
    let f = (top - deep) / 1000;
    assert!((16..=256).contains(&f), "implausible frame size {f}");
    f
}

const LIMIT: usize = 64 << 10;

#[test]
fn runaway_recursion_traps_and_the_store_runs_again_on_the_same_thread() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, None);
        for _ in 0..3 {
            let r = down(&mut s, &inst, 1_000_000, 0);
            assert!(is_stack_overflow(&r), "stack_guard {guard}: {r:?}");
            let Err(Error::Trap(t)) = r else {
                unreachable!()
            };
            assert_eq!(t.trap.to_string(), "call stack exhausted");
            assert!(
                t.frames.len() > 10 && t.frames.iter().all(|f| f.func_index == 4),
                "the backtrace shows the recursion: {:?}",
                t.frames
            );
            // The whole stack is available again.
            assert_eq!(down(&mut s, &inst, 500, 0).unwrap(), 500);
        }
    }
}

#[test]
fn max_wasm_stack_is_exact_to_the_bytes_the_frames_use() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, None);
        let fits = ((LIMIT - (4 << 10)) / frame) as u32;
        let exceeds = ((LIMIT + (4 << 10)) / frame) as u32;
        assert_eq!(down(&mut s, &inst, fits, 0).unwrap(), fits as i32);
        let r = down(&mut s, &inst, exceeds, 0);
        assert!(is_stack_overflow(&r), "stack_guard {guard}: {r:?}");
        // The same with a limit far beyond any thread's native stack.
        let big = 64 << 20;
        let mut s = store(big);
        let inst = down_instance(&mut s, &m, None);
        let fits = ((big - (4 << 10)) / frame) as u32;
        assert_eq!(down(&mut s, &inst, fits, 0).unwrap(), fits as i32);
        let r = down(&mut s, &inst, ((big + (4 << 10)) / frame) as u32, 0);
        assert!(is_stack_overflow(&r), "stack_guard {guard}: {r:?}");
    }
}

/// Calls `down(n, what)` for every depth from well within the limit to past it: each call
/// returns one of `expect` (plus the depth) or traps with stack exhaustion, and the deepest
/// ones trap. Returns how many succeeded.
fn scan_the_edge(s: &mut Store, inst: &Instance, frame: usize, what: i32, expect: &[i32]) -> usize {
    let from = ((LIMIT - (2 << 10)) / frame) as u32;
    let to = ((LIMIT + (1 << 10)) / frame) as u32;
    let mut ok = 0;
    for n in from..=to {
        let r = down(s, inst, n, what);
        if let Ok(v) = r {
            assert!(
                expect.iter().any(|e| v == n as i32 + e),
                "depth {n}, bottom {what}: {v}"
            );
            ok += 1;
        } else {
            assert!(is_stack_overflow(&r), "depth {n}, bottom {what}: {r:?}");
        }
    }
    assert!(ok > 0, "bottom {what}: no call near the limit succeeded");
    assert!(
        is_stack_overflow(&down(s, inst, to, what)),
        "bottom {what}: no call past the limit trapped"
    );
    ok
}

#[test]
fn host_functions_and_builtins_called_at_every_depth_near_the_limit_run_or_trap() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, None);
        // A host function using far more stack than the wasm limit (on the host reserve).
        scan_the_edge(&mut s, &inst, frame, 2, &[42]);
        // A builtin.
        scan_the_edge(&mut s, &inst, frame, 3, &[7]);
        // Nothing at the bottom: the limit is where it was.
        scan_the_edge(&mut s, &inst, frame, 0, &[0]);
    }
}

#[test]
fn exceptions_thrown_at_every_depth_near_the_limit_are_caught_or_trap() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, None);
        let catching = inst.get_func("catching").unwrap();
        let mut caught = 0;
        for n in ((LIMIT - (2 << 10)) / frame) as u32..((LIMIT + (1 << 10)) / frame) as u32 {
            let r = catching.call(&mut s, &[Val::I32(n as i32)]);
            if let Ok(v) = &r {
                assert_eq!(v, &[Val::I32(5)], "depth {n}");
                caught += 1;
            } else {
                assert!(is_stack_overflow(&r), "depth {n}: {r:?}");
            }
        }
        assert!(caught > 0);
    }
}

#[test]
fn wasm_of_another_store_called_by_a_host_function_near_the_limit_runs_or_traps() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        // The inner store allows far more than is left of the outer one's stack.
        let inner = Rc::new(RefCell::new(store(8 << 20)));
        let inner_inst = down_instance(&mut inner.borrow_mut(), &m, None);
        let depth = Rc::new(Cell::new(0u32));
        let (i2, d2, inst2) = (inner.clone(), depth.clone(), inner_inst.clone());
        let nested: Rc<dyn Fn() -> Result<i32, Error>> =
            Rc::new(move || down(&mut i2.borrow_mut(), &inst2, d2.get(), 0));
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, Some(nested));
        // Shallow inner recursion: runs where there is room, traps (-2) where there is none.
        depth.set(10);
        let ok = scan_the_edge(&mut s, &inst, frame, 5, &[10, -2]);
        // Runaway inner recursion traps inside the host function (-2), which returns normally.
        depth.set(1_000_000);
        for n in [0, 100, ok as u32] {
            assert_eq!(down(&mut s, &inst, n, 5).unwrap(), n as i32 - 2);
        }
        // Both stores still work.
        assert_eq!(down(&mut s, &inst, 100, 0).unwrap(), 100);
        assert_eq!(
            down(&mut inner.borrow_mut(), &inner_inst, 100, 0).unwrap(),
            100
        );
    }
}

/// `big(n)` recurses `n` levels, each keeping [`BIG_VALUES`] loaded values live across the
/// call: a frame larger than the 64 KiB guard. Returns the sum of everything it loaded.
fn big_frames() -> String {
    let loads: String = (0..BIG_VALUES)
        .map(|i| format!("(i64.load offset={} (i32.const 0))\n", 8 * i))
        .collect();
    let adds = "(i64.add)\n".repeat(BIG_VALUES);
    format!(
        r#"(module
          (memory 2)
          (func (export "init") (local $i i32)
            (loop $l
              (i64.store (i32.shl (local.get $i) (i32.const 3)) (i64.extend_i32_u (local.get $i)))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                  (i32.const {BIG_VALUES})))))
          (func $big (export "big") (param $n i64) (result i64)
            {loads}
            (if (result i64) (i64.eqz (local.get $n))
              (then (i64.const 0))
              (else (call $big (i64.sub (local.get $n) (i64.const 1)))))
            {adds}))"#
    )
}

const BIG_VALUES: usize = 10_000;

#[test]
fn frames_larger_than_the_guard_trap_instead_of_jumping_over_it() {
    let per_level = (BIG_VALUES * (BIG_VALUES - 1) / 2) as i64;
    for guard in [true, false] {
        let m = load(&big_frames(), guard);
        let mut s = store(1 << 20);
        let inst = Instance::new(&mut s, &m, &[]).unwrap();
        let big = inst.get_func("big").unwrap();
        inst.get_func("init").unwrap().call(&mut s, &[]).unwrap();
        for _ in 0..2 {
            // About 80 KiB a level: 5 levels fit in 1 MiB, 100 do not.
            assert_eq!(
                big.call(&mut s, &[Val::I64(5)]).unwrap(),
                vec![Val::I64(6 * per_level)]
            );
            let r = big.call(&mut s, &[Val::I64(100)]);
            assert!(is_stack_overflow(&r), "stack_guard {guard}: {r:?}");
        }
    }
}

#[test]
fn threads_with_small_native_stacks_get_their_whole_max_wasm_stack() {
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let m = m.clone();
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn(move || {
                        let limit = 16 << 20;
                        let mut s = store(limit);
                        let inst = down_instance(&mut s, &m, None);
                        for _ in 0..2 {
                            // Far more than the thread's own 256 KiB.
                            let n = (limit / 2 / frame) as u32;
                            assert_eq!(down(&mut s, &inst, n, 0).unwrap(), n as i32);
                            let r = down(&mut s, &inst, (2 * limit / frame) as u32, 0);
                            assert!(is_stack_overflow(&r), "{r:?}");
                            // A host function with a big stack, deep down.
                            assert_eq!(down(&mut s, &inst, n, 2).unwrap(), n as i32 + 42);
                        }
                    })
                    .unwrap()
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}

/// Exnrefs kept in the frames of a recursion survive the collections that the exceptions
/// thrown at its bottom trigger; with a small wasm stack, `exception_new` runs on the host
/// reserve there.
const KEEPER: &str = r#"(module
  (tag $t (param i32))
  (func $keep (param $n i32) (result i32)
    (local $e exnref)
    (local $i i32)
    (local.set $e
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $t (local.get $n)))
        (unreachable)))
    (if (local.get $n)
      (then (drop (call $keep (i32.sub (local.get $n) (i32.const 1)))))
      (else
        ;; Enough garbage for several collections.
        (loop $l
          (drop (block $g (result exnref)
            (try_table (catch_all_ref $g) (throw $t (local.get $i)))
            (unreachable)))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (i32.const 5000))))))
    ;; The payload of the exception this level kept must still be its own.
    (block $c (result i32)
      (try_table (result i32) (catch $t $c) (throw_ref (local.get $e))))
    (local.get $n)
    (i32.ne)
    (if (then (unreachable)))
    (local.get $n))
  (func (export "keep") (param $n i32) (result i32) (call $keep (local.get $n))))"#;

#[test]
fn exnrefs_in_frames_survive_collections_run_on_the_host_reserve() {
    for guard in [true, false] {
        let m = load(KEEPER, guard);
        for limit in [LIMIT, 8 << 20] {
            let mut s = store(limit);
            let inst = Instance::new(&mut s, &m, &[]).unwrap();
            let keep = inst.get_func("keep").unwrap();
            assert_eq!(
                keep.call(&mut s, &[Val::I32(50)]).unwrap(),
                vec![Val::I32(50)]
            );
            assert!(
                s.num_exceptions() < 5000,
                "nothing was collected: {}",
                s.num_exceptions()
            );
        }
    }
}

#[test]
fn the_prologue_stack_check_is_compiled_only_with_stack_guard_off() {
    let wasm = wat::parse_str(DOWN).unwrap();
    let checks = |guard| {
        let (_, meta) = wasic_compiler::compile_with_meta(&wasm, &options(guard)).unwrap();
        meta.traps
            .iter()
            .map(|t| t.iter().filter(|s| s.trap == Trap::StackOverflow).count())
            .collect::<Vec<_>>()
    };
    let on = checks(true);
    assert!(
        on.iter().all(|n| *n == 0),
        "stack checks with the guard: {on:?}"
    );
    let off = checks(false);
    // Every defined function calls, so each has its prologue check.
    assert!(
        off.iter().all(|n| *n > 0),
        "stack checks without the guard: {off:?}"
    );
}

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn a_signal_that_finds_no_room_on_the_exhausted_wasm_stack_ends_wasm_with_a_trap() {
    // A handler installed without SA_ONSTACK: the kernel pushes its frame on the stack the
    // signal interrupts.
    // SAFETY: installs a handler doing nothing for a signal nothing else in this process uses.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    for guard in [true, false] {
        let m = load(DOWN, guard);
        let frame = frame_size(&m);
        let mut s = store(LIMIT);
        let inst = down_instance(&mut s, &m, None);
        // The deepest recursion that fits: less than a frame of stack is left at its bottom.
        let mut deepest = ((LIMIT - (2 << 10)) / frame) as u32;
        while down(&mut s, &inst, deepest + 1, 0).is_ok() {
            deepest += 1;
        }
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as usize;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        let sender = std::thread::spawn(move || {
            while !d.load(std::sync::atomic::Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                // SAFETY: the target thread joins this one before it ends.
                unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
            }
        });
        // Loops at the bottom until a signal cannot be delivered (or, if they all were, until
        // the watchdog interrupts it).
        let watchdog = Watchdog::start(std::time::Duration::from_secs(10));
        let r = down(&mut s, &inst, deepest, 6);
        drop(watchdog);
        done.store(true, std::sync::atomic::Ordering::Release);
        sender.join().unwrap();
        assert!(is_stack_overflow(&r), "stack_guard {guard}: {r:?}");
        assert_eq!(down(&mut s, &inst, 100, 0).unwrap(), 100);
    }
}
