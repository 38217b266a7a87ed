#!/usr/bin/env bash
# Installs what building and testing wasic needs beyond Rust: a C compiler driver for linking,
# and clang + lld + wasi-libc + the wasm32 compiler runtime for compiling C test programs to
# WASI, gdb and perf for the debugging tests, and Rust's wasm32-wasip1 targets. Debian/Ubuntu only; does nothing when everything is
# already there.
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
command -v wasm-ld >/dev/null || need+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || need+=(libclang-rt-dev-wasm32)
# The native-debugging tests (cli/tests/debugging.rs) run gdb on built executables.
command -v gdb >/dev/null || need+=(gdb)
# ... and perf on a hot loop (Debian's linux-perf).
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Rust test programs (cli/tests/rust_program.rs) need Rust's WASI targets.
if command -v rustup >/dev/null; then
  for t in wasm32-wasip1 wasm32-wasip1-threads; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t" >/dev/null
  done
fi
