//! `memory.copy` and `memory.fill` as compiled with the `libc_memops` optimization
//! (`compiler/src/translate/memory.rs`): an inline bounds check and a direct call of the C
//! library's `memmove` / `memset`, or, for constant lengths up to 128 bytes, plain loads and
//! stores. Every operation is checked against a model of the specification (a `Vec<u8>` per
//! memory): the bytes written, and a `MemoryOutOfBounds` trap with nothing written whenever
//! `start + len` exceeds the current length, at every edge: one byte before and past the end,
//! lengths of zero, sums that wrap in 32 bits, and for memory64 in 64 bits. The last tests check
//! the shape of the code: which lengths are expanded inline and which call `memmove`.

use wasic_abi::builtins::BuiltinIndex;
use wasic_compiler::{CompileOptions, Optimizations};
use wasic_runtime::{Error, Instance, Store, Trap, Val};
use wasic_tests::{load_wasm_with, loads_builtin_slot as loads_slot};

/// One memory of a test module.
#[derive(Clone, Copy)]
struct Mem {
    memory64: bool,
    pages: u64,
    max: u64,
}

const PAGE: u64 = 65536;
const M32: Mem = Mem {
    memory64: false,
    pages: 1,
    max: 3,
};
const M64: Mem = Mem {
    memory64: true,
    pages: 1,
    max: 3,
};
/// A second, larger memory for copies between memories.
const M32_BIG: Mem = Mem {
    memory64: false,
    pages: 2,
    max: 2,
};

/// The constant lengths the test modules use: every chunk size and the edges around them, the
/// largest inline length (128) and the first ones that call `memmove` / `memset`.
const CONSTANT_LENS: &[u64] = &[
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129, 200,
    300,
];

/// How an operation's length is given: an operand, or a constant in the instruction stream.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Len {
    Var,
    Const(u64),
}

fn lens() -> impl Iterator<Item = Len> {
    std::iter::once(Len::Var).chain(CONSTANT_LENS.iter().map(|&n| Len::Const(n)))
}

fn suffix(len: Len) -> String {
    match len {
        Len::Var => "var".into(),
        Len::Const(n) => n.to_string(),
    }
}

fn index_type(m: Mem) -> &'static str {
    if m.memory64 {
        "i64"
    } else {
        "i32"
    }
}

/// A module exporting every memory (`m0`, `m1`, ...) and, for every memory (pair) and every
/// [`Len`], `copy_{dst}{src}_{len}` `(dst, src[, len])`, `fill_{dst}_{len}` `(dst, val[, len])`,
/// and `grow_{mem}`.
fn module_text(mems: &[Mem]) -> String {
    let mut s = String::from("(module\n");
    for (i, m) in mems.iter().enumerate() {
        s += &format!(
            "(memory (export \"m{i}\") {} {} {})\n",
            index_type(*m),
            m.pages,
            m.max
        );
    }
    for (d, dm) in mems.iter().enumerate() {
        for (sr, sm) in mems.iter().enumerate() {
            // The length has the narrower of the two index types.
            let lt = if dm.memory64 && sm.memory64 {
                "i64"
            } else {
                "i32"
            };
            let (dt, st) = (index_type(*dm), index_type(*sm));
            for len in lens() {
                let (param, arg) = match len {
                    Len::Var => (format!("(param {lt})"), "(local.get 2)".to_string()),
                    Len::Const(n) => (String::new(), format!("({lt}.const {n})")),
                };
                s += &format!(
                    "(func (export \"copy_{d}{sr}_{}\") (param {dt}) (param {st}) {param}
                        (memory.copy {d} {sr} (local.get 0) (local.get 1) {arg}))\n",
                    suffix(len)
                );
            }
        }
        let dt = index_type(*dm);
        for len in lens() {
            let (param, arg) = match len {
                Len::Var => (format!("(param {dt})"), "(local.get 2)".to_string()),
                Len::Const(n) => (String::new(), format!("({dt}.const {n})")),
            };
            s += &format!(
                "(func (export \"fill_{d}_{}\") (param {dt}) (param i32) {param}
                    (memory.fill {d} (local.get 0) (local.get 1) {arg}))\n",
                suffix(len)
            );
        }
        s += &format!(
            "(func (export \"grow_{d}\") (param {dt}) (result {dt}) (memory.grow {d} (local.get 0)))\n"
        );
    }
    s + ")"
}

/// An instance of [`module_text`] and the model of its memories.
struct Harness {
    store: Store,
    inst: Instance,
    mems: Vec<Mem>,
    model: Vec<Vec<u8>>,
}

