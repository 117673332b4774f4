#!/usr/bin/env bash
# Overload measurements, open loop against one server process. The load is /predict-batch with
# 1,000 readings a request, so the model, not the load generator, is what saturates: on a
# 2-core machine a client cannot offer single readings faster than the server answers them.
#   1. BENCH_FRACTION (2) times the capacity probed closed-loop with 8 connections, offered over
#      64 connections for BENCH_DURATION (60s), process-control class: p99 of the accepted (2xx)
#      requests, how the excess was answered, and the server's RSS before and after.
#   2. Emergency-class single /predict requests at BENCH_EMERGENCY_RATE (100/s) while
#      yield-forecasting batches at BENCH_FRACTION times capacity saturate the same server.
# Results: JSON per case in bench-results/ (gitignored). Override BENCH_URL, BENCH_OUT too.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BENCH_DURATION:=60s}"
fraction="${BENCH_FRACTION:-2}"
emergency_rate="${BENCH_EMERGENCY_RATE:-100}"
server_args="--Serilog:MinimumLevel:Default=Warning --Simulator:Enabled=false"

# shellcheck source=bench/common.sh
source bench/common.sh
loadtest+=(--url "$url" --no-baseline --repeats 1)

# One server for both cases (run_case would launch one per case).
$server >"$out/$stamp-overload.server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
until curl -fs "$url/health/ready" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "server exited" >&2; exit 2; }
    sleep 0.2
done
rss() { awk '/VmRSS/ { print $2 " kB" }' "/proc/$pid/status"; }

batches=(--scenario predict-batch --batch-size 1000 --mode open --rate-fraction "$fraction" --probe-connections 8 --probe-duration 5s --connections 64)

echo "### 1. /predict-batch at ${fraction}x capacity for $duration (process-control)"
echo "server RSS before: $(rss)"
"${loadtest[@]}" --server-pid $pid "${batches[@]}" --duration "$duration" \
    --warmup 10s --header "X-Latency-Class: process-control" --json "$out/$stamp-overload-2x.json"
echo "server RSS after: $(rss)"

echo
echo "### 2. emergency /predict at $emergency_rate/s while yield-forecasting batches saturate at ${fraction}x capacity"
"${loadtest[@]}" "${batches[@]}" --duration 40s --warmup 0s \
    --header "X-Latency-Class: yield-forecasting" --json "$out/$stamp-overload-yield.json" >"$out/$stamp-overload-yield.txt" 2>&1 &
flood=$!
# The flood probes capacity first (5 s) and then runs: start measuring once it is saturating.
sleep 10
"${loadtest[@]}" --scenario predict --mode open --rate "$emergency_rate" --duration 20s --warmup 0s --connections 4 \
    --header "X-Latency-Class: emergency" --json "$out/$stamp-overload-emergency.json"
wait $flood || true
echo "--- the yield-forecasting flood it ran against:"
cat "$out/$stamp-overload-yield.txt"
echo "--- the server's own counts, and its /predict (emergency only) handler latency buckets:"
curl -fs "$url/metrics" | grep -E '^rti_inference_(dropped_total|deadline_misses_total|requests_total)|^rti_prediction_duration_seconds_bucket\{class="emergency",endpoint="/predict",outcome="ok"' || true
echo
echo "Results in $out/$stamp-overload-*.json"
