//! The C API of libraries built with `wasic build --lib` (declared in the header the CLI
//! generates with `--header`). Each `wasic_instance_t` is one instance of the library's module
//! in its own store, with its own WASI grants; several may live at once. Every function reports
//! failure through its return value (`WASIC_OK` = 0, `WASIC_TRAP` = 1, `WASIC_EXIT` = 2,
//! `WASIC_ERROR` = 3) and `wasic_last_error()` describes the last failure of the calling thread:
//! a trap never takes the host process down.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Arc;
use wasic_abi::ValRaw;
use wasic_runtime::exec::WasiInstance;
use wasic_runtime::wasi::WasiCtxBuilder;
use wasic_runtime::{Error, Module, StoreConfig};

pub const WASIC_OK: c_int = 0;
pub const WASIC_TRAP: c_int = 1;
pub const WASIC_EXIT: c_int = 2;
pub const WASIC_ERROR: c_int = 3;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: impl Into<String>) {
    let msg = msg.into().replace('\0', " ");
    LAST_ERROR.with(|e| *e.borrow_mut() = CString::new(msg).unwrap_or_default());
}

fn status(e: &Error) -> c_int {
    set_error(match e {
        Error::Trap(t) => t.report(),
        e => e.to_string(),
    });
    match e {
        Error::Trap(_) => WASIC_TRAP,
        Error::Exit(_) => WASIC_EXIT,
        _ => WASIC_ERROR,
    }
}

/// Description of the last failure on this thread (valid until the next failing call).
#[unsafe(no_mangle)]
pub extern "C" fn wasic_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// WASI grants of an instance to be created.
#[derive(Default)]
pub struct Config {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    dirs: Vec<(String, String)>,
    stdio: Option<(c_int, c_int, c_int)>,
    max_memory: Option<u64>,
}

unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: the caller passes NUL-terminated strings or NULL.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

#[unsafe(no_mangle)]
pub extern "C" fn wasic_config_new() -> *mut Config {
    Box::into_raw(Box::default())
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_free(cfg: *mut Config) {
    if !cfg.is_null() {
        drop(unsafe { Box::from_raw(cfg) });
    }
}

/// Appends an argument (the first one is the program's `argv[0]`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_arg(cfg: *mut Config, arg: *const c_char) {
    if let (Some(cfg), Some(a)) = (unsafe { cfg.as_mut() }, unsafe { cstr(arg) }) {
        cfg.args.push(a.to_vec());
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_env(
    cfg: *mut Config,
    name: *const c_char,
    value: *const c_char,
) {
    if let (Some(cfg), Some(n), Some(v)) =
        (unsafe { cfg.as_mut() }, unsafe { cstr(name) }, unsafe {
            cstr(value)
        })
    {
        cfg.env.push((n.to_vec(), v.to_vec()));
    }
}

/// Grants the host directory `host` to the guest as `guest` (NULL: the same path).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_dir(
    cfg: *mut Config,
    host: *const c_char,
    guest: *const c_char,
) {
    let Some(cfg) = (unsafe { cfg.as_mut() }) else {
        return;
    };
    let Some(h) = (unsafe { cstr(host) }) else {
        return;
    };
    let h = String::from_utf8_lossy(h).into_owned();
    let g = unsafe { cstr(guest) }
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .unwrap_or_else(|| h.clone());
    cfg.dirs.push((h, g));
}

/// Host file descriptors the guest sees as its stdin, stdout and stderr.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_stdio(
    cfg: *mut Config,
    stdin_fd: c_int,
    stdout_fd: c_int,
    stderr_fd: c_int,
) {
    if let Some(cfg) = unsafe { cfg.as_mut() } {
        cfg.stdio = Some((stdin_fd, stdout_fd, stderr_fd));
    }
}

/// Caps the size of the instance's linear memory (memory.grow beyond it fails).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_config_max_memory(cfg: *mut Config, bytes: u64) {
    if let Some(cfg) = unsafe { cfg.as_mut() } {
        cfg.max_memory = Some(bytes);
    }
}

