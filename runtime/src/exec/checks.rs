//! Whether a module is something wasic can run: a WASI command (which may use wasi-threads),
//! or a library importing only WASI functions with their right types.

use super::threads::{
    thread_spawn_type, thread_start_type, uses_threads, COMMAND_ONLY, THREAD_SPAWN, THREAD_START,
};
use crate::wasi;
use wasic_abi::meta::{ExternKind, ImportKind, ModuleMeta};

/// Checks that `meta` is a command wasic can run: it exports `_start` and imports only WASI
/// functions with their right types, or is a wasi-threads program (imports `thread-spawn`
/// and a shared memory, exports `wasi_thread_start`). The message names the offending export
/// or import.
pub fn check_command(meta: &ModuleMeta) -> Result<(), String> {
    check_command_exports(
        meta.exports
            .iter()
            .map(|e| (e.name.as_str(), e.kind == ExternKind::Func)),
    )?;
    check_imports_of(meta, true)
}

/// The export half of [`check_command`], on (name, is a function) pairs: the CLI runs it on
/// the export section alone, so a reactor is refused before anything is compiled.
pub fn check_command_exports<'a>(
    exports: impl IntoIterator<Item = (&'a str, bool)>,
) -> Result<(), String> {
    let (mut start, mut initialize) = (false, false);
    for (name, is_func) in exports {
        start |= name == "_start" && is_func;
        initialize |= name == "_initialize";
    }
    if start {
        return Ok(());
    }
    let kind = if initialize {
        "it is a reactor (exports `_initialize`, no `_start`)"
    } else {
        "it exports no `_start` function"
    };
    Err(format!(
        "module is not a WASI command: {kind}; build it as a library with `wasic build --lib`, \
         or call one of its exports with `wasic run --invoke NAME`"
    ))
}

/// Checks that every import of `meta` is a WASI function wasic provides, with its type.
pub fn check_imports(meta: &ModuleMeta) -> Result<(), String> {
    check_imports_of(meta, false)
}

/// [`check_imports`], allowing wasi-threads' imports when `threads`.
fn check_imports_of(meta: &ModuleMeta, threads: bool) -> Result<(), String> {
    if uses_threads(meta) {
        if !threads {
            return Err(COMMAND_ONLY.into());
        }
        check_threads(meta)?;
    }
    // WASI preview1 passes 32-bit pointers into memory 0.
    let memory0 = match meta.imports.iter().find_map(|i| match &i.kind {
        ImportKind::Memory(m) => Some(m),
        _ => None,
    }) {
        Some(m) => Some(m),
        None => meta.memories.first(),
    };
    if memory0.is_some_and(|m| m.memory64) && !meta.imports.is_empty() {
        return Err("WASI preview1 needs a 32-bit memory 0, but this module's memory 0 is 64-bit (memory64)".into());
    }
    let funcs = wasi::functions();
    for imp in &meta.imports {
        if threads && (imp.module.as_str(), imp.name.as_str()) == THREAD_SPAWN {
            continue;
        }
        if threads && matches!(&imp.kind, ImportKind::Memory(m) if m.shared) {
            continue;
        }
        let ImportKind::Func(t) = imp.kind else {
            return Err(format!(
                "unsupported import `{}`.`{}`: only WASI functions can be imported",
                imp.module, imp.name
            ));
        };
        let Some(f) = funcs
            .iter()
            .find(|f| f.module == imp.module && f.name == imp.name)
        else {
            return Err(format!(
                "unknown import `{}`.`{}`: not a WASI preview1 function",
                imp.module, imp.name
            ));
        };
        if f.ty != meta.types[t as usize] {
            return Err(format!(
                "import `{}`.`{}` has type {} but WASI defines {}",
                imp.module, imp.name, meta.types[t as usize], f.ty
            ));
        }
    }
    Ok(())
}

/// The shape wasi-threads requires: `thread-spawn` of type `(i32) -> i32` (if imported), at
/// most one imported memory, shared, no memory of its own, and `wasi_thread_start` of type
/// `(i32, i32) -> ()` exported.
fn check_threads(meta: &ModuleMeta) -> Result<(), String> {
    let (module, name) = THREAD_SPAWN;
    for imp in &meta.imports {
        match &imp.kind {
            ImportKind::Func(t) if imp.module == module && imp.name == name => {
                if meta.types[*t as usize] != thread_spawn_type() {
                    return Err(format!(
                        "import `{module}`.`{name}` has type {} but wasi-threads defines {}",
                        meta.types[*t as usize],
                        thread_spawn_type()
                    ));
                }
            }
            ImportKind::Memory(m) if !m.shared => {
                return Err(format!(
                    "unsupported import `{}`.`{}`: a wasi-threads module imports a shared memory",
                    imp.module, imp.name
                ))
            }
            _ => {}
        }
    }
    let memories = meta
        .imports
        .iter()
        .filter(|i| matches!(i.kind, ImportKind::Memory(_)))
        .count();
    if memories > 1 || !meta.memories.is_empty() {
        return Err("a wasi-threads module has exactly one memory, the imported shared one".into());
    }
    let start = meta
        .exports
        .iter()
        .find(|e| e.name == THREAD_START && e.kind == ExternKind::Func);
    let Some(start) = start else {
        return Err(format!(
            "module uses wasi-threads but exports no `{THREAD_START}` function"
        ));
    };
    let ty = &meta.types[meta.funcs[start.index as usize] as usize];
    if *ty != thread_start_type() {
        return Err(format!(
            "export `{THREAD_START}` has type {ty} but wasi-threads defines {}",
            thread_start_type()
        ));
    }
    Ok(())
}

/// Checks that `meta` can be loaded as a library: it imports only WASI functions.
/// Reactors (`_initialize`) and commands (`_start`) both qualify.
pub fn check_library(meta: &ModuleMeta) -> Result<(), String> {
    check_imports(meta)
}
