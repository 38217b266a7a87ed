#!/usr/bin/env bash
# The full test command: installs what the tests need (clang for wasm32-wasi, a linker), then
# runs every test of the workspace: unit tests, the WebAssembly spec suite, WASI end to end,
# libraries, limits. Ends with one line totalling every test and spec directive that ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace "$@" 2>&1 | tee "$log" || status=$?
# libtest lines ("test result: ok. 12 passed; 0 failed; ...") and the spec harness's closing
# line ("54001 passed, 0 failed, 1 skipped").
awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $1; f += $3; s += $5 }
  END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }
' "$log"
exit $status
