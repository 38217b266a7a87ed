#!/usr/bin/env bash
# Threads benchmark (issue #15): benches/threads/threads_bench.rs built natively (rustc -O) and
# for wasm32-wasip1-threads (rustc -O, then `wasic build`, release CLI), each run with 1 and 2
# threads: a CPU-bound split (`work`) and a contended mutex (`mutex`). Engines and thread
# counts are interleaved run by run; prints a Markdown table of medians. RUNS=N (default 7).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$here/../..
runs=${RUNS:-7}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"
rustup target list --installed | grep -qx wasm32-wasip1-threads || {
    echo "benches/threads/run.sh: the wasm32-wasip1-threads target is not installed (rustup target add wasm32-wasip1-threads)" >&2
    exit 1
}
rustc -O --edition 2021 "$here/threads_bench.rs" -o "$out/native"
rustc -O --edition 2021 --target wasm32-wasip1-threads "$here/threads_bench.rs" -o "$out/bench.wasm"
cargo build --release -p wasic --bin wasic >&2
"$root/target/release/wasic" build "$out/bench.wasm" -o "$out/wasic"
# One timed run: prints wall seconds; the checksum must match the native one-thread run's.
timed() {
    local exe=$1 what=$2 t=$3 start end got
    start=$(date +%s.%N)
    got=$("$exe" "$what" "$t")
    end=$(date +%s.%N)
    [ "$got" = "${want[$what]}" ] || { echo "$exe $what $t printed '$got', expected '${want[$what]}'" >&2; exit 1; }
    echo "$end - $start" | bc
}
declare -A want samples
for what in work mutex; do want[$what]=$("$out/native" "$what" 1); done
for ((r = 0; r < runs; r++)); do
    for what in work mutex; do
        for engine in native wasic; do
            for t in 1 2; do
                samples[$what.$engine.$t]+="$(timed "$out/$engine" "$what" "$t") "
            done
        done
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| benchmark | native, 1 thread | native, 2 threads | native speed-up | wasic, 1 thread | wasic, 2 threads | wasic speed-up | wasic / native (2 threads) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for what in work mutex; do
    n1=$(echo "${samples[$what.native.1]}" | median); n2=$(echo "${samples[$what.native.2]}" | median)
    w1=$(echo "${samples[$what.wasic.1]}" | median); w2=$(echo "${samples[$what.wasic.2]}" | median)
    printf "| \`%s\` | %.3f s | %.3f s | %.2f× | %.3f s | %.3f s | %.2f× | %.2f |\n" "$what" "$n1" "$n2" \
        "$(echo "$n1 / $n2" | bc -l)" "$w1" "$w2" "$(echo "$w1 / $w2" | bc -l)" "$(echo "$w2 / $n2" | bc -l)"
done
echo
echo "Medians of $runs interleaved runs; $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
