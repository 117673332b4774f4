#!/usr/bin/env bash
# What the results store costs /predict: the closed-loop /predict case of run.sh on a server with
# Results:Store=none, then on one with the SQLite store, interleaved for BENCH_ROUNDS (2) rounds so
# both see the same noise. Each case reports its own target/baseline ratio; compare /predict's
# req/s between the two servers of a round. Results: bench-results/store-<stamp>/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${BENCH_ROUNDS:-2}"
url="${BENCH_URL:-http://127.0.0.1:8000}"
out="bench-results/store-$(date -u +%Y%m%dT%H%M%SZ)"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
mkdir -p "$out"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet
dotnet build -c Release src/RealTimeInference.LoadTest --nologo -v quiet

for round in $(seq "$rounds"); do
    for store in none sqlite; do
        rm -rf "${data:?}"/*
        dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll --url "$url" \
            --launch "dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls $url --Serilog:MinimumLevel:Default=Warning --Results:Store=$store --Results:Path=$data/results.db" \
            --server-log "$out/r$round-$store.server.log" --scenario predict --mode closed --connections 32 --duration 10s --warmup 2s --repeats 3 \
            --json "$out/r$round-$store.json" >"$out/r$round-$store.txt" 2>&1
        echo "== round $round, Results:Store=$store"
        grep -E "med (base|tgt)|ratio t/b" "$out/r$round-$store.txt"
    done
done
