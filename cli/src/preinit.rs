//! `wasic build --preinit`: runs the module's initialisation function at build time (in the
//! sandbox, with the build-time grants), then rewrites the module so that it starts from the
//! state the initialiser left, as Wizer does: memories become data segments of their
//! non-zero bytes (at their new sizes), tables element segments of their non-null entries (at
//! their new sizes), globals get the values they had, the start function (already run) and
//! the initialiser's export are removed. The rewritten module is then
//! compiled like any other.
//!
//! Refused, with a message saying what, because it cannot be carried into a snapshot:
//! descriptors the initialiser opened and left open (or closed or renumbered), a table entry
//! that is not one of the module's functions (a host function, an external reference), a
//! non-null reference in a global, imported memories, tables or globals, and wasi-threads
//! modules.

use crate::{cache, link, CommonArgs};
use anyhow::{anyhow, bail, Context, Result};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use wasic_runtime::exec::{self, EnvGrants, WasiInstance};
use wasic_runtime::{Error, InstanceState};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

/// The export Wizer's convention names the initialiser.
pub const DEFAULT_INIT_FUNC: &str = "wizer.initialize";

/// Zero runs shorter than this stay inside a data segment: fewer segments, a few bytes more.
const MIN_ZERO_GAP: usize = 64;

/// Runs `init_func` of `wasm` and returns the module rewritten to start from its result.
/// `library`: the module is to be built with `--lib` (a reactor or a command); a library
/// gets its grants from its host at run time, so its initialiser runs with none but the
/// embedded directories.
pub fn preinitialize(
    wasm: &[u8],
    input: &Path,
    common: &CommonArgs,
    init_func: &str,
    embedded: Option<wasic_abi::embed::Tree<'static>>,
    library: bool,
) -> Result<Vec<u8>> {
    let what = |e: &dyn std::fmt::Display| anyhow!("{}: --preinit: {e}", input.display());
    let module = cache::compiled_module(wasm, input, common)?;
    let meta = module.meta();
    if exec::uses_threads(meta) {
        bail!(what(
            &"a wasi-threads module cannot be snapshotted (its threads cannot)"
        ));
    }
    if meta.num_imported_memories + meta.num_imported_tables + meta.num_imported_globals > 0 {
        bail!(what(
            &"the module imports a memory, table or global, whose state is not its own to snapshot"
        ));
    }
    if library {
        exec::check_library(meta)
    } else {
        exec::check_command(meta)
    }
    .map_err(|e| what(&e))?;
    let cfg = link::exec_config(common, true)?;
    let env: Vec<(String, String)> = cfg.env.clone();
    let argv = vec![cache::guest_argv0(input).as_bytes().to_vec()];
    let ctx = exec::wasi_ctx_for_process(&cfg, argv, env, EnvGrants::Ignore, embedded)?;
    let mut inst =
        WasiInstance::new(&module, ctx, exec::store_config(&cfg)).map_err(|e| what(&e))?;
    // A reactor is initialised by `_initialize` (the C library's set-up: preopens,
    // constructors): that runs first, at build time too, and the library then starts
    // initialised (its `_initialize` export is removed).
    let reactor_init = library && inst.func("_initialize").is_ok();
    if reactor_init {
        run_init(&mut inst, "_initialize").map_err(|e| what(&e))?;
        if init_func == "_initialize" {
            return finish(wasm, &inst, &["_initialize"]).map_err(|e| what(&e));
        }
    }
    let init = inst.func(init_func).map_err(|_| {
        what(&format!(
            "the module exports no function `{init_func}` (--init-func names another)"
        ))
    })?;
    if !init.ty().params.is_empty() || !init.ty().results.is_empty() {
        bail!(what(&format!(
            "`{init_func}` has type {}, not [] -> []",
            init.ty()
        )));
    }
    run_init(&mut inst, init_func).map_err(|e| what(&e))?;
    let removed: &[&str] = if reactor_init {
        &[init_func, "_initialize"]
    } else {
        &[init_func]
    };
    finish(wasm, &inst, removed).map_err(|e| what(&e))
}

