//! A Rust program (`tests/wasi/rust_prog.rs`) compiled with `rustc --target wasm32-wasip1 -O`,
//! built with wasic and run: std::env and std::fs through Rust's standard library. When the
//! target is not installed, the test is skipped: it says so and why, and the test command counts
//! it as skipped. (An absolute path outside every preopen is refused by Rust's std itself, with
//! `NotFound`, as on wasmtime.)

mod common;

use common::*;

#[test]
fn rust_std_program_uses_args_env_and_fs_and_exits_3() {
    // Without the wasm32-wasip1 target, compile_rust has recorded the skip.
    let Ok(wasm) = compile_rust("rust_prog") else {
        return;
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
