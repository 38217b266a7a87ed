//! The entry object of executables: defines the C `main`, which passes argc, argv and the
//! build-time configuration (`wasic_exec_config`, bytes the CLI supplies) and the image of the
//! embedded directories (`wasic_embedded_dirs`, `wasic_abi::embed`) to the runtime's
//! `wasic_main(argc, argv, config, config_len, embedded, embedded_len)`. Generated with Cranelift like everything else
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

/// An object defining `main`, `wasic_exec_config` (holding `config`) and `wasic_embedded_dirs`
/// (holding `embedded`).
pub fn entry_object(
    config: &[u8],
    embedded: &[u8],
    opts: &CompileOptions,
) -> Result<Vec<u8>, CompileError> {
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
    // Read-only and page-aligned: the loader maps it from the file, and nothing is read
    // before the guest reads a file.
    let embedded_id = module
        .declare_data("wasic_embedded_dirs", Linkage::Local, false, false)
        .map_err(err)?;
    let mut data = DataDescription::new();
    data.define(embedded.to_vec().into_boxed_slice());
    data.set_align(wasic_abi::embed::DATA_ALIGN as u64);
    module.define_data(embedded_id, &data).map_err(err)?;

    let mut main_sig = Signature::new(CallConv::SystemV);
    main_sig.params.push(AbiParam::new(types::I32));
    main_sig.params.push(AbiParam::new(ptr));
    main_sig.returns.push(AbiParam::new(types::I32));
    let main_id = module
        .declare_function("main", Linkage::Export, &main_sig)
        .map_err(err)?;

    let mut rt_sig = Signature::new(CallConv::SystemV);
    for t in [types::I32, ptr, ptr, types::I64, ptr, types::I64] {
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
        let gv = module.declare_data_in_func(embedded_id, b.func);
        let emb = b.ins().symbol_value(ptr, gv);
        let emb_len = b.ins().iconst(types::I64, embedded.len() as i64);
        let callee = module.declare_func_in_func(rt_id, b.func);
        let call = b.ins().call(callee, &[argc, argv, cfg, len, emb, emb_len]);
        let ret = b.inst_results(call)[0];
        b.ins().return_(&[ret]);
        b.finalize(frontend);
    }
    module.define_function(main_id, &mut ctx).map_err(err)?;
    module.finish().emit().map_err(err)
}