/// Calls the initialiser `name`: an exit or a trap is an error.
fn run_init(inst: &mut WasiInstance, name: &str) -> Result<()> {
    match inst.call(name, &[]) {
        Ok(_) => Ok(()),
        Err(Error::Exit(code)) => bail!("`{name}` exited (status {code}) instead of returning"),
        Err(Error::Trap(t)) => bail!(
            "`{name}` trapped: {}",
            t.report().lines().next().unwrap_or_default()
        ),
        Err(e) => bail!("{e}"),
    }
}

/// The module rewritten from the instance's state, without the exports `removed`, once the
/// WASI state is known to survive the snapshot.
fn finish(wasm: &[u8], inst: &WasiInstance, removed: &[&str]) -> Result<Vec<u8>> {
    if !inst.wasi().is_pristine() {
        bail!("the initialiser left files open (or closed or renumbered descriptors): open files cannot be carried into a snapshot");
    }
    rewrite(wasm, &state(inst), removed)
}

fn state(inst: &WasiInstance) -> InstanceState {
    inst.instance()
        .state(inst.store())
        .expect("the instance belongs to its own store")
}

/// `wasm` changed to start from `state`, without its start function and the exports
/// `removed`.
pub fn rewrite(wasm: &[u8], state: &InstanceState, removed: &[&str]) -> Result<Vec<u8>> {
    use wasm_encoder as enc;
    use wasmparser::{Parser, Payload};
    let mut re = RoundtripReencoder;
    let mut out = enc::Module::new();
    let mut memories: Vec<wasmparser::MemoryType> = Vec::new();
    let mut globals: Vec<wasmparser::GlobalType> = Vec::new();
    // Whether each table is 64-bit (its segments' offsets are i64) and its element type (that
    // of its segments); all are defined here, as imported ones are refused before.
    let mut tables: Vec<(bool, enc::RefType)> = Vec::new();
    let mut had_data = false;
    let mut had_elems = false;
    let tables_used = state.tables.iter().any(|t| t.iter().any(|e| *e != 0));
    let raw = |out: &mut enc::Module, id: u8, range: std::ops::Range<u64>| {
        out.section(&enc::RawSection {
            id,
            data: &wasm[range.start as usize..range.end as usize],
        });
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.context("reading the module")?;
        // Without an element section (which comes before these), the tables' get one here.
        let after_elems = matches!(
            payload,
            Payload::DataCountSection { .. }
                | Payload::CodeSectionStart { .. }
                | Payload::DataSection(_)
        );
        if after_elems && !had_elems {
            had_elems = true;
            if tables_used {
                out.section(&element_section(None, state, &tables, &mut re)?);
            }
        }
        match &payload {
            Payload::MemorySection(r) => {
                let mut s = enc::MemorySection::new();
                for (i, m) in r.clone().into_iter().enumerate() {
                    let m = m?;
                    memories.push(m);
                    let mut ty = re.memory_type(m).map_err(|e| anyhow!("{e:?}"))?;
                    let page = 1u64 << m.page_size_log2.unwrap_or(16);
                    ty.minimum = state
                        .memories
                        .get(i)
                        .map_or(m.initial, |b| b.len() as u64 / page);
                    s.memory(ty);
                }
                out.section(&s);
            }
            Payload::TableSection(r) => {
                let mut s = enc::TableSection::new();
                for (i, t) in r.clone().into_iter().enumerate() {
                    let t = t?;
                    let mut ty = re.table_type(t.ty).map_err(|e| anyhow!("{e:?}"))?;
                    tables.push((t.ty.table64, ty.element_type));
                    ty.minimum = state.tables.get(i).map_or(ty.minimum, |e| e.len() as u64);
                    // Its entries, initial ones included, come from the snapshot's segments.
                    s.table(ty);
                }
                out.section(&s);
            }
            Payload::ElementSection(r) => {
                had_elems = true;
                out.section(&element_section(Some(r), state, &tables, &mut re)?);
            }
            Payload::GlobalSection(r) => {
                let mut s = enc::GlobalSection::new();
                for (i, g) in r.clone().into_iter().enumerate() {
                    let g = g?;
                    globals.push(g.ty);
                    let v = state.globals.get(i).copied().unwrap_or_default();
                    let init = match g.ty.content_type {
                        wasmparser::ValType::I32 => enc::ConstExpr::i32_const(v.as_i32()),
                        wasmparser::ValType::I64 => enc::ConstExpr::i64_const(v.as_i64()),
                        wasmparser::ValType::F32 => {
                            enc::ConstExpr::f32_const(enc::Ieee32::new(v.as_u32()))
                        }
                        wasmparser::ValType::F64 => {
                            enc::ConstExpr::f64_const(enc::Ieee64::new(v.as_u64()))
                        }
                        wasmparser::ValType::V128 => {
                            enc::ConstExpr::v128_const(v.as_u128() as i128)
                        }
                        wasmparser::ValType::Ref(r) => {
                            if v.as_usize() != 0 {
                                bail!("global {i} holds a reference, which cannot be snapshotted");
                            }
                            let heap = re.heap_type(r.heap_type()).map_err(|e| anyhow!("{e:?}"))?;
                            enc::ConstExpr::ref_null(heap)
                        }
                    };
                    s.global(re.global_type(g.ty).map_err(|e| anyhow!("{e:?}"))?, &init);
                }
                out.section(&s);
            }
            Payload::ExportSection(r) => {
                let mut s = enc::ExportSection::new();
                for e in r.clone() {
                    let e = e?;
                    if !removed.contains(&e.name) {
                        s.export(
                            e.name,
                            re.export_kind(e.kind).map_err(|e| anyhow!("{e:?}"))?,
                            e.index,
                        );
                    }
                }
                out.section(&s);
            }
            // It ran at build time, before the initialiser.
            Payload::StartSection { .. } => {}
            Payload::DataCountSection { .. } => {
                let runs: usize = state.memories.iter().map(|m| nonzero_runs(m).len()).sum();
                out.section(&enc::DataCountSection {
                    count: (state.data_dropped.len() + runs) as u32,
                });
            }
            Payload::DataSection(r) => {
                had_data = true;
                out.section(&data_section(Some(r), state, &memories)?);
            }
            Payload::CodeSectionStart { .. } => {
                let (id, range) = payload.as_section().expect("a section");
                raw(&mut out, id, range);
            }
            Payload::End(_) => {}
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    raw(&mut out, id, range);
                }
            }
        }
    }
    if !had_elems && tables_used {
        out.section(&element_section(None, state, &tables, &mut re)?);
    }
    // A module without a data section gets one at the end (custom sections may precede it).
    if !had_data && state.memories.iter().any(|m| m.iter().any(|b| *b != 0)) {
        out.section(&data_section(None, state, &memories)?);
    }
    let bytes = out.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .map_err(|e| anyhow!("the rewritten module does not validate: {e}"))?;
    Ok(bytes)
}

