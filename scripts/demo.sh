#!/usr/bin/env bash
# Sets everything up on a fresh Debian machine with Rust and runs the demo: compiles
# examples/hello.c to WebAssembly, turns it into a native executable with `wasic build`,
# and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release -p wasic
mkdir -p target/demo
clang --target=wasm32-wasi -O2 examples/hello.c -o target/demo/hello.wasm
./target/release/wasic build target/demo/hello.wasm -o target/demo/hello
./target/demo/hello from a native binary
