//! The `libc_idioms` optimization (`compiler/src/idioms.rs`): wasi-libc's MVP `memcpy`,
//! `memmove` and `memset`, recognised by their code, call the host C library's routines when
//! that gives the same result, and run their wasm code otherwise.
//!
//! The module is `tests/programs/libc_memfuncs.c` built by Debian's clang and wasi-libc for
//! the MVP (`-mno-bulk-memory`), as a C program of Debian 12's default toolchain links them.
//! The tests check that the three are recognised (their code calls the host routines only
//! with the optimization on), and that over ranges of every alignment, overlap and position
//! (in the middle, ending at the end of memory, one byte past it, wrapping in 32 bits) each
//! call returns, traps and leaves memory exactly as the wasm code does with the optimization
//! off; and that a function differing in one immediate is not recognised, nor a `memmove`
//! whose callee is not the known `memcpy`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use wasic_abi::builtins::BuiltinIndex;
use wasic_compiler::{CompileOptions, Optimizations};
use wasic_runtime::{Error, Instance, Module, Store, Val};
use wasic_tests::{load_wasm_with, loads_builtin_slot as loads_slot};

/// `tests/programs/libc_memfuncs.c` built for the MVP. Fails the test, loudly, without clang
/// or wasi-libc.
fn memfuncs_wasm() -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/libc_memfuncs.c");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("libc_memfuncs.wasm");
    let result = Command::new("clang")
        .args([
            "--target=wasm32-wasi",
            "-O2",
            "-mno-bulk-memory",
            "-mexec-model=reactor",
            "-fno-builtin",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "MISSING TOOL: cannot run `clang` ({e}): install clang, lld and wasi-libc \
                 (bash scripts/install-deps.sh)"
            )
        });
    assert!(
        result.status.success(),
        "clang --target=wasm32-wasi failed (is wasi-libc installed? bash scripts/install-deps.sh):\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(out).unwrap()
}

