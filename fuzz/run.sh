#!/usr/bin/env bash
# Runs wasic's fuzz targets one after the other, each for SECONDS (default 600) with one
# libFuzzer job, and prints the executions and run time of each at the end (from libFuzzer's
# final `stat::number_of_executed_units` / `Done N runs in S second(s)` lines).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]      (targets: compile differential wasi_paths)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora grow in
# fuzz/corpus/TARGET (not in git; fuzz/seeds/TARGET is read too), crashes land in
# fuzz/artifacts/TARGET, full logs in fuzz/logs/. Extra libFuzzer flags: FUZZ_FLAGS="...".
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(compile differential wasi_paths)

for t in "${targets[@]}"; do cargo +nightly fuzz build -s none -a "$t" || exit 1; done
mkdir -p logs
stamp=$(date +%Y%m%d-%H%M%S)
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="logs/$t-$stamp.log"
    # The WASI target builds its sentinel tree under TMPDIR: keep it private and remove it after.
    tmp=$(mktemp -d)
    echo "== $t for ${secs}s (log: fuzz/$log)"
    TMPDIR=$tmp cargo +nightly fuzz run -s none -a "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
        ${FUZZ_FLAGS:-} >"$log" 2>&1
    rc=$?
    rm -rf "$tmp"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 | cut -c1-100)
    status=ok
    [ $rc -ne 0 ] && status="FAILED (exit $rc: crash/divergence, see the log and fuzz/artifacts/$t)"
    summary+=("$t: executions=${execs:-?} (${done_line:-no final line}) last: ${last:-none} -- $status")
done
echo
echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