/// The library's module, loaded once per process.
fn module() -> Result<Arc<Module>, Error> {
    static MODULE: std::sync::OnceLock<Result<Arc<Module>, String>> = std::sync::OnceLock::new();
    // SAFETY: `wasic_module` is the descriptor the compiler emitted into this library.
    MODULE
        .get_or_init(|| {
            unsafe { Module::from_descriptor(&crate::wasic_module) }.map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Host)
}

/// Creates an instance with the grants of `cfg` (NULL: none). Returns NULL on failure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_new(cfg: *const Config) -> *mut WasiInstance {
    let default = Config::default();
    let cfg = unsafe { cfg.as_ref() }.unwrap_or(&default);
    let r = (|| {
        let mut b = WasiCtxBuilder::new().args(cfg.args.clone());
        for (n, v) in &cfg.env {
            b = b.env(n.clone(), v.clone());
        }
        for (h, g) in &cfg.dirs {
            b = b
                .preopen_dir(h, g.as_str())
                .map_err(|e| Error::Host(e.to_string()))?;
        }
        if let Some((i, o, e)) = cfg.stdio {
            b = b.stdin(i).stdout(o).stderr(e);
        }
        let ctx = b.build().map_err(|e| Error::Host(e.to_string()))?;
        let config = StoreConfig {
            max_memory: cfg.max_memory,
            ..StoreConfig::default()
        };
        WasiInstance::new(&module()?, ctx, config)
    })();
    match r {
        Ok(i) => Box::into_raw(Box::new(i)),
        Err(e) => {
            status(&e);
            std::ptr::null_mut()
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_free(inst: *mut WasiInstance) {
    if !inst.is_null() {
        drop(unsafe { Box::from_raw(inst) });
    }
}

fn with_instance(
    inst: *mut WasiInstance,
    f: impl FnOnce(&mut WasiInstance) -> Result<(), Error>,
) -> c_int {
    // SAFETY: the caller passes an instance from `wasic_instance_new` (or NULL).
    let Some(inst) = (unsafe { inst.as_mut() }) else {
        set_error("null instance");
        return WASIC_ERROR;
    };
    match f(inst) {
        Ok(()) => WASIC_OK,
        Err(e) => status(&e),
    }
}

/// Runs the reactor's `_initialize` (if any). Exactly once: a second call fails.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_initialize(inst: *mut WasiInstance) -> c_int {
    with_instance(inst, |i| i.initialize())
}

/// Runs a command's `_start`; stores its exit status (0, or the `proc_exit` code) in
/// `*exit_code` instead of exiting the host process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_start(
    inst: *mut WasiInstance,
    exit_code: *mut c_int,
) -> c_int {
    with_instance(inst, |i| {
        let code = i.start()?;
        if !exit_code.is_null() {
            unsafe { *exit_code = code };
        }
        Ok(())
    })
}

/// Calls export `name`: parameters in `values[0..params]`, results written to
/// `values[0..results]`; `nvalues` must be at least the larger of the two counts.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_call(
    inst: *mut WasiInstance,
    name: *const c_char,
    values: *mut ValRaw,
    nvalues: usize,
) -> c_int {
    with_instance(inst, |i| {
        let name = unsafe { cstr(name) }.ok_or_else(|| Error::Usage("null export name".into()))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| Error::Usage("export name is not UTF-8".into()))?;
        let values: &mut [ValRaw] = if nvalues == 0 {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(values, nvalues) }
        };
        i.call_raw(name, values)
    })
}

/// The exported memory `memory`: its base, and its current size in `*len`. NULL if none.
/// The pointer stays valid until the memory grows... and then still does: memories never move.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_instance_memory(
    inst: *mut WasiInstance,
    len: *mut usize,
) -> *mut u8 {
    let Some(inst) = (unsafe { inst.as_mut() }) else {
        return std::ptr::null_mut();
    };
    match inst.memory() {
        Some(m) => {
            if !len.is_null() {
                unsafe { *len = m.len() };
            }
            m.as_mut_ptr()
        }
        None => std::ptr::null_mut(),
    }
}