/// A small deterministic generator (xorshift64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl Harness {
    fn new(mems: &[Mem]) -> Harness {
        Harness::with(mems, &CompileOptions::default())
    }

    fn with(mems: &[Mem], opts: &CompileOptions) -> Harness {
        let wasm = wat::parse_str(module_text(mems)).expect("test module parses");
        let module = load_wasm_with(&wasm, opts).unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::default();
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let mut h = Harness {
            store,
            inst,
            mems: mems.to_vec(),
            model: Vec::new(),
        };
        // Distinct bytes everywhere, so a copy from a wrong place or of a wrong length shows.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..mems.len() {
            let mem = h.inst.get_memory(&format!("m{i}")).unwrap();
            let data = mem.data_mut(&mut h.store);
            data.iter_mut().for_each(|b| *b = rng.next() as u8);
            h.model.push(data.to_vec());
        }
        h
    }

    fn index(&self, mem: usize, v: u64) -> Val {
        if self.mems[mem].memory64 {
            Val::I64(v as i64)
        } else {
            Val::I32(u32::try_from(v).expect("a 32-bit memory's index fits a u32") as i32)
        }
    }

    fn len_val(&self, dst: usize, src: usize, v: u64) -> Val {
        if self.mems[dst].memory64 && self.mems[src].memory64 {
            Val::I64(v as i64)
        } else {
            Val::I32(u32::try_from(v).expect("a 32-bit length fits a u32") as i32)
        }
    }

    /// Calls `name`; `Ok(false)` for a `MemoryOutOfBounds` trap.
    fn run(&mut self, name: &str, args: &[Val]) -> bool {
        let f = self
            .inst
            .get_func(name)
            .unwrap_or_else(|| panic!("no {name}"));
        match f.call(&mut self.store, args) {
            Ok(_) => true,
            Err(Error::Trap(t)) if t.trap == Trap::MemoryOutOfBounds => false,
            Err(e) => panic!("{name}{args:?}: {e}"),
        }
    }

    /// Whether `[start, start + len)` lies in memory `mem` of the model (no wraparound).
    fn in_bounds(&self, mem: usize, start: u64, len: u64) -> bool {
        u128::from(start) + u128::from(len) <= self.model[mem].len() as u128
    }

    /// Checks every memory against the model.
    fn check(&self, what: &str) {
        for (i, model) in self.model.iter().enumerate() {
            let mem = self.inst.get_memory(&format!("m{i}")).unwrap();
            let data = mem.data(&self.store);
            assert_eq!(data.len(), model.len(), "{what}: length of memory {i}");
            if data != &model[..] {
                let at = data.iter().zip(model).position(|(a, b)| a != b).unwrap();
                panic!(
                    "{what}: memory {i} differs from the model first at byte {at}: {} != {}",
                    data[at], model[at]
                );
            }
        }
    }

    /// `memory.copy` through the function for `len` (`n` bytes, which must be `len`'s
    /// constant); checks the trap or the copy against the model and returns whether it copied.
    fn copy(&mut self, d: usize, s: usize, len: Len, dst: u64, src: u64, n: u64) -> bool {
        let mut args = vec![self.index(d, dst), self.index(s, src)];
        match len {
            Len::Var => args.push(self.len_val(d, s, n)),
            Len::Const(k) => assert_eq!(k, n),
        }
        let name = format!("copy_{d}{s}_{}", suffix(len));
        let what = format!("{name}(dst {dst:#x}, src {src:#x}, len {n:#x})");
        let expect = self.in_bounds(d, dst, n) && self.in_bounds(s, src, n);
        let done = self.run(&name, &args);
        assert_eq!(done, expect, "{what}: trapped = {}", !done);
        if expect {
            let (dst, src, n) = (dst as usize, src as usize, n as usize);
            if d == s {
                self.model[d].copy_within(src..src + n, dst);
            } else {
                let bytes = self.model[s][src..src + n].to_vec();
                self.model[d][dst..dst + n].copy_from_slice(&bytes);
            }
        }
        self.check(&what);
        done
    }

    /// `memory.fill`, as [`Harness::copy`].
    fn fill(&mut self, d: usize, len: Len, dst: u64, val: i32, n: u64) -> bool {
        let mut args = vec![self.index(d, dst), Val::I32(val)];
        match len {
            Len::Var => args.push(self.index(d, n)),
            Len::Const(k) => assert_eq!(k, n),
        }
        let name = format!("fill_{d}_{}", suffix(len));
        let what = format!("{name}(dst {dst:#x}, val {val:#x}, len {n:#x})");
        let expect = self.in_bounds(d, dst, n);
        let done = self.run(&name, &args);
        assert_eq!(done, expect, "{what}: trapped = {}", !done);
        if expect {
            self.model[d][dst as usize..(dst + n) as usize].fill(val as u8);
        }
        self.check(&what);
        done
    }

    fn grow(&mut self, mem: usize, pages: u64) {
        let arg = self.index(mem, pages);
        assert!(self.run(&format!("grow_{mem}"), &[arg]));
        let new_len = self.model[mem].len() + (pages * PAGE) as usize;
        self.model[mem].resize(new_len, 0);
        self.check(&format!("grow_{mem}({pages})"));
    }

    fn size(&self, mem: usize) -> u64 {
        self.model[mem].len() as u64
    }
}

