#!/usr/bin/env bash
# Runs wasic's fuzz targets one after the other, each for SECONDS (default 600) with one
# libFuzzer job, and prints the executions and run time of each at the end (from libFuzzer's
# final `stat::number_of_executed_units` / `Done N runs in S second(s)` lines).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]   (targets: compile differential exceptions typed_refs wasi_paths embedded)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora grow in
# fuzz/corpus/TARGET (not in git; fuzz/seeds/TARGET is read too), crashes land in
# fuzz/artifacts/TARGET, full logs in fuzz/logs/. Extra libFuzzer flags: FUZZ_FLAGS="...".
main() {
    set -uo pipefail
    cd "$(dirname "$0")"
    secs=${1:-600}
    shift || true
    targets=("$@")
    [ ${#targets[@]} -eq 0 ] && targets=(compile differential exceptions typed_refs wasi_paths embedded)

    for t in "${targets[@]}"; do cargo +nightly fuzz build -s none -a "$t" || exit 1; done
    mkdir -p logs
    stamp=$(date +%Y%m%d-%H%M%S)
    summary=()
    for t in "${targets[@]}"; do
        mkdir -p "corpus/$t" "seeds/$t"
        log="logs/$t-$stamp.log"
        # The WASI target builds its sentinel tree under TMPDIR: keep it private and remove it after.
        tmp=$(mktemp -d)
        # wasm-smith and the operation decoder want inputs longer than libFuzzer's slowly growing
        # default length limit.
        case $t in
            differential | exceptions | typed_refs) flags="-max_len=16384 -len_control=0" ;;
            wasi_paths | embedded) flags="-max_len=4096 -len_control=0" ;;
            *) flags="-max_len=65536" ;;
        esac
        echo "== $t for ${secs}s (log: fuzz/$log)"
        start=$(date +%s)
        TMPDIR=$tmp cargo +nightly fuzz run -s none -a "$t" "corpus/$t" "seeds/$t" -- \
            -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
            $flags ${FUZZ_FLAGS:-} >"$log" 2>&1
        rc=$?
        end=$(date +%s)
        rm -rf "$tmp"
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
        done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
        status=ok
        if grep -q 'run interrupted' "$log"; then
            status="interrupted"
        elif [ $rc -ne 0 ]; then
            status="FAILED (exit $rc: crash/divergence, see the log and fuzz/artifacts/$t)"
        fi
        summary+=("$t: executions=${execs:-?} wall=$((end - start))s (${done_line:-no final line}) -- $status")
    done
    echo
    echo "== summary (${secs}s per target)"
    printf '%s\n' "${summary[@]}"
    # Kept across runs (fuzz/logs is not in git) for the totals in STATUS.md.
    printf "$stamp %s\n" "${summary[@]}" >>logs/summary.txt
}

# The whole script is parsed before it runs, so editing it does not disturb a running one.
main "$@"
exit $?
