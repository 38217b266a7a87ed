//! The entry object of executables: defines the C `main`, which passes argc, argv and the
//! build-time configuration (`wasic_exec_config`, bytes the CLI supplies) to the runtime's
//! `wasic_main(argc, argv, config, config_len)`; and the object holding the image of the
//! embedded directories and the WASI imports ([`runtime_data_object`]), which executables and libraries link. Generated with Cranelift like everything else
//! wasic emits, so no machine code is written by hand and the runtime library needs no `main`
//! of its own (libraries built with `--lib` link the same runtime without it).

use crate::{isa, CompileError, CompileOptions};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};

fn err(e: impl std::fmt::Display) -> CompileError {
    CompileError::Object(e.to_string())
}

/// An object defining `main` and `wasic_exec_config` (holding `config`).
pub fn entry_object(config: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, CompileError> {
    // Position-independent, so the executable (a PIE) needs no relocations in its text.
    let isa = isa::build_isa_with(opts, true)?;
    let builder = ObjectBuilder::new(
        isa,
        "wasic-entry",
        cranelift_module::default_libcall_names(),
    )
    .map_err(err)?;
    let mut module = ObjectModule::new(builder);
    let frontend = module.target_config();
    let ptr = frontend.pointer_type();

    let data_id = module
        .declare_data("wasic_exec_config", Linkage::Local, false, false)
        .map_err(err)?;
    let mut data = DataDescription::new();
    data.define(config.to_vec().into_boxed_slice());
    module.define_data(data_id, &data).map_err(err)?;

    let mut main_sig = Signature::new(CallConv::SystemV);
    main_sig.params.push(AbiParam::new(types::I32));
    main_sig.params.push(AbiParam::new(ptr));
    main_sig.returns.push(AbiParam::new(types::I32));
    let main_id = module
        .declare_function("main", Linkage::Export, &main_sig)
        .map_err(err)?;

    let mut rt_sig = Signature::new(CallConv::SystemV);
    for t in [types::I32, ptr, ptr, types::I64] {
        rt_sig.params.push(AbiParam::new(t));
    }
    rt_sig.returns.push(AbiParam::new(types::I32));
    let rt_id = module
        .declare_function("wasic_main", Linkage::Import, &rt_sig)
        .map_err(err)?;

    let mut ctx = module.make_context();
    ctx.func.signature = main_sig;
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let p = crate::translate::start_entry_block(&mut b);
        let (argc, argv) = (p[0], p[1]);
        let gv = module.declare_data_in_func(data_id, b.func);
        let cfg = b.ins().symbol_value(ptr, gv);
        let len = b.ins().iconst(types::I64, config.len() as i64);
        let callee = module.declare_func_in_func(rt_id, b.func);
        let call = b.ins().call(callee, &[argc, argv, cfg, len]);
        let ret = b.inst_results(call)[0];
        b.ins().return_(&[ret]);
        b.finalize(frontend);
    }
    module.define_function(main_id, &mut ctx).map_err(err)?;
    module.finish().emit().map_err(err)
}

/// The object of what the runtime reads at link-time symbols, which every executable and
/// library links:
///
/// - `wasic_embedded_dirs` (the image of the embedded directories, `wasic_abi::embed`,
///   page-aligned read-only data the loader maps from the file, so nothing is read before the
///   guest reads a file) and `wasic_embedded_dirs_len` (its length, a u64; 0 for none);
/// - `wasic_wasi_imports`, one pointer per import of the module: to the runtime library's
///   entry of the WASI function it is (the symbol `wasi_symbols` names,
///   `wasic_runtime::wasi::WasiEntry::symbol`), or null; and `wasic_wasi_imports_len` (a u64). Through
///   it alone the executable refers to WASI functions, so the linker keeps only these.
pub fn runtime_data_object(
    image: &[u8],
    wasi_symbols: &[Option<String>],
    opts: &CompileOptions,
) -> Result<Vec<u8>, CompileError> {
    let isa = isa::build_isa_with(opts, true)?;
    let builder = ObjectBuilder::new(
        isa,
        "wasic-embedded",
        cranelift_module::default_libcall_names(),
    )
    .map_err(err)?;
    let mut module = ObjectModule::new(builder);
    let mut bytes = image.to_vec();
    if bytes.is_empty() {
        // A symbol needs a byte to point at.
        bytes.push(0);
    }
    for (name, data, align) in [
        (
            "wasic_embedded_dirs",
            bytes,
            wasic_abi::embed::DATA_ALIGN as u64,
        ),
        (
            "wasic_embedded_dirs_len",
            (image.len() as u64).to_le_bytes().to_vec(),
            8,
        ),
    ] {
        let id = module
            .declare_data(name, Linkage::Export, false, false)
            .map_err(err)?;
        let mut d = DataDescription::new();
        d.define(data.into_boxed_slice());
        d.set_align(align);
        module.define_data(id, &d).map_err(err)?;
    }
    // The table, with a word even when empty (a symbol needs something to point at).
    let table = module
        .declare_data("wasic_wasi_imports", Linkage::Export, false, false)
        .map_err(err)?;
    let mut d = DataDescription::new();
    d.define(vec![0u8; 8 * wasi_symbols.len().max(1)].into_boxed_slice());
    d.set_align(8);
    for (i, sym) in wasi_symbols.iter().enumerate() {
        if let Some(sym) = sym {
            let id = module
                .declare_data(sym, Linkage::Import, false, false)
                .map_err(err)?;
            let gv = module.declare_data_in_data(id, &mut d);
            d.write_data_addr((8 * i) as u32, gv, 0);
        }
    }
    module.define_data(table, &d).map_err(err)?;
    let len = module
        .declare_data("wasic_wasi_imports_len", Linkage::Export, false, false)
        .map_err(err)?;
    let mut d = DataDescription::new();
    d.define(
        (wasi_symbols.len() as u64)
            .to_le_bytes()
            .to_vec()
            .into_boxed_slice(),
    );
    d.set_align(8);
    module.define_data(len, &d).map_err(err)?;
    module.finish().emit().map_err(err)
}
