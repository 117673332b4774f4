#!/usr/bin/env bash
# Compares this checkout with another build on the same machine, interleaved so both see the same
# noise: per round, each case first on the other checkout, then on this one.
#   bench/compare.sh OTHER_CHECKOUT [ROUNDS] [CASES]    e.g.  git worktree add /tmp/before 7079e66
#                                                             bench/compare.sh /tmp/before 3
# CASES: "core" (the default): run.sh's /predict closed-loop case and streams.sh's sse-subscribers
# case, each reporting its own same-run target/baseline ratio; "wafer": the wafer scenario (256
# generated 64 x 64 PNGs posted raw to /predict-wafer) closed loop with 32 connections, then open
# loop at 100 images/s; "sensor": /predict (32 connections) and /predict-batch (1,000 readings a
# request, 8 connections) closed loop, each against its no-model baseline.
# Both checkouts are built (Release) first. Results: bench-results/compare-<stamp>/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
other="$(cd "$1" && pwd)"
rounds="${2:-2}"
cases="${3:-core}"
url="${BENCH_URL:-http://127.0.0.1:8000}"
out="$PWD/bench-results/compare-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

for tree in "$other" "$PWD"; do
    dotnet build -c Release "$tree/src/RealTimeInference.Server" --nologo -v quiet
    dotnet build -c Release "$tree/src/RealTimeInference.LoadTest" --nologo -v quiet
done

run() { # tree name server-args loadtest-args...
    local tree=$1 name=$2 server_args=$3
    shift 3
    (cd "$tree" && dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll --url "$url" \
        --launch "dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls $url $server_args" \
        --server-log "$out/$name.server.log" --duration 10s --warmup 2s --repeats 3 --json "$out/$name.json" "$@") \
        >"$out/$name.txt" 2>&1
    echo "== $name"
    grep -E "med base|med tgt|ratio t/b" "$out/$name.txt"
}

quiet="--Serilog:MinimumLevel:Default=Warning"
declare -A case_server=([predict]="" [predict-batch]="" [sse]="$quiet" [wafer-closed]="$quiet" [wafer-open100]="$quiet")
declare -A case_load=(
    [predict]="--scenario predict --mode closed --connections 32"
    [predict-batch]="--scenario predict-batch --mode closed --connections 8"
    [sse]="--scenario sse-subscribers --mode open --rate 1000 --subscribers 100 --connections 32"
    [wafer-closed]="--scenario wafer --mode closed --connections 32"
    [wafer-open100]="--scenario wafer --mode open --rate 100")
case "$cases" in
    core) names=(predict sse) ;;
    sensor) names=(predict predict-batch) ;;
    wafer) names=(wafer-closed wafer-open100) ;;
    *) echo "CASES must be core, sensor or wafer, not '$cases'" >&2; exit 2 ;;
esac

for round in $(seq "$rounds"); do
    for name in "${names[@]}"; do
        for side in other this; do
            tree=$([ "$side" = other ] && echo "$other" || echo "$PWD")
            # shellcheck disable=SC2086 # the case's arguments are split into words on purpose
            run "$tree" "r$round-$side-$name" "${case_server[$name]}" ${case_load[$name]}
        done
    done
done
echo "Results in $out"
