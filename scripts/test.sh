#!/usr/bin/env bash
# The full test command: installs what the tests need (clang for wasm32-wasi, a linker), then
# runs every test of the workspace (scripts/run-tests.sh): unit tests, the WebAssembly spec
# suite, WASI end to end, libraries, limits. Every test binary runs even when one fails; the
# exit status is non-zero if anything failed. Ends with one line totalling every test and spec
# directive that ran, skipped tests counted as skipped: `total: N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec bash scripts/run-tests.sh "$@"