/// The element section of the snapshot: every original segment keeps its index (and type),
/// empty if it was dropped (active ones always are once instantiated), as it was if passive
/// or declared and not dropped; then one active segment per run of non-null entries of each
/// table, as function indices.
fn element_section(
    original: Option<&wasmparser::ElementSectionReader<'_>>,
    state: &InstanceState,
    tables: &[(bool, wasm_encoder::RefType)],
    re: &mut RoundtripReencoder,
) -> Result<wasm_encoder::ElementSection> {
    use std::borrow::Cow;
    use wasm_encoder::Elements;
    let mut s = wasm_encoder::ElementSection::new();
    if let Some(r) = original {
        for (i, e) in r.clone().into_iter().enumerate() {
            let e = e?;
            let empty = state.elems_empty.get(i).copied().unwrap_or(true);
            let keep = match e.kind {
                // `ref.func` in code needs its declaration.
                wasmparser::ElementKind::Declared => true,
                wasmparser::ElementKind::Passive => !empty,
                wasmparser::ElementKind::Active { .. } => false,
            };
            if keep {
                re.parse_element(&mut s, e).map_err(|e| anyhow!("{e:?}"))?;
                continue;
            }
            match e.items {
                wasmparser::ElementItems::Functions(_) => {
                    s.passive(Elements::Functions(Cow::Borrowed(&[])))
                }
                wasmparser::ElementItems::Expressions(ty, _) => {
                    let ty = re.ref_type(ty).map_err(|e| anyhow!("{e:?}"))?;
                    s.passive(Elements::Expressions(ty, Cow::Borrowed(&[])))
                }
            };
        }
    }
    let index: std::collections::HashMap<usize, u32> = state
        .func_refs
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i as u32))
        .collect();
    for (t, entries) in state.tables.iter().enumerate() {
        let mut i = 0;
        while i < entries.len() {
            if entries[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            let mut funcs = Vec::new();
            while i < entries.len() && entries[i] != 0 {
                let f = index.get(&entries[i]).ok_or_else(|| {
                    anyhow!("table {t} holds at {i} a reference that is not one of the module's functions, which cannot be snapshotted")
                })?;
                funcs.push(*f);
                i += 1;
            }
            let (table64, elem) = tables
                .get(t)
                .copied()
                .unwrap_or((false, wasm_encoder::RefType::FUNCREF));
            let offset = if table64 {
                wasm_encoder::ConstExpr::i64_const(start as i64)
            } else {
                wasm_encoder::ConstExpr::i32_const(start as i32)
            };
            // A table of typed function references takes a segment of its own type.
            let items = if elem == wasm_encoder::RefType::FUNCREF {
                Elements::Functions(Cow::Owned(funcs))
            } else {
                let exprs = funcs.into_iter().map(wasm_encoder::ConstExpr::ref_func);
                Elements::Expressions(elem, Cow::Owned(exprs.collect()))
            };
            s.active(Some(t as u32), &offset, items);
        }
    }
    Ok(s)
}

