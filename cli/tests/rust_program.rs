//! A Rust program (`tests/wasi/rust_prog.rs`) compiled with `rustc --target wasm32-wasip1 -O`,
//! built with wasic and run: std::env and std::fs through Rust's standard library. When the
//! target is not installed, the test says loudly that it was skipped and why. (An absolute
//! path outside every preopen is refused by Rust's std itself, with `NotFound`, as on wasmtime.)

mod common;

use common::*;

#[test]
fn rust_std_program_uses_args_env_and_fs_and_exits_3() {
    let wasm = match compile_rust("rust_prog") {
        Ok(w) => w,
        Err(why) => {
            eprintln!(
                "SKIPPED (not passed): rust_std_program_uses_args_env_and_fs_and_exits_3: {why}"
            );
            println!("SKIPPED (not passed): {why}");
            return;
        }
    };
    let t = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("in.txt"), "stressed\n").unwrap();
    let exe = build(
        &wasm,
        t.path(),
        "rust_prog",
        &[
            "--dir",
            &format!("{}::/data", data.path().display()),
            "--env",
            "RUST_TEST_VAR=from wasic",
        ],
    );
    let out = run_exe(&exe, &["one", "two words"]);
    assert_run(
        &out,
        3,
        "args: [\"one\", \"two words\"]\nRUST_TEST_VAR=from wasic\nread 9 bytes: stressed\n\
         entries: [\"in.txt\", \"made-by-rust\"]\nout.txt: 9 bytes, file: true\n\
         /etc/passwd: denied (NotFound)\n",
    );
    assert_eq!(
        std::fs::read_to_string(data.path().join("made-by-rust/out.txt")).unwrap(),
        "desserts\n"
    );
}
