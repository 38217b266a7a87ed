#!/usr/bin/env bash
# Exception-handling benchmark (benches/exceptions/throw_loop.cpp: a million C++ throws caught
# three frames up): native g++ -O2, wasic (standard and legacy EH encodings) and, when installed,
# wasmtime (standard encoding only; it has no legacy EH), timed with hyperfine. Prints a
# Markdown table. Needs clang-22 and the EH-enabled C++ runtime that
# cli/tests/exceptions/build.sh builds into $WASM_EH_DIR (default /tmp/wasm-eh); run that first.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$here/../..
eh=${WASM_EH_DIR:-/tmp/wasm-eh}
wasmtime=${WASMTIME:-/opt/wasmtime/bin/wasmtime}
for enc in exnref legacy; do
    if [ ! -f "$eh/rt-$enc/libc++abi-wasmeh.a" ]; then
        echo "missing $eh/rt-$enc/libc++abi-wasmeh.a: run bash cli/tests/exceptions/build.sh" >&2
        exit 1
    fi
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cxx=(clang++-22 --target=wasm32-wasi -Wno-deprecated -O2 -fwasm-exceptions -Wl,--strip-debug)
"${cxx[@]}" -mllvm -wasm-use-legacy-eh=false "$here/throw_loop.cpp" \
    "$eh/rt-exnref/libc++abi-wasmeh.a" -o "$out/std.wasm"
"${cxx[@]}" -mllvm -wasm-use-legacy-eh=true "$here/throw_loop.cpp" \
    "$eh/rt-legacy/libc++abi-wasmeh.a" -o "$out/legacy.wasm"
g++ -O2 "$here/throw_loop.cpp" -o "$out/native"
cargo build --release --manifest-path "$root/Cargo.toml" -p wasic --bin wasic >&2
wasic=$root/target/release/wasic
"$wasic" build "$out/std.wasm" -o "$out/wasic-std"
"$wasic" build "$out/legacy.wasm" -o "$out/wasic-legacy"
cmds=(-n native "$out/native" -n "wasic (standard EH)" "$out/wasic-std"
      -n "wasic (legacy EH)" "$out/wasic-legacy")
if [ -x "$wasmtime" ]; then
    "$wasmtime" compile "$out/std.wasm" -o "$out/std.cwasm"
    cmds+=(-n "wasmtime $("$wasmtime" --version | cut -d' ' -f2) (standard EH)"
           "$wasmtime run --allow-precompiled $out/std.cwasm")
else
    echo "NOTE: no wasmtime at $wasmtime: not measured" >&2
fi
hyperfine -N --warmup 1 --runs "${RUNS:-10}" --export-markdown "$out/table.md" "${cmds[@]}" >&2
cat "$out/table.md"
for exe in "$out/native" "$out/wasic-std" "$out/wasic-legacy"; do
    /usr/bin/time -f "$(basename "$exe"): max RSS %M KB" "$exe" >/dev/null
done
