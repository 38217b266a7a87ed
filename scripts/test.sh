#!/usr/bin/env bash
# The full test command: installs what the tests need (clang for wasm32-wasi, a linker), then
# runs every test of the workspace: unit tests, the WebAssembly spec suite, WASI end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --workspace "$@"
