#!/usr/bin/env bash
# The store at the batch endpoint's rate (issue 26): POST /predict-batch (1,000 readings a request,
# BENCH_CONNECTIONS (8) connections, closed loop) for BENCH_DURATION (60s) on a server with
# Results:Store=none, then on one with the embedded SQLite store, interleaved for BENCH_ROUNDS (2)
# rounds so both see the same noise. After each run the server's own counters say what the store did
# with every prediction: rti_results_written_total, rti_results_dropped_total (by reason), and the
# rows still queued once the writer drained. Goal: 0 dropped and SQLite's readings/s within 10 % of none.
# Results: bench-results/store-batch-<stamp>/ (gitignored) and summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${BENCH_ROUNDS:-2}"
duration="${BENCH_DURATION:-60s}"
connections="${BENCH_CONNECTIONS:-8}"
out="bench-results/store-batch-$(date -u +%Y%m%dT%H%M%SZ)"
data="$(mktemp -d)"
mkdir -p "$out"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dotnet build -c Release src/RealTimeInference.LoadTest --nologo -v quiet >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT
metric() { curl -s "$url/metrics" | awk -v name="$1" '$1 ~ "^"name"({|$)" { sum += $2 } END { printf "%d", sum }'; }

for round in $(seq "$rounds"); do
    for store in none sqlite; do
        rm -rf "${data:?}"/*
        name="r$round-$store"
        dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "$url" --Serilog:MinimumLevel:Default=Warning \
            --Simulator:Enabled=false --Results:Store="$store" --Results:Path="$data/results.db" >"$out/$name.server.log" 2>&1 &
        pid=$!
        until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = 200 ]; do
            kill -0 "$pid" 2>/dev/null || { tail -20 "$out/$name.server.log"; exit 1; }
            sleep 0.5
        done
        dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll --url "$url" --scenario predict-batch --no-baseline \
            --mode closed --connections "$connections" --batch-size 1000 --duration "$duration" --warmup 5s --repeats 1 --server-pid "$pid" \
            --json "$out/$name.json" >"$out/$name.txt" 2>&1
        # The writer drains what is queued (at most Results:QueueCapacity rows) before the counts are read.
        for _ in $(seq 60); do [ "$(metric rti_results_queued_rows)" = 0 ] && break; sleep 0.5; done
        readings="$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["scenarios"][0]["target"]["readings_per_second"]))' "$out/$name.json")"
        line="round $round store=$store readings_per_second=$readings written=$(metric rti_results_written_total) dropped=$(metric rti_results_dropped_total) queued_at_end=$(metric rti_results_queued_rows) db_bytes=$(du -cb "$data" | tail -1 | cut -f1)"
        echo "$line" | tee -a "$out/summary.txt"
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    done
done
echo "results: $out"
