//! Shared helpers of wasic's end-to-end tests: turning wasm or wat text into a loaded
//! [`Module`] through the whole pipeline (compiler -> ELF object -> runtime loader).

use std::sync::Arc;
use wasic_runtime::Module;

/// Why a module could not be turned into a loaded [`Module`].
#[derive(Debug)]
pub enum LoadError {
    /// The wat text did not parse.
    Parse(String),
    /// The compiler rejected the module (invalid, malformed or unsupported).
    Compile(String),
    /// The runtime could not load the compiler's object.
    Load(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Parse(m) => write!(f, "wat parse error: {m}"),
            LoadError::Compile(m) => write!(f, "compile error: {m}"),
            LoadError::Load(m) => write!(f, "load error: {m}"),
        }
    }
}

/// Compiles a wasm binary with the default options and loads the object in this process.
pub fn load_wasm(wasm: &[u8]) -> Result<Arc<Module>, LoadError> {
    load_wasm_with(wasm, &wasic_compiler::CompileOptions::default())
}

/// Compiles a wasm binary with `opts` and loads the object in this process.
pub fn load_wasm_with(
    wasm: &[u8],
    opts: &wasic_compiler::CompileOptions,
) -> Result<Arc<Module>, LoadError> {
    let object =
        wasic_compiler::compile(wasm, opts).map_err(|e| LoadError::Compile(e.to_string()))?;
    // SAFETY: `object` was just produced by `wasic_compiler::compile`.
    unsafe { Module::from_object(&object) }.map_err(|e| LoadError::Load(e.to_string()))
}

/// Parses wat text, compiles it and loads it.
pub fn load_wat(text: &str) -> Result<Arc<Module>, LoadError> {
    let wasm = wat::parse_str(text).map_err(|e| LoadError::Parse(e.to_string()))?;
    load_wasm(&wasm)
}

/// Compiles and loads wat text, panicking with the error (for tests).
pub fn module(text: &str) -> Arc<Module> {
    load_wat(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Calls the exported function `name` of `instance`, panicking if there is none.
pub fn call(
    store: &mut wasic_runtime::Store,
    instance: &wasic_runtime::Instance,
    name: &str,
    args: &[wasic_runtime::Val],
) -> Result<Vec<wasic_runtime::Val>, wasic_runtime::Error> {
    let f = instance
        .get_func(name)
        .unwrap_or_else(|| panic!("no export {name}"));
    f.call(store, args)
}

/// The symbol of each defined function of a compiled object, by defined-function index: the
/// symbols the descriptor's function table (`wasic_funcs`) points at.
pub fn function_symbols(object: &[u8]) -> Vec<String> {
    use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
    let file = object::File::parse(object).expect("an ELF object");
    let table = file
        .symbols()
        .find(|s| s.name() == Ok("wasic_funcs"))
        .expect("a wasic_funcs symbol");
    let section = file
        .section_by_index(table.section_index().unwrap())
        .unwrap();
    let mut entries: Vec<(u64, String)> = section
        .relocations()
        .filter(|(offset, _)| (table.address()..table.address() + table.size()).contains(offset))
        .map(|(offset, r)| {
            let RelocationTarget::Symbol(target) = r.target() else {
                panic!("function table entry at {offset} is not a symbol");
            };
            let name = file.symbol_by_index(target).unwrap().name().unwrap();
            (offset, name.to_string())
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, name)| name).collect()
}

/// The disassembly (`objdump -d`, AT&T syntax) of each defined function of `wasm` compiled with
/// `opts`, by defined-function index.
pub fn disassemble_functions(wasm: &[u8], opts: &wasic_compiler::CompileOptions) -> Vec<String> {
    let object = wasic_compiler::compile(wasm, opts).unwrap_or_else(|e| panic!("{e}"));
    let symbols = function_symbols(&object);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("module.o");
    std::fs::write(&path, object).unwrap();
    let out = std::process::Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(&path)
        .output()
        .expect("objdump (binutils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut funcs = vec![String::new(); symbols.len()];
    for part in text.split("\n\n") {
        let Some(name) = part.split_once(" <").and_then(|(_, r)| r.split_once(">:")) else {
            continue;
        };
        if let Some(index) = symbols.iter().position(|s| *s == name.0) {
            funcs[index] = part.to_string();
        }
    }
    funcs
}

/// Whether the disassembly `asm` of one function loads the builtins-table slot of `b`: how
/// compiled code calls a builtin or a C library routine. Loads at that displacement from the
/// stack or frame pointer are stack slots, not the table.
pub fn loads_builtin_slot(asm: &str, b: wasic_abi::builtins::BuiltinIndex) -> bool {
    let disp = format!("{:#x}(%", b.offset());
    asm.lines()
        .any(|l| l.contains(&disp) && !l.contains("(%rsp") && !l.contains("(%rbp"))
}
