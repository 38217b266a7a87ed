#!/usr/bin/env bash
# Pre-initialisation benchmark (issue #16): cli/tests/wasi/preinit.c (an initialiser sieving
# the primes below 20,000,000, about 0.15 s), built with `wasic build` and with `wasic build
# --preinit`, and the same with a 64 MB heap the initialiser fills (-DHEAP_MB=64). Prints a
# Markdown table: median wall time of RUNS runs (default 21; the builds interleaved run by
# run) and peak RSS (`/usr/bin/time`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$here/../..
runs=${RUNS:-21}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --release --manifest-path "$root/Cargo.toml" -p wasic --bin wasic >&2
wasic=$root/target/release/wasic
for mb in 0 64; do
    clang --target=wasm32-wasi -O2 -DHEAP_MB=$mb "$root/cli/tests/wasi/preinit.c" -o "$out/p$mb.wasm"
    "$wasic" build "$out/p$mb.wasm" -o "$out/plain$mb"
    "$wasic" build "$out/p$mb.wasm" -o "$out/pre$mb" --preinit
done
declare -A t
for ((r = 0; r < runs; r++)); do
    for exe in plain0 pre0 plain64 pre64; do
        s=$(date +%s%N); "$out/$exe" >/dev/null; e=$(date +%s%N)
        t[$exe]+="$(( (e - s) / 1000 )) "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss() { /usr/bin/time -f %M "$1" 2>&1 >/dev/null | tail -1; }
echo "| program | without --preinit | with --preinit | RSS without | RSS with | executable size with |"
echo "|---|---:|---:|---:|---:|---:|"
for mb in 0 64; do
    name=$([ $mb = 0 ] && echo "sieve initialiser" || echo "sieve + 64 MB heap")
    printf "| %s | %.1f ms | %.1f ms | %d KB | %d KB | %.1f MB |\n" "$name" \
        "$(echo "${t[plain$mb]}" | median | awk '{print $1/1000}')" \
        "$(echo "${t[pre$mb]}" | median | awk '{print $1/1000}')" \
        "$(rss "$out/plain$mb")" "$(rss "$out/pre$mb")" \
        "$(stat -c %s "$out/pre$mb" | awk '{print $1/1048576}')"
done
echo
echo "Medians of $runs interleaved runs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
