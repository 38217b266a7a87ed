//! The static library linked into every executable `wasic build` produces: the runtime plus the
//! C `main` that runs the compiled module found at `wasic_module` with the configuration found
//! at `wasic_exec_config` (an object the CLI generates at link time).

use std::ffi::{c_char, c_int, CStr};
use wasic_abi::meta::ModuleDescriptor;

unsafe extern "C" {
    static wasic_module: ModuleDescriptor;
    static wasic_exec_config: u8;
    static wasic_exec_config_len: u64;
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the C runtime passes argc valid C strings; the symbols are defined by the two
    // objects the CLI links with this library.
    unsafe {
        let args = (0..argc.max(0) as usize)
            .map(|i| CStr::from_ptr(*argv.add(i)).to_bytes().to_vec())
            .collect();
        let config = std::slice::from_raw_parts(
            &raw const wasic_exec_config,
            wasic_exec_config_len as usize,
        );
        wasic_runtime::exec::main(&wasic_module, config, args)
    }
}
