#!/usr/bin/env bash
# Benchmarks the server against its own no-model baseline (/baseline/...) with the LoadTest CLI.
# Each case launches a fresh server, times it to ready, samples its RSS, and stops it with SIGTERM.
# Results: one JSON per case in bench-results/ (gitignored), plus the server's log beside it.
#
# About 4 minutes with the defaults. Override with environment variables:
#   BENCH_URL (http://127.0.0.1:8000)  BENCH_DURATION (10s)  BENCH_WARMUP (2s)  BENCH_REPEATS (3)
#   BENCH_CONNECTIONS (32)  BENCH_BATCH_CONNECTIONS (8)  BENCH_BATCH_SIZE (1000)  BENCH_FRACTION (0.5)
#   BENCH_OUT (bench-results)  BENCH_SERVER_ARGS (extra server arguments, e.g. --Serilog:MinimumLevel:Default=Warning)
set -euo pipefail
cd "$(dirname "$0")/.."

connections="${BENCH_CONNECTIONS:-32}"
batch_connections="${BENCH_BATCH_CONNECTIONS:-8}"
batch_size="${BENCH_BATCH_SIZE:-1000}"
fraction="${BENCH_FRACTION:-0.5}"
server_args="${BENCH_SERVER_ARGS:-}"

# shellcheck source=bench/common.sh
source bench/common.sh

run_case predict-closed --scenario predict --mode closed --connections "$connections"
run_case predict-open --scenario predict --mode open --rate-fraction "$fraction" --connections "$connections"
run_case predict-batch-closed --scenario predict-batch --mode closed --connections "$batch_connections" --batch-size "$batch_size"

echo
echo "Results in $out/$stamp-*.json"
exit "$failed"
