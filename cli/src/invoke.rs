//! `wasic run --invoke NAME`: compile in process (through the compile cache, see `cache.rs`),
//! instantiate with WASI (running `_initialize` for reactors), call one export and print each
//! result on its own line, as `wasmtime run --invoke` does: the export's parameters are parsed
//! from the first ARGS by their types, and the program's argv is the module's file name
//! followed by all ARGS (an entry point may read its own arguments, beyond its parameters,
//! from argv). Only the command line grants anything: `WASIC_*` variables of the environment
//! are ignored.

use crate::{cache, link, CommonArgs};
use anyhow::{anyhow, bail, Result};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use wasic_abi::ValType;
use wasic_runtime::exec::{self, EnvGrants, WasiInstance};
use wasic_runtime::Val;

/// The digits after a `0x` prefix, if there is one.
fn hex(s: &str) -> Option<&str> {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
}

/// An integer in decimal or, after `0x`, hexadecimal (as wasmtime reads them), in the signed
/// or the unsigned range of the type.
fn parse_i32(s: &str) -> Option<i32> {
    match hex(s) {
        Some(h) => u32::from_str_radix(h, 16).ok().map(|v| v as i32),
        None => s
            .parse::<i32>()
            .ok()
            .or_else(|| s.parse::<u32>().ok().map(|v| v as i32)),
    }
}

fn parse_i64(s: &str) -> Option<i64> {
    match hex(s) {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|v| v as i64),
        None => s
            .parse::<i64>()
            .ok()
            .or_else(|| s.parse::<u64>().ok().map(|v| v as i64)),
    }
}

fn parse_arg(s: &str, ty: ValType) -> Option<Val> {
    Some(match ty {
        ValType::I32 => Val::I32(parse_i32(s)?),
        ValType::I64 => Val::I64(parse_i64(s)?),
        ValType::F32 => Val::F32(s.parse::<f32>().ok()?.to_bits()),
        ValType::F64 => Val::F64(s.parse::<f64>().ok()?.to_bits()),
        // A reference argument can only be null (`null`), where the type allows it.
        ValType::Ref(r) if r.nullable && s == "null" => wasic_runtime::instance::null_ref(r),
        _ => return None,
    })
}

/// A result as `wasmtime run --invoke` prints it: numbers plainly, references by their type's
/// hierarchy only (`<funcref>`, `<null externref>`, `<anyref>`, ...).
fn show(v: &Val, ty: ValType) -> String {
    let hierarchy = |r: wasic_abi::RefType| match r.heap.top() {
        wasic_abi::HeapType::Func => "funcref",
        wasic_abi::HeapType::Extern => "externref",
        wasic_abi::HeapType::Exn => "exnref",
        _ => "anyref",
    };
    match (v, ty) {
        (Val::I32(x), _) => x.to_string(),
        (Val::I64(x), _) => x.to_string(),
        (Val::F32(b), _) => f32::from_bits(*b).to_string(),
        (Val::F64(b), _) => f64::from_bits(*b).to_string(),
        (Val::V128(x), _) => format!("{x:#034x}"),
        (
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None),
            ValType::Ref(r),
        ) => {
            format!("<null {}>", hierarchy(r))
        }
        (_, ValType::Ref(r)) => format!("<{}>", hierarchy(r)),
        (other, _) => format!("{other:?}"),
    }
}

pub fn invoke(
    wasm: &[u8],
    input: &Path,
    name: &str,
    args: &[String],
    common: &CommonArgs,
) -> Result<i32> {
    let module = cache::compiled_module(wasm, input, common)?;
    exec::check_library(module.meta()).map_err(|e| anyhow!("{}: {e}", input.display()))?;
    let cfg = link::exec_config(common, true)?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let argv = std::iter::once(cache::guest_argv0(input).as_bytes().to_vec())
        .chain(args.iter().map(|a| a.as_bytes().to_vec()))
        .collect();
    let ctx = exec::wasi_ctx_for_process(&cfg, argv, env, EnvGrants::Ignore, None)?;
    let mut inst =
        WasiInstance::new(&module, ctx, exec::store_config(&cfg)).map_err(|e| anyhow!("{e}"))?;
    let f = inst.func(name).map_err(|e| anyhow!("{e}"))?;
    let ty = f.ty();
    if args.len() < ty.params.len() {
        bail!(
            "function `{name}` takes {} argument(s) {ty}, got {}",
            ty.params.len(),
            args.len()
        );
    }
    let vals = args
        .iter()
        .zip(&ty.params)
        .enumerate()
        .map(|(i, (a, t))| {
            parse_arg(a, *t)
                .ok_or_else(|| anyhow!("argument {} of `{name}`: `{a}` is not a valid {t}", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    exec::with_timeout(&cfg, || {
        if inst.is_reactor() {
            if let Err(e) = inst.initialize() {
                return Ok(exec::report_error(&e));
            }
        }
        match inst.call(name, &vals) {
            Ok(results) => {
                for (r, t) in results.iter().zip(&ty.results) {
                    println!("{}", show(r, *t));
                }
                Ok(0)
            }
            Err(e) => Ok(exec::report_error(&e)),
        }
    })
}