/// The length every function of `len` can be called with: its constant, or `n` for `Var`.
fn n_of(len: Len, n: u64) -> u64 {
    match len {
        Len::Var => n,
        Len::Const(k) => k,
    }
}

#[test]
fn copies_and_fills_of_every_length_write_exactly_their_range() {
    for mem in [M32, M64] {
        let mut h = Harness::new(&[mem]);
        for len in lens() {
            for n in [n_of(len, 0), n_of(len, 1), n_of(len, 77), n_of(len, 4096)] {
                assert!(h.copy(0, 0, len, 1000, 20_000, n));
                assert!(h.fill(0, len, 30_001, 0x5a, n));
            }
        }
    }
}

#[test]
fn ranges_ending_at_the_end_work_and_one_byte_past_traps_before_writing_anything() {
    for mem in [M32, M64] {
        let mut h = Harness::new(&[mem]);
        let end = h.size(0);
        for len in lens() {
            for n in [n_of(len, 1), n_of(len, 300), n_of(len, 0)] {
                // Destination, then source, exactly at the end and one byte past it. A length
                // of zero exactly at the end is in bounds too; one past it traps.
                assert!(h.copy(0, 0, len, end - n, 100, n));
                assert!(!h.copy(0, 0, len, end - n + 1, 100, n));
                assert!(h.copy(0, 0, len, 100, end - n, n));
                assert!(!h.copy(0, 0, len, 100, end - n + 1, n));
                assert!(!h.copy(0, 0, len, end - n + 1, end - n + 1, n));
                assert!(h.fill(0, len, end - n, -1, n));
                assert!(!h.fill(0, len, end - n + 1, 7, n));
                // Far beyond the end: the last index a 32-bit memory can name.
                assert!(!h.copy(0, 0, len, u64::from(u32::MAX), 0, n));
                assert!(!h.copy(0, 0, len, 0, u64::from(u32::MAX), n));
                assert!(!h.fill(0, len, u64::from(u32::MAX), 1, n));
            }
        }
    }
}

#[test]
fn start_plus_length_wrapping_in_32_bits_traps() {
    let mut h = Harness::new(&[M32]);
    for len in lens() {
        let n = n_of(len, 0x100);
        if n == 0 {
            continue;
        }
        // dst + len is exactly 2^32 (0 when computed in 32 bits) or just above it.
        let start = (1u64 << 32) - n;
        assert!(!h.copy(0, 0, len, start, 0, n));
        assert!(!h.copy(0, 0, len, 0, start, n));
        assert!(!h.fill(0, len, start, 3, n));
        if n > 1 {
            assert!(!h.copy(0, 0, len, start + 1, 16, n));
            assert!(!h.fill(0, len, start + 1, 3, n));
        }
    }
    // Lengths that wrap a 32-bit sum with a small start.
    for n in [u64::from(u32::MAX), u64::from(u32::MAX) - 15, 1 << 31] {
        assert!(!h.copy(0, 0, Len::Var, 16, 0, n));
        assert!(!h.copy(0, 0, Len::Var, 0, 16, n));
        assert!(!h.fill(0, Len::Var, 16, 3, n));
    }
}

#[test]
fn memory64_ranges_beyond_the_end_or_overflowing_u64_trap() {
    let mut h = Harness::new(&[M64]);
    for len in lens() {
        let n = n_of(len, 64);
        let mut starts = vec![
            u64::MAX,
            u64::MAX - n.saturating_sub(1),
            1 << 32,
            (1 << 33) - 8,
            1 << 63,
        ];
        if n > 0 {
            // start + len is exactly 2^64, 0 when it wraps.
            starts.push(0u64.wrapping_sub(n));
        }
        for start in starts {
            assert!(!h.copy(0, 0, len, start, 0, n), "{start:#x}");
            assert!(!h.copy(0, 0, len, 0, start, n), "{start:#x}");
            assert!(!h.fill(0, len, start, 9, n), "{start:#x}");
        }
    }
    for n in [u64::MAX, u64::MAX - 7, 1 << 63, 1 << 32] {
        assert!(!h.copy(0, 0, Len::Var, 16, 0, n));
        assert!(!h.copy(0, 0, Len::Var, 0, 16, n));
        assert!(!h.fill(0, Len::Var, 16, 3, n));
    }
}

