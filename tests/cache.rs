//! Embedding the compile cache: `Module::from_wasm_cached` compiles a module once, then loads
//! it from the cache for the same bytes and options; other options are other entries; a
//! corrupt entry is recompiled and replaced; a cache that cannot be written costs only the
//! caching; invalid modules are compile errors that store nothing; threads sharing a cache
//! all get working modules.

use std::path::Path;
use std::sync::Arc;
use wasic_compiler::{CompileOptions, OptLevel, TargetCpu};
use wasic_runtime::cache::{Cache, CacheError, CacheOutcome};
use wasic_runtime::module::ModuleError;
use wasic_runtime::{Instance, Module, Store, Val};

fn wasm(n: i32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (func (export "f") (param i32) (result i32)
            (i32.add (local.get 0) (i32.const {n}))))"#
    ))
    .unwrap()
}

/// `f(1)` of the module.
fn call_f(m: &Arc<Module>) -> i32 {
    let mut store = Store::default();
    let inst = Instance::new(&mut store, m, &[]).unwrap();
    match inst
        .get_func("f")
        .unwrap()
        .call(&mut store, &[Val::I32(1)])
        .unwrap()[..]
    {
        [Val::I32(v)] => v,
        ref other => panic!("{other:?}"),
    }
}

fn cached(wasm: &[u8], opts: &CompileOptions, cache: &Cache) -> (Arc<Module>, CacheOutcome) {
    Module::from_wasm_cached(wasm, opts, cache).unwrap()
}

fn stored(o: &CacheOutcome) -> &Path {
    match o {
        CacheOutcome::Compiled {
            rejected: None,
            stored: Ok(p),
        } => p,
        other => panic!("expected a fresh compilation, got {other:?}"),
    }
}

#[test]
fn the_same_module_and_options_compile_once_then_load_from_the_cache() {
    let d = tempfile::tempdir().unwrap();
    let cache = Cache::new(d.path());
    let opts = CompileOptions::default();
    let (m1, o1) = cached(&wasm(10), &opts, &cache);
    let entry = stored(&o1).to_path_buf();
    assert_eq!(call_f(&m1), 11);
    let (m2, o2) = cached(&wasm(10), &opts, &cache);
    match &o2 {
        CacheOutcome::Hit(p) => assert_eq!(*p, entry),
        other => panic!("expected a hit, got {other:?}"),
    }
    assert_eq!(call_f(&m2), 11);
    // Both stay usable side by side.
    assert_eq!(call_f(&m1) + call_f(&m2), 22);
    assert_eq!(call_f(&Module::from_wasm(&wasm(10), &opts).unwrap()), 11);
}

#[test]
fn other_bytes_or_options_are_other_entries() {
    let d = tempfile::tempdir().unwrap();
    let cache = Cache::new(d.path());
    let base = CompileOptions::default();
    let mut no_inline = base.clone();
    no_inline.optimizations.set("inline=off").unwrap();
    let variants = [
        (wasm(1), base.clone()),
        (wasm(2), base.clone()),
        (
            wasm(1),
            CompileOptions {
                opt_level: OptLevel::None,
                ..base.clone()
            },
        ),
        (
            wasm(1),
            CompileOptions {
                target_cpu: TargetCpu::Native,
                ..base.clone()
            },
        ),
        (wasm(1), no_inline),
    ];
    let mut entries = Vec::new();
    for (w, o) in &variants {
        let (m, outcome) = cached(w, o, &cache);
        entries.push(stored(&outcome).to_path_buf());
        assert_eq!(call_f(&m), if *w == wasm(2) { 3 } else { 2 });
    }
    entries.sort();
    entries.dedup();
    assert_eq!(entries.len(), variants.len());
    for (w, o) in &variants {
        assert!(matches!(cached(w, o, &cache).1, CacheOutcome::Hit(_)));
    }
}

#[test]
fn a_corrupt_entry_is_recompiled_and_replaced() {
    let d = tempfile::tempdir().unwrap();
    let cache = Cache::new(d.path());
    let opts = CompileOptions::default();
    let entry = stored(&cached(&wasm(5), &opts, &cache).1).to_path_buf();
    let len = std::fs::metadata(&entry).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&entry)
        .unwrap();
    f.set_len(len - 1).unwrap();
    let (m, outcome) = cached(&wasm(5), &opts, &cache);
    assert_eq!(call_f(&m), 6);
    match outcome {
        CacheOutcome::Compiled {
            rejected: Some(why),
            stored: Ok(p),
        } => {
            assert!(why.contains("header says"), "{why}");
            assert_eq!(p, entry);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::metadata(&entry).unwrap().len(), len);
    assert!(matches!(
        cached(&wasm(5), &opts, &cache).1,
        CacheOutcome::Hit(_)
    ));
}

#[test]
fn an_unwritable_cache_costs_only_the_caching() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let cache = Cache::new(file.join("cache"));
    for _ in 0..2 {
        let (m, outcome) = cached(&wasm(3), &CompileOptions::default(), &cache);
        assert_eq!(call_f(&m), 4);
        assert!(
            matches!(
                outcome,
                CacheOutcome::Compiled {
                    rejected: None,
                    stored: Err(CacheError::CreateDir { .. })
                }
            ),
            "{outcome:?}"
        );
    }
}

#[test]
fn an_invalid_module_is_a_compile_error_and_stores_nothing() {
    let d = tempfile::tempdir().unwrap();
    let cache = Cache::new(d.path().join("cache"));
    let e = Module::from_wasm_cached(b"\0asm\x01\0\0\0\x05", &CompileOptions::default(), &cache)
        .unwrap_err();
    assert!(matches!(e, ModuleError::Compile(_)), "{e}");
    assert!(!cache.dir().exists() || std::fs::read_dir(cache.dir()).unwrap().count() == 0);
}

#[test]
fn threads_sharing_a_cache_all_get_working_modules() {
    let d = tempfile::tempdir().unwrap();
    let cache = Cache::new(d.path());
    let results: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let (m, _) = cached(&wasm(8), &CompileOptions::default(), &cache);
                    call_f(&m)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, [9; 4]);
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    assert!(matches!(
        cached(&wasm(8), &CompileOptions::default(), &cache).1,
        CacheOutcome::Hit(_)
    ));
}
