//! Known C library functions recognised by their code: the `libc_idioms` optimization.
//!
//! A C program built for the WebAssembly MVP (clang 14, Debian's default, or any clang with
//! `-mno-bulk-memory`) links wasi-libc's `memcpy`, `memmove` and `memset` as byte and word
//! loops in wasm, 10× slower on large buffers than the host C library's vectorised routines
//! (`benches/programs/memops.c`: 10.7× native). Bulk-memory modules get the host routines
//! through `memory.copy` / `memory.fill` (`translate/memory.rs`); this gives MVP modules the
//! same.
//!
//! A function is recognised only when its code is exactly one of the builds listed in
//! [`KNOWN`] (a fingerprint of its type, locals and operators, with calls standing for the
//! function they call): names mean nothing in wasm, and the exact code is what the analysis
//! below was done on. The function keeps its body; a fast path is put in front of it
//! (`libc_fast_path` in `translate/memory.rs`, emitted by `translate_function`) that calls the host routine
//! only when the result is the same as the body's, and otherwise runs the body:
//!
//! * all three read and write only inside `[src, src + n)` and `[dst, dst + n)` (musl's loops
//!   use aligned words; an aligned word holding an in-bounds byte is in bounds, since memory
//!   ends on a 64 KiB page), touch no global, call nothing but `memcpy`, and return `dst`;
//! * so when both ranges are in bounds (`start + n <= length`, in u64) nothing traps, and
//!   `memmove` / `memset` of the host write the same bytes, provided the body's result does not
//!   depend on the order of its accesses: `memmove` and `memset` are correct for any overlap,
//!   but `memcpy` copies forwards, so its fast path also requires the ranges not to overlap;
//! * otherwise (a range past the end, which traps after a partial write, or an overlapping
//!   `memcpy`) the body runs as compiled from the wasm.

use crate::module::FuncInput;
use wasic_abi::types::{FuncType, ValType};

/// A C library function with a fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibcFunction {
    /// `void *memcpy(void *dst, const void *src, size_t n)`.
    Memcpy,
    /// `void *memmove(void *dst, const void *src, size_t n)`.
    Memmove,
    /// `void *memset(void *dst, int c, size_t n)`.
    Memset,
}

/// One known build: its fingerprint ([`fingerprint`]), what it is, and what each function it
/// calls must itself be recognised as (in the order of the calls).
struct Known {
    fingerprint: u64,
    function: LibcFunction,
    callees: &'static [LibcFunction],
}

/// The builds recognised. Each was read operator by operator for the properties the module
/// comment lists.
const KNOWN: &[Known] = &[
    // Debian 12's wasi-libc (0.0~git20221206.8b7148f), /usr/lib/wasm32-wasi/libc.a.
    Known {
        fingerprint: 0xbff5_f612_ef2b_2479,
        function: LibcFunction::Memcpy,
        callees: &[],
    },
    Known {
        fingerprint: 0xb80f_c74a_8c2b_188c,
        function: LibcFunction::Memmove,
        callees: &[LibcFunction::Memcpy],
    },
    Known {
        fingerprint: 0xec89_3cb3_c59f_b061,
        function: LibcFunction::Memset,
        callees: &[],
    },
];

/// Bodies outside these sizes (bytes) are not looked at: the known builds are 300–1,400 bytes.
const SIZES: std::ops::RangeInclusive<usize> = 64..=4096;

/// FNV-1a, 64 bits: stable across builds and platforms (the fingerprints are constants).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The fingerprint of a function of type `ty` with body `body`, and the functions it calls in
/// order; `None` for a body that is not a candidate (size, type) or does not parse (validation
/// reports that later). Operators are hashed as their bytes, except that a `call` stands for
/// its position in the callee list: function indices differ from program to program, and
/// wasm-ld may or may not pad their LEB128 encoding.
pub fn fingerprint(ty: &FuncType, body: &wasmparser::FunctionBody<'_>) -> Option<(u64, Vec<u32>)> {
    let bytes = body.as_bytes();
    if !SIZES.contains(&bytes.len())
        || ty.params != [ValType::I32; 3]
        || ty.results != [ValType::I32]
    {
        return None;
    }
    let start = body.range().start;
    let mut h = Fnv::new();
    let mut callees = Vec::new();
    let mut reader = body.get_operators_reader().ok()?;
    // The locals' declarations, as bytes.
    let ops_start = reader.original_position();
    h.write(&bytes[..(ops_start - start) as usize]);
    while !reader.eof() {
        let at = reader.original_position();
        let op = reader.read().ok()?;
        let end = reader.original_position();
        if let wasmparser::Operator::Call { function_index } = op {
            h.write(&[0x10]);
            h.write(&(callees.len() as u32).to_le_bytes());
            callees.push(function_index);
        } else {
            h.write(&bytes[(at - start) as usize..(end - start) as usize]);
        }
    }
    Some((h.0, callees))
}

/// The recognised functions of a module, by defined-function index: `types` are the module's
/// types, `funcs` every function's type index (imported functions first), `num_imported` the
/// number of imported functions.
pub fn recognise(
    types: &[FuncType],
    funcs: &[u32],
    num_imported: u32,
    bodies: &[FuncInput<'_>],
) -> Vec<Option<LibcFunction>> {
    let prints: Vec<Option<(u64, Vec<u32>)>> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // A malformed module may have fewer types than bodies: validation reports it.
            let ty = funcs.get(num_imported as usize + i)?;
            fingerprint(types.get(*ty as usize)?, &b.body)
        })
        .collect();
    // First the functions that call nothing, then those whose callees are recognised.
    let mut found: Vec<Option<LibcFunction>> = vec![None; bodies.len()];
    for _round in 0..2 {
        for (i, p) in prints.iter().enumerate() {
            let Some((print, callees)) = p else { continue };
            if found[i].is_some() {
                continue;
            }
            let callee_is = |c: u32| {
                c.checked_sub(num_imported)
                    .and_then(|d| found.get(d as usize).copied().flatten())
            };
            found[i] = KNOWN
                .iter()
                .find(|k| {
                    k.fingerprint == *print
                        && k.callees.len() == callees.len()
                        && k.callees
                            .iter()
                            .zip(callees)
                            .all(|(want, &c)| callee_is(c) == Some(*want))
                })
                .map(|k| k.function);
        }
    }
    found
}
