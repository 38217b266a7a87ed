#!/usr/bin/env bash
# Runs every test of the workspace (`cargo test --workspace --no-fail-fast`, extra arguments
# passed on) and ends with one line totalling every test and spec directive that ran:
# `total: N passed, N failed, N skipped`. Every test binary runs even when an earlier one
# fails; the exit status is cargo's, non-zero if anything failed. scripts/test.sh installs what
# the tests need, then runs this.
#
# Skipped tests count as skipped, not passed: libtest's ignored tests, the spec harness's
# skipped directives, and the tests that skip through `skip()` of cli/tests/common/mod.rs,
# which appends `BINARY<tab>TEST<tab>why` to $WASIC_SKIP_LOG; such a test that libtest reports
# `ok` moves from passed to skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
status=0
WASIC_SKIP_LOG="$skips" cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# libtest's lines ("test result: ok. 12 passed; 0 failed; 0 ignored; ..."), which follow the
# binary's "Running ... (target/debug/deps/NAME-HASH)" line and its "test NAME ... ok" lines,
# and the spec harness's closing line ("54001 passed, 0 failed, 1 skipped").
awk -v skiplog="$skips" '
  FILENAME == skiplog {
    split($0, fld, "\t")
    if (fld[2] != "") skipped_test[fld[1] SUBSEP fld[2]] = 1
    next
  }
  /^ +Running .*\(.*\)$/ { bin = $NF; gsub(/[()]/, "", bin); sub(/.*\//, "", bin) }
  /^test [^ ]+ \.\.\. ok$/ {
    k = bin SUBSEP $2
    if ((k in skipped_test) && !(k in moved)) { moved[k] = 1; m++ }
  }
  /^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed/) p += $i
      if ($(i+1) ~ /^failed/) f += $i
      if ($(i+1) ~ /^ignored/) s += $i
    }
  }
  /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $1; f += $3; s += $5 }
  END {
    for (k in skipped_test) if (!(k in moved)) {
      split(k, part, SUBSEP)
      printf "note: %s (%s) recorded a skip but did not pass: counted as libtest reported it\n", part[2], part[1]
    }
    printf "total: %d passed, %d failed, %d skipped\n", p - m, f, s + m
  }
' "$skips" "$log"
exit $status