#[test]
fn overlapping_copies_move_like_memmove_in_both_directions() {
    for mem in [M32, M64] {
        let mut h = Harness::new(&[mem]);
        for len in lens() {
            let n = n_of(len, 1000);
            for shift in [1, 3, 8, 15, 16, 17, n / 2, n.saturating_sub(1)] {
                assert!(h.copy(0, 0, len, 5000 + shift, 5000, n));
                assert!(h.copy(0, 0, len, 9000, 9000 + shift, n));
            }
            // A copy onto itself changes nothing.
            assert!(h.copy(0, 0, len, 7000, 7000, n));
        }
    }
}

#[test]
fn fill_stores_only_the_low_byte_of_its_value() {
    let mut h = Harness::new(&[M32]);
    for len in lens() {
        let n = n_of(len, 50);
        for val in [0x1234_56ab, -1, 256, 0x7fff_ff00, i32::MIN + 0x42] {
            assert!(h.fill(0, len, 2000, val, n));
        }
    }
}

#[test]
fn bounds_checks_read_the_current_length_after_memory_grow() {
    let mut h = Harness::new(&[M32, M64]);
    for mem in 0..2 {
        let end = h.size(mem);
        for len in lens() {
            let n = n_of(len, 40);
            // Traps (unless empty) before the grow, copies after it.
            assert_eq!(h.copy(mem, mem, len, end, 0, n), n == 0);
        }
        h.grow(mem, 1);
        for len in lens() {
            let n = n_of(len, 40);
            assert!(h.copy(mem, mem, len, end, 0, n));
            assert!(h.fill(mem, len, end + PAGE - n, 0x11, n));
            assert!(!h.fill(mem, len, end + PAGE - n + 1, 0x11, n));
        }
    }
}

#[test]
fn a_grow_between_two_copies_in_one_function_is_seen_by_the_second() {
    // The length must be reloaded after `memory.grow`: the second copy is in bounds only then.
    let text = r#"(module
        (memory (export "m0") 1 2)
        (func (export "copy_grow_copy") (param $d i32) (param $n i32)
            (memory.copy (i32.const 0) (i32.const 64) (local.get $n))
            (drop (memory.grow (i32.const 1)))
            (memory.copy (local.get $d) (i32.const 0) (local.get $n))
            (memory.copy (local.get $d) (i32.const 0) (i32.const 100))))"#;
    let wasm = wat::parse_str(text).unwrap();
    let module = load_wasm_with(&wasm, &CompileOptions::default()).unwrap();
    let mut store = Store::default();
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let f = inst.get_func("copy_grow_copy").unwrap();
    f.call(&mut store, &[Val::I32(PAGE as i32 + 100), Val::I32(100)])
        .unwrap();
    assert_eq!(inst.get_memory("m0").unwrap().pages(&store), 2);
}

#[test]
fn copies_between_two_memories_check_each_against_its_own_length() {
    for mems in [[M32, M32_BIG], [M64, M32_BIG], [M32_BIG, M64]] {
        let mut h = Harness::new(&mems);
        let (s0, s1) = (h.size(0), h.size(1));
        // The smaller and the larger memory.
        let (lo, hi) = if s0 < s1 { (0, 1) } else { (1, 0) };
        let small = s0.min(s1);
        for len in lens() {
            let n = n_of(len, 333);
            assert!(h.copy(0, 1, len, 10, s1 - n, n));
            assert!(h.copy(1, 0, len, s1 - n, s0 - n, n));
            assert!(!h.copy(0, 1, len, s0 - n + 1, 10, n));
            assert!(!h.copy(1, 0, len, 10, s0 - n + 1, n));
            assert!(!h.copy(1, 0, len, s1 - n + 1, 10, n));
            assert!(!h.copy(0, 1, len, 10, s1 - n + 1, n));
            // Beyond the smaller memory but inside the larger one.
            if n > 0 {
                assert!(!h.copy(lo, hi, len, small, small, n));
                assert!(!h.copy(hi, lo, len, small, small, n));
                assert!(h.copy(hi, hi, len, small, small + 1, n));
            }
        }
    }
}