fn options(libc_idioms: bool) -> CompileOptions {
    CompileOptions {
        optimizations: Optimizations {
            libc_idioms,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn wasi_libc_memcpy_memmove_and_memset_are_recognised_and_call_the_host_routines() {
    let wasm = memfuncs_wasm();
    let object = wasic_compiler::compile(&wasm, &options(true)).unwrap();
    let symbols = wasic_tests::function_symbols(&object);
    let on = wasic_tests::disassemble_functions(&wasm, &options(true));
    let off = wasic_tests::disassemble_functions(&wasm, &options(false));
    for (name, routine) in [
        ("memcpy", BuiltinIndex::memmove),
        ("memmove", BuiltinIndex::memmove),
        ("memset", BuiltinIndex::memset),
    ] {
        let i = symbols
            .iter()
            .position(|s| s == name)
            .unwrap_or_else(|| panic!("no function {name} in {symbols:?}"));
        assert!(
            loads_slot(&on[i], routine),
            "wasi-libc's {name} was not recognised (is its build listed in \
             compiler/src/idioms.rs?):\n{}",
            on[i]
        );
        assert!(
            !loads_slot(&off[i], routine),
            "{name} with libc-idioms off:\n{}",
            off[i]
        );
    }
}

/// One instance of the module, compiled with or without the optimization.
struct Side {
    store: Store,
    inst: Instance,
}

impl Side {
    fn new(module: &Arc<Module>) -> Side {
        let mut store = Store::default();
        let inst = Instance::new(&mut store, module, &[]).unwrap();
        Side { store, inst }
    }

    /// Fills memory with `pattern`, calls `name(args)` and returns its result (or the trap's
    /// message) and the memory after it.
    fn call(&mut self, pattern: &[u8], name: &str, args: &[Val]) -> (Result<i32, String>, &[u8]) {
        let mem = self.inst.get_memory("memory").unwrap();
        mem.data_mut(&mut self.store).copy_from_slice(pattern);
        let f = self.inst.get_func(name).unwrap();
        let result = match f.call(&mut self.store, args) {
            Ok(v) => match v[..] {
                [Val::I32(r)] => Ok(r),
                _ => panic!("{name}{args:?} returned {v:?}"),
            },
            Err(Error::Trap(t)) => Err(t.trap.to_string()),
            Err(e) => panic!("{name}{args:?}: {e}"),
        };
        (result, mem.data(&self.store))
    }
}

#[test]
fn recognised_functions_return_trap_and_write_exactly_as_their_wasm_code() {
    let wasm = memfuncs_wasm();
    let mut fast = Side::new(&load_wasm_with(&wasm, &options(true)).unwrap());
    let mut plain = Side::new(&load_wasm_with(&wasm, &options(false)).unwrap());
    let len = fast
        .inst
        .get_memory("memory")
        .unwrap()
        .data(&fast.store)
        .len() as u64;
    // Distinct bytes, so a byte copied from the wrong place or not copied shows.
    let pattern: Vec<u8> = (0..len).map(|i| (i * 131 + i / 251) as u8).collect();

    let sizes: &[u64] = &[0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257, 4099];
    let mut cases: Vec<(u64, u64, u64)> = Vec::new();
    for &n in sizes {
        for a in 0..4 {
            for b in 0..4 {
                // Apart.
                cases.push((1000 + a, 30000 + b, n));
                cases.push((30000 + a, 1000 + b, n));
                // Overlapping in both directions, by a few bytes and by more.
                for k in [1, 4, 9, 40] {
                    cases.push((20000 + a + k, 20000 + b, n));
                    cases.push((20000 + a, 20000 + b + k, n));
                }
            }
            // Ending at the end of memory, and one byte past it, as either range.
            for past in [0, 1] {
                let end = (len + past).saturating_sub(n + a);
                cases.push((end, 5000 + a, n));
                cases.push((5000 + a, end, n));
            }
        }
    }
    // Sums that wrap in 32 bits, and starts beyond the end.
    for (d, s, n) in [
        (0xffff_fff0, 16, 0x20),
        (16, 0xffff_fff0, 0x20),
        (100, 200, 0xffff_ffff),
        (len, 0, 0),
        (len + 1, 0, 0),
        (0, len + 1, 0),
        (len, 0, 1),
    ] {
        cases.push((d, s, n));
    }

    let (mut returned, mut trapped) = (0, 0);
    for &(d, s, n) in &cases {
        let args = |x: u64| [Val::I32(d as i32), Val::I32(x as i32), Val::I32(n as i32)];
        for (name, args) in [
            ("copy", args(s)),
            ("move", args(s)),
            ("set", args(0x1_2345_67a5)),
        ] {
            let (r1, m1) = fast.call(&pattern, name, &args);
            let m1 = m1.to_vec();
            let (r2, m2) = plain.call(&pattern, name, &args);
            assert_eq!(r1, r2, "{name}({d:#x}, {s:#x}, {n}): result");
            if m1 != m2 {
                let at = m1.iter().zip(m2).position(|(a, b)| a != b).unwrap();
                panic!("{name}({d:#x}, {s:#x}, {n}): memory differs first at byte {at}");
            }
            match r1 {
                Ok(_) => returned += 1,
                Err(_) => trapped += 1,
            }
        }
    }
    // Both outcomes were exercised.
    assert!(
        returned > 1000 && trapped > 50,
        "{returned} returned, {trapped} trapped"
    );
}

#[test]
fn a_changed_memcpy_is_not_recognised_nor_a_memmove_that_calls_it() {
    let mut wasm = memfuncs_wasm();
    // The start of wasi-libc's memcpy: its locals (6 × i32), then `block block local.get 1
    // i32.const 3 i32.and ...` (the source's alignment test). Testing alignment 4 instead
    // (`i32.const 3` -> `i32.const 2`: the same length, still valid) is another function.
    let start = [
        0x06, 0x7f, 0x02, 0x40, 0x02, 0x40, 0x20, 0x01, 0x41, 0x03, 0x71,
    ];
    let at = wasm
        .windows(start.len())
        .position(|w| w == start)
        .expect("memcpy's code in the module");
    assert_eq!(
        wasm.windows(start.len()).filter(|w| *w == start).count(),
        1,
        "the pattern is memcpy's alone"
    );
    wasm[at + 9] = 0x02;
    let object = wasic_compiler::compile(&wasm, &options(true)).unwrap();
    let symbols = wasic_tests::function_symbols(&object);
    let asm = wasic_tests::disassemble_functions(&wasm, &options(true));
    let of = |name: &str| &asm[symbols.iter().position(|s| s == name).unwrap()];
    assert!(
        !loads_slot(of("memcpy"), BuiltinIndex::memmove),
        "{}",
        of("memcpy")
    );
    assert!(
        !loads_slot(of("memmove"), BuiltinIndex::memmove),
        "{}",
        of("memmove")
    );
    // memset is untouched, and still recognised.
    assert!(
        loads_slot(of("memset"), BuiltinIndex::memset),
        "{}",
        of("memset")
    );
}