/// The data section of the snapshot: every original segment keeps its index, as an empty
/// passive segment if it was dropped (active ones always are once instantiated) or with its
/// bytes if it is passive and not dropped; then one active segment per non-zero run of each
/// memory.
fn data_section(
    original: Option<&wasmparser::DataSectionReader<'_>>,
    state: &InstanceState,
    memories: &[wasmparser::MemoryType],
) -> Result<wasm_encoder::DataSection> {
    let mut s = wasm_encoder::DataSection::new();
    if let Some(r) = original {
        for (i, d) in r.clone().into_iter().enumerate() {
            let d = d?;
            let dropped = state.data_dropped.get(i).copied().unwrap_or(true);
            let keep = matches!(d.kind, wasmparser::DataKind::Passive) && !dropped;
            s.passive(if keep { d.data.to_vec() } else { Vec::new() });
        }
    }
    for (m, bytes) in state.memories.iter().enumerate() {
        let memory64 = memories.get(m).is_some_and(|t| t.memory64);
        for (start, end) in nonzero_runs(bytes) {
            let offset = if memory64 {
                wasm_encoder::ConstExpr::i64_const(start as i64)
            } else {
                wasm_encoder::ConstExpr::i32_const(start as u32 as i32)
            };
            s.active(m as u32, &offset, bytes[start..end].iter().copied());
        }
    }
    Ok(s)
}

/// The ranges of `bytes` to store: non-zero bytes, runs closer than [`MIN_ZERO_GAP`] merged.
fn nonzero_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != 0 {
            i += 1;
        }
        match runs.last_mut() {
            Some(last) if start - last.1 < MIN_ZERO_GAP => last.1 = i,
            _ => runs.push((start, i)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_runs_shorter_than_the_gap_are_merged_and_zero_memory_stores_nothing() {
        assert!(nonzero_runs(&[0; 100]).is_empty());
        let mut b = vec![0u8; 1000];
        b[10] = 1;
        b[20] = 2;
        b[500] = 3;
        assert_eq!(nonzero_runs(&b), [(10, 21), (500, 501)]);
    }
}