#[test]
fn random_copies_and_fills_near_the_edges_match_the_model() {
    for mems in [[M32, M32_BIG], [M64, M32]] {
        let mut h = Harness::new(&mems);
        let mut rng = Rng(42);
        let all: Vec<Len> = lens().collect();
        let mut done = 0;
        for _ in 0..3000 {
            let len = all[rng.below(all.len() as u64) as usize];
            let n = n_of(len, [0, 1, 17, 64, 129, 4000][rng.below(6) as usize]);
            let (d, s) = (rng.below(2) as usize, rng.below(2) as usize);
            let start = |mem: usize, rng: &mut Rng| {
                let size = h.size(mem);
                match rng.below(4) {
                    0 => rng.below(size),
                    // Around where the range would end at the memory's end.
                    _ => (size + 2 - rng.below(5)).saturating_sub(n),
                }
            };
            let (dst, src) = (start(d, &mut rng), start(s, &mut rng));
            done += u32::from(if rng.below(3) == 0 {
                h.fill(d, len, dst, rng.next() as i32, n)
            } else {
                h.copy(d, s, len, dst, src, n)
            });
        }
        // Both outcomes happened often.
        assert!((600..2400).contains(&done), "{done} of 3000 in bounds");
    }
}

/// The disassembly of each defined function of `text` compiled with `opts`, by index.
fn disassemble(text: &str, opts: &CompileOptions) -> Vec<String> {
    wasic_tests::disassemble_functions(&wat::parse_str(text).unwrap(), opts)
}

/// What a `memory.copy` / `memory.fill` should compile to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// Loads and stores only (or, for length 0, only the bounds check).
    Inline,
    /// A call of the C library function in this builtins-table slot.
    Libc(BuiltinIndex),
}

/// A module with one function per case: every [`Len`] of `memory.copy` and `memory.fill` in a
/// 32-bit and in a 64-bit memory, with the shape each must have.
fn shapes_module() -> (String, Vec<(String, Shape)>) {
    let mut text = String::from("(module (memory 1) (memory i64 1)\n");
    let mut cases = Vec::new();
    for (mem, it) in [(0, "i32"), (1, "i64")] {
        for len in lens() {
            let (param, arg) = match len {
                Len::Var => (format!("(param {it})"), "(local.get 2)".to_string()),
                Len::Const(n) => (String::new(), format!("({it}.const {n})")),
            };
            let inline = matches!(len, Len::Const(n) if n <= 128);
            for (op, operands, slot) in [
                ("copy", format!("{mem} {mem}"), BuiltinIndex::memmove),
                ("fill", format!("{mem}"), BuiltinIndex::memset),
            ] {
                let vt = if op == "copy" { it } else { "i32" };
                text += &format!(
                    "(func (param {it} {vt}) {param} (memory.{op} {operands} (local.get 0) (local.get 1) {arg}))\n"
                );
                let shape = if inline {
                    Shape::Inline
                } else {
                    Shape::Libc(slot)
                };
                cases.push((format!("{op} {len:?} in memory {mem}"), shape));
            }
        }
    }
    (text + ")", cases)
}

fn calls(asm: &str) -> usize {
    asm.lines().filter(|l| l.contains("\tcall")).count()
}

#[test]
fn constant_lengths_up_to_128_are_inline_and_others_call_memmove_or_memset() {
    let (text, cases) = shapes_module();
    let f = disassemble(&text, &CompileOptions::default());
    assert_eq!(f.len(), cases.len());
    for (asm, (what, shape)) in f.iter().zip(&cases) {
        match *shape {
            Shape::Inline => {
                assert_eq!(calls(asm), 0, "{what} calls:\n{asm}");
                // No tail call either.
                let tail_call = asm.lines().any(|l| l.contains("\tjmp") && l.contains('*'));
                assert!(!tail_call, "{what}:\n{asm}");
            }
            Shape::Libc(slot) => {
                assert_eq!(calls(asm), 1, "{what}:\n{asm}");
                assert!(loads_slot(asm, slot), "{what}: no call of {slot:?}:\n{asm}");
            }
        }
    }
}

#[test]
fn with_libc_memops_off_every_copy_and_fill_calls_the_runtime_builtin() {
    let opts = CompileOptions {
        optimizations: Optimizations {
            libc_memops: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let (text, cases) = shapes_module();
    let f = disassemble(&text, &opts);
    for (asm, (what, _)) in f.iter().zip(&cases) {
        assert_eq!(calls(asm), 1, "{what}:\n{asm}");
        assert!(!loads_slot(asm, BuiltinIndex::memmove), "{what}:\n{asm}");
        assert!(!loads_slot(asm, BuiltinIndex::memset), "{what}:\n{asm}");
    }
}
