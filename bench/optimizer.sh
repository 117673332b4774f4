#!/usr/bin/env bash
# The process optimizer, two ways:
# 1. Does it earn its keep? bench/RealTimeInference.OptimizerBench runs the simulated fab faster than
#    real time for DAYS (30) simulated days with TOOLS (10) tools, three times from the same seed:
#    fixed nominal setpoints, a model-free hill climber, the model-based optimizer in closed loop.
#    Mean yield per strategy, safe-range violations, and bench/optimizer.png (daily mean yield).
# 2. How long does a cycle take? The server with CYCLE_TOOLS (100) simulated tools, closed loop, a
#    cycle a second and no client load: GET /optimizer's last_cycle_ms (server time of the last cycle,
#    every tool's candidates scored in one batched request per tool) read once a second for SAMPLES (30) s.
# Results: bench-results/optimizer-<stamp>/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
days="${DAYS:-30}" tools="${TOOLS:-10}" cycle_tools="${CYCLE_TOOLS:-100}" samples="${SAMPLES:-30}"
url="${BENCH_URL:-http://127.0.0.1:8000}"
out="bench-results/optimizer-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
dotnet build -c Release bench/RealTimeInference.OptimizerBench --nologo -v quiet
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet

echo "== $days simulated days, $tools tools"
dotnet bench/RealTimeInference.OptimizerBench/bin/Release/net10.0/RealTimeInference.OptimizerBench.dll \
    --days "$days" --tools "$tools" --png bench/optimizer.png | tee "$out/simulation.txt"

echo "== optimizer cycle, $cycle_tools tools"
dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "$url" \
    --Serilog:MinimumLevel:Default=Warning --Results:Store=none --Simulator:Tools="$cycle_tools" --Simulator:ChamberTools=0 \
    --Optimizer:Mode=closed-loop --Optimizer:Interval=00:00:01 >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "$url/health/ready" >/dev/null; do sleep 0.5; done
sleep 3 # the first cycles warm the model's session
for _ in $(seq "$samples"); do
    curl -s "$url/optimizer" | grep -o '"last_cycle_ms":[0-9.]*' | cut -d: -f2
    sleep 1
done >"$out/cycle_ms.txt"
sort -n "$out/cycle_ms.txt" | awk '{ v[NR] = $1 } END { printf "cycle ms over %d samples: median %.2f, p90 %.2f, max %.2f\n", NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }' \
    | tee "$out/cycle.txt"
