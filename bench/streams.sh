#!/usr/bin/env bash
# Benchmarks the stream endpoints with the LoadTest CLI, each case against its same-run baseline:
#   ws-binary        binary frames over pipelined WebSockets   vs  POST /predict-batch (same rows per request)
#   ws-json          JSON readings over 32 pipelined WebSockets vs POST /predict, 32 connections
#   sse-subscribers  POST /predict open loop at 1,000/s with 100 SSE subscribers  vs  without them
# Each case launches a fresh server, samples its RSS and stops it with SIGTERM; JSON in bench-results/.
#
# Override with environment variables: BENCH_URL (http://127.0.0.1:8000) BENCH_DURATION (10s)
#   BENCH_WARMUP (2s) BENCH_REPEATS (3) BENCH_OUT (bench-results) BENCH_SERVER_ARGS
#   BENCH_FRAME_ROWS (1000) BENCH_FRAME_CONNECTIONS (2) BENCH_FRAME_PIPELINE (4)
#   BENCH_JSON_PIPELINE (8) BENCH_RATE (1000) BENCH_SUBSCRIBERS (100)
# Frames in flight (connections x pipeline x rows) stay within the model's queue_capacity (8,192 rows),
# so the binary case measures throughput, not rejections.
set -euo pipefail
cd "$(dirname "$0")/.."


server_args="${BENCH_SERVER_ARGS:---Serilog:MinimumLevel:Default=Warning}"
# shellcheck source=bench/common.sh
source bench/common.sh

run_case ws-binary --scenario ws-binary --batch-size "${BENCH_FRAME_ROWS:-1000}" \
    --connections "${BENCH_FRAME_CONNECTIONS:-2}" --pipeline "${BENCH_FRAME_PIPELINE:-4}"
run_case ws-json --scenario ws-json --connections 32 --pipeline "${BENCH_JSON_PIPELINE:-8}"
run_case sse-subscribers --scenario sse-subscribers --mode open --rate "${BENCH_RATE:-1000}" \
    --subscribers "${BENCH_SUBSCRIBERS:-100}" --connections 32

echo
echo "Results in $out/$stamp-*.json"
exit "$failed"
