//! The C API of libraries built with `wasic build --lib`, declared in `rt/include/wasic.h`
//! (which the CLI embeds into the header it generates with `--header`). Each `wasic_instance_t`
//! is one instance of the library's module in its own store, with its own WASI grants; several
//! may live at once. Every function reports failure through its return value (`WASIC_OK` = 0,
//! `WASIC_TRAP` = 1, `WASIC_EXIT` = 2, `WASIC_ERROR` = 3) and `wasic_last_error()` describes the
//! last failure of the calling thread: a trap never takes the host process down.
//!
//! Every exported function is defined inside the `c_api!` invocation below, which also lists
//! them with their Rust signatures for the test that compiles `wasic.h` against them: the
//! header declares exactly these functions, with the same C types.

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

/// The embedded directories' tree, validated once.
fn embedded_tree() -> Result<Option<wasic_abi::embed::Tree<'static>>, Error> {
    static TREE: std::sync::OnceLock<Result<Option<wasic_abi::embed::Tree<'static>>, String>> =
        std::sync::OnceLock::new();
    TREE.get_or_init(|| {
        let image = crate::embedded_dirs();
        if image.is_empty() {
            return Ok(None);
        }
        wasic_abi::embed::Tree::parse(image)
            .map(Some)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Host)
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

/// Defines the exported functions given to it (each `#[unsafe(no_mangle)]`, `extern "C"`) and,
/// for the tests, `C_API`: each one's name and Rust signature.
macro_rules! c_api {
    (@munch [$($sig:tt)*]) => {
        /// Every function of the C API with its Rust signature.
        #[cfg(test)]
        const C_API: &[tests::Signature] = &[$(c_api!(@sig $sig),)*];
    };
    (@munch [$($sig:tt)*]
        $(#[$m:meta])*
        pub extern "C" fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
        $($rest:tt)*
    ) => {
        $(#[$m])*
        #[unsafe(no_mangle)]
        pub extern "C" fn $name($($arg: $ty),*) $(-> $ret)? $body
        c_api!(@munch [$($sig)* { $name ($($ty),*) $(-> $ret)? }] $($rest)*);
    };
    (@munch [$($sig:tt)*]
        $(#[$m:meta])*
        pub unsafe extern "C" fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
        $($rest:tt)*
    ) => {
        $(#[$m])*
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? $body
        c_api!(@munch [$($sig)* { $name ($($ty),*) $(-> $ret)? }] $($rest)*);
    };
    (@sig { $name:ident ($($ty:ty),*) }) => { c_api!(@sig { $name ($($ty),*) -> () }) };
    (@sig { $name:ident ($($ty:ty),*) -> $ret:ty }) => {
        tests::Signature {
            name: stringify!($name),
            ret: <$ret as tests::CType>::c,
            params: &[$(<$ty as tests::CType>::c),*],
        }
    };
    ($($items:tt)*) => { c_api!(@munch [] $($items)*); };
}

// SAFETY, for every `unsafe` block below: the header's contract makes each pointer argument
// NULL (checked) or valid for what the function does with it: configs and instances come from
// their `_new` and are not used after their `_free`, strings are NUL-terminated, `values` points
// at `nvalues` cells and `exit_code`/`len` at writable ones.
c_api! {
    /// Description of the last failure on this thread (valid until the next failing call).
    pub extern "C" fn wasic_last_error() -> *const c_char {
        LAST_ERROR.with(|e| e.borrow().as_ptr())
    }

    pub extern "C" fn wasic_config_new() -> *mut Config {
        Box::into_raw(Box::default())
    }

    pub unsafe extern "C" fn wasic_config_free(cfg: *mut Config) {
        if !cfg.is_null() {
            drop(unsafe { Box::from_raw(cfg) });
        }
    }

    /// Appends an argument (the first one is the program's `argv[0]`).
    pub unsafe extern "C" fn wasic_config_arg(cfg: *mut Config, arg: *const c_char) {
        if let (Some(cfg), Some(a)) = (unsafe { cfg.as_mut() }, unsafe { cstr(arg) }) {
            cfg.args.push(a.to_vec());
        }
    }

    pub unsafe extern "C" fn wasic_config_env(
        cfg: *mut Config,
        name: *const c_char,
        value: *const c_char,
    ) {
        let (cfg, name, value) = unsafe { (cfg.as_mut(), cstr(name), cstr(value)) };
        if let (Some(cfg), Some(n), Some(v)) = (cfg, name, value) {
            cfg.env.push((n.to_vec(), v.to_vec()));
        }
    }

    /// Grants the host directory `host` to the guest as `guest` (NULL: the same path).
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
    pub unsafe extern "C" fn wasic_config_max_memory(cfg: *mut Config, bytes: u64) {
        if let Some(cfg) = unsafe { cfg.as_mut() } {
            cfg.max_memory = Some(bytes);
        }
    }

    /// Creates an instance with the grants of `cfg` (NULL: none). Returns NULL on failure.
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
            // The directories embedded at build time, after the host's (a host directory at
            // the same guest path replaces one), as in executables.
            if let Some(tree) = embedded_tree()? {
                for (guest, node) in tree.roots() {
                    let name = String::from_utf8_lossy(guest);
                    if !cfg.dirs.iter().any(|(_, g)| *g == name) {
                        b = b.preopen_embedded(tree, node, name);
                    }
                }
            }
            if let Some((i, o, e)) = cfg.stdio {
                b = b.stdin(i).stdout(o).stderr(e);
            }
            let ctx = b.build().map_err(|e| Error::Host(e.to_string()))?;
            let config = StoreConfig {
                max_memory: cfg.max_memory,
                ..StoreConfig::default()
            };
            WasiInstance::new_linked(&module()?, ctx, config, crate::wasi_imports())
        })();
        match r {
            Ok(i) => Box::into_raw(Box::new(i)),
            Err(e) => {
                status(&e);
                std::ptr::null_mut()
            }
        }
    }

    pub unsafe extern "C" fn wasic_instance_free(inst: *mut WasiInstance) {
        if !inst.is_null() {
            drop(unsafe { Box::from_raw(inst) });
        }
    }

    /// Runs the reactor's `_initialize` (if any). Exactly once: a second call fails.
    pub unsafe extern "C" fn wasic_instance_initialize(inst: *mut WasiInstance) -> c_int {
        with_instance(inst, |i| i.initialize())
    }

    /// Runs a command's `_start`; stores its exit status (0, or the `proc_exit` code) in
    /// `*exit_code` instead of exiting the host process.
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
    pub unsafe extern "C" fn wasic_instance_call(
        inst: *mut WasiInstance,
        name: *const c_char,
        values: *mut ValRaw,
        nvalues: usize,
    ) -> c_int {
        with_instance(inst, |i| {
            let name =
                unsafe { cstr(name) }.ok_or_else(|| Error::Usage("null export name".into()))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// A function of the C API as Rust defines it, its types spelled in C.
    pub(super) struct Signature {
        pub name: &'static str,
        pub ret: fn() -> String,
        pub params: &'static [fn() -> String],
    }

    /// The C spelling of a Rust type of the C API, as `wasic.h` must write it.
    pub(super) trait CType {
        fn c() -> String;
    }

    macro_rules! c_types {
        ($($rust:ty => $c:literal,)*) => {
            $(impl CType for $rust {
                fn c() -> String {
                    $c.to_string()
                }
            })*
        };
    }

    c_types! {
        () => "void",
        c_int => "int",
        c_char => "char",
        u8 => "uint8_t",
        u64 => "uint64_t",
        usize => "size_t",
        Config => "wasic_config_t",
        WasiInstance => "wasic_instance_t",
        ValRaw => "wasic_val_t",
    }

    impl<T: CType> CType for *const T {
        fn c() -> String {
            format!("const {} *", T::c())
        }
    }

    impl<T: CType> CType for *mut T {
        fn c() -> String {
            format!("{} *", T::c())
        }
    }

    /// A C file that includes `wasic.h` and initializes, for each signature, a pointer of the
    /// Rust definition's type with the function the header declares: an undeclared function or
    /// one declared with other types does not compile. The status codes and the value cell's
    /// layout are checked the same way.
    fn check_source(signatures: &[Signature]) -> String {
        let mut c = String::from("#include \"wasic.h\"\n\n");
        for s in signatures {
            let params: Vec<String> = s.params.iter().map(|p| p()).collect();
            let params = if params.is_empty() {
                "void".to_string()
            } else {
                params.join(", ")
            };
            c += &format!(
                "{} (*const check_{})({params}) = {};\n",
                (s.ret)(),
                s.name,
                s.name
            );
        }
        for (name, value) in [
            ("WASIC_OK", WASIC_OK),
            ("WASIC_TRAP", WASIC_TRAP),
            ("WASIC_EXIT", WASIC_EXIT),
            ("WASIC_ERROR", WASIC_ERROR),
        ] {
            c += &format!("_Static_assert({name} == {value}, \"{name}\");\n");
        }
        let (size, align) = (size_of::<ValRaw>(), align_of::<ValRaw>());
        c += &format!(
            "_Static_assert(sizeof(wasic_val_t) == {size} && _Alignof(wasic_val_t) == {align}, \
             \"wasic_val_t is ValRaw\");\n"
        );
        c
    }

    /// Compiles C `source` against `rt/include/wasic.h`; `Err(diagnostics)` if it does not.
    fn compile_c(source: &str) -> Result<(), String> {
        let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
        let mut child = Command::new("cc")
            .args([
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(include)
            .args(["-x", "c", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("MISSING TOOL: cannot run `cc` ({e}): install gcc"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(source.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    #[test]
    fn wasic_h_declares_exactly_the_functions_defined_here() {
        let defined: BTreeSet<&str> = C_API.iter().map(|s| s.name).collect();
        let declared: BTreeSet<&str> = wasic_abi::capi::SYMBOLS.iter().copied().collect();
        assert_eq!(defined.len(), C_API.len());
        assert_eq!(declared.len(), wasic_abi::capi::SYMBOLS.len());
        assert_eq!(declared, defined, "wasic.h vs rt/src/capi.rs");
    }

    #[test]
    fn wasic_h_prototypes_have_the_c_types_of_the_rust_definitions() {
        let source = check_source(C_API);
        if let Err(diagnostics) = compile_c(&source) {
            panic!("wasic.h disagrees with rt/src/capi.rs:\n{diagnostics}\n{source}");
        }
    }

    /// The check above can fail: a pointer type that differs from the header's only in a
    /// `const` is rejected, and so is a function the header does not declare.
    #[test]
    fn the_prototype_check_rejects_a_type_or_name_the_header_does_not_have() {
        fn mutable_char() -> String {
            "char *".to_string()
        }
        let wrong_type = Signature {
            name: "wasic_config_arg",
            ret: <() as CType>::c,
            params: &[<*mut Config as CType>::c, mutable_char],
        };
        let e = compile_c(&check_source(&[wrong_type])).unwrap_err();
        assert!(e.contains("incompatible"), "{e}");
        let undeclared = Signature {
            name: "wasic_config_undeclared",
            ret: <() as CType>::c,
            params: &[],
        };
        let e = compile_c(&check_source(&[undeclared])).unwrap_err();
        assert!(e.contains("wasic_config_undeclared"), "{e}");
    }
}
