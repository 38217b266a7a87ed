//! The static library linked into everything `wasic build` produces: the runtime, the entry
//! point of executables (`wasic_main`, called by the tiny `main` the CLI links in), and the C API
//! of libraries built with `--lib` ([`capi`]). The compiled module itself is found at the
//! `wasic_module` symbol of the object linked beside it.

pub mod capi;

use std::ffi::{c_char, c_int, CStr};
use wasic_abi::meta::ModuleDescriptor;

unsafe extern "C" {
    pub(crate) static wasic_module: ModuleDescriptor;
    /// The image of the embedded directories and its length (0 for none): the object
    /// `wasic_compiler::runtime_data_object` makes, linked beside the module.
    static wasic_embedded_dirs: u8;
    static wasic_embedded_dirs_len: u64;
    /// The WASI function of each import of the module (null for anything else) and their
    /// number: the same object's table (`wasic_runtime::exec::WasiImports`). Only Rust reads
    /// the entries; the table holds their addresses, as the linker resolved them.
    #[allow(improper_ctypes)]
    static wasic_wasi_imports: Option<&'static wasic_runtime::wasi::WasiEntry>;
    static wasic_wasi_imports_len: u64;
}

/// The WASI function of each import of the module, as linked.
pub(crate) fn wasi_imports() -> wasic_runtime::exec::WasiImports<'static> {
    // SAFETY: the CLI links the object defining both symbols into everything it builds:
    // `wasic_wasi_imports_len` pointers, each null or the address of one of the runtime's
    // `WasiEntry` statics (`Option<&T>` is a nullable pointer), in read-only data that lives as
    // long as the process.
    unsafe { std::slice::from_raw_parts(&wasic_wasi_imports, wasic_wasi_imports_len as usize) }
}

/// The embedded directories' image (empty for none), part of the executable or library.
pub(crate) fn embedded_dirs() -> &'static [u8] {
    // SAFETY: the CLI links the object defining both symbols into everything it builds: the
    // length says how many bytes follow the first one, in read-only data that lives as long
    // as the process.
    unsafe {
        let len = wasic_embedded_dirs_len as usize;
        if len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(&wasic_embedded_dirs, len)
        }
    }
}

/// The body of an executable's `main`. `config` points at the build-time configuration
/// (`wasic_abi::ExecConfig`, encoded), `config_len` is its length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasic_main(
    argc: c_int,
    argv: *const *const c_char,
    config: *const u8,
    config_len: u64,
) -> c_int {
    // SAFETY: the C runtime passes argc valid C strings; the CLI's `main` passes its config.
    unsafe {
        let args = (0..argc.max(0) as usize)
            .map(|i| CStr::from_ptr(*argv.add(i)).to_bytes().to_vec())
            .collect();
        let config = if config.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts(config, config_len as usize)
        };
        let status =
            wasic_runtime::exec::main(&wasic_module, config, embedded_dirs(), wasi_imports(), args);
        // The process ends here, by `exit_group`: returning would run the C library's exit
        // handlers and the runtime's thread-local destructors, which only unmap the wasm and
        // signal stacks the kernel is about to drop anyway (four system calls of a hello
        // world's start to exit). Nothing needs them: WASI output is unbuffered and the runtime
        // never prints to Rust's (buffered) stdout. Through `syscall`, which the runtime
        // imports anyway: binding one more symbol (`_exit`) costs more than the handlers.
        libc::syscall(libc::SYS_exit_group, status);
        // exit_group does not return; `abort` (imported anyway) instead of a panic, whose
        // message formatting would add code.
        libc::abort()
    }
}
