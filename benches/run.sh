#!/usr/bin/env bash
# Regenerates BENCHMARKS.md at the repository root: builds the wasic CLI (the main workspace's
# debug build: the executables it writes are the same as a release CLI's, since the code is
# Cranelift's output and the embedded runtime library is always built in release) for the
# start-up measurement, then runs the report generator in release mode. Extra arguments go to
# the report (e.g. --quick, --runs 15, --programs fib,sieve); see benches/src/bin/report.rs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cargo build --manifest-path "$here/../Cargo.toml" -p wasic --bin wasic
cd "$here"
cargo run --release --bin report -- --wasic "$here/../target/debug/wasic" "$@"
