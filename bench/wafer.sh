#!/usr/bin/env bash
# Wafer images before and after a change, interleaved on the same machine so both see the same noise:
# per round, on the other checkout then on this one, the wafer scenario (256 generated 64 x 64 PNGs
# posted raw to /predict-wafer) closed loop with 32 connections, then open loop at 100 images/s.
#   bench/wafer.sh OTHER_CHECKOUT [ROUNDS]     e.g.  git worktree add /tmp/before 4b73ae5
#                                                    bench/wafer.sh /tmp/before 3
# Both checkouts are built (Release) first. Results: bench-results/wafer-<stamp>/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
other="$(cd "$1" && pwd)"
rounds="${2:-2}"
url="${BENCH_URL:-http://127.0.0.1:8000}"
out="$PWD/bench-results/wafer-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

for tree in "$other" "$PWD"; do
    dotnet build -c Release "$tree/src/RealTimeInference.Server" --nologo -v quiet
    dotnet build -c Release "$tree/src/RealTimeInference.LoadTest" --nologo -v quiet
done

run() { # tree name loadtest-args...
    local tree=$1 name=$2
    shift 2
    (cd "$tree" && dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll --url "$url" \
        --launch "dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls $url --Serilog:MinimumLevel:Default=Warning" \
        --server-log "$out/$name.server.log" --scenario wafer --duration 10s --warmup 2s --repeats 3 --json "$out/$name.json" "$@") \
        >"$out/$name.txt" 2>&1
    echo "== $name"
    grep -iE "median|preprocess" "$out/$name.txt" || tail -5 "$out/$name.txt"
}

for round in $(seq "$rounds"); do
    for side in other this; do
        tree=$([ "$side" = other ] && echo "$other" || echo "$PWD")
        run "$tree" "r$round-$side-closed" --mode closed --connections 32
        run "$tree" "r$round-$side-open100" --mode open --rate 100
    done
done
echo "Results in $out"
