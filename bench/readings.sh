#!/usr/bin/env bash
# Readings with context (POST /readings) against /predict-batch, the same run (bench/RealTimeInference.OipBench):
# 1,000 readings a request, each of a random one of 100 chambers (tools etch-00..09, chambers A..J), 20
# sensors each, routed by Routing:Rules (fdc-{tool}-{chamber}) to that chamber's own model: a 20-sensor
# MLP exported here by Debian's python3-torch, copied under the 100 chambers' names. The server runs twice:
# SPC off, then SPC on (charts of each chamber's score and of sensor s00 per context, all eight rules),
# each time /predict-batch (the baseline) and /readings interleaved per repeat.
# Goals (issue 25): /readings >= 300,000 readings/s; SPC on costs <= 10 % of /readings with it off.
# Results: bench-results/readings-<stamp>/{spc-off,spc-on}/ (gitignored), summary.txt in each.
# Settings: BENCH_DURATION (5), BENCH_WARMUP (2), BENCH_REPEATS (3), BENCH_BATCH_WORKERS (8), BENCH_SEED (42).
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench-results/readings-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/models"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap cleanup EXIT

echo "building (Release)"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dotnet build -c Release bench/RealTimeInference.OipBench --nologo -v quiet >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

echo "exporting a 20-sensor MLP (python3-torch) for 100 chambers"
/usr/bin/python3 - "$out/models/template" <<'PY'
import json, os, sys
import torch
folder = sys.argv[1]
os.makedirs(os.path.join(folder, "1"), exist_ok=True)
torch.manual_seed(25)
model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1), torch.nn.Sigmoid()).eval()
torch.onnx.export(model, (torch.randn(4, 20),), os.path.join(folder, "1", "model.onnx"), input_names=["sensors"],
                  output_names=["fault_probability"], dynamic_axes={"sensors": {0: "batch"}, "fault_probability": {0: "batch"}}, opset_version=17)
json.dump({"inputs": [{"name": "sensors", "features": [f"s{i:02d}" for i in range(20)]}], "threshold": 0.7}, open(os.path.join(folder, "model.json"), "w"))
PY
cp -r src/RealTimeInference.Server/bin/Release/net10.0/models/. "$out/models/"
for tool in $(seq -f '%02g' 0 9); do
    for chamber in A B C D E F G H I J; do cp -r "$out/models/template" "$out/models/fdc-etch-$tool-$chamber"; done
done
rm -r "$out/models/template"

run() {
    local name="$1"; shift
    local port; port="$(free_port)"
    mkdir -p "$out/$name"
    echo "starting the server ($name): http://127.0.0.1:$port"
    dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "http://127.0.0.1:$port" \
        --Results:Store=none --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Inference:ModelsPath="$PWD/$out/models" \
        --Routing:Rules:0:Tool='etch-*' --Routing:Rules:0:Model='fdc-{tool}-{chamber}' "$@" >"$out/$name/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 240); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)" = 200 ] && break
        kill -0 "$server_pid" 2>/dev/null || { tail -20 "$out/$name/server.log" >&2; exit 1; }
        sleep 0.5
    done
    dotnet bench/RealTimeInference.OipBench/bin/Release/net10.0/RealTimeInference.OipBench.dll \
        --url "http://127.0.0.1:$port" --grpc "http://127.0.0.1:1" --server-pid "$server_pid" --out "$out/$name" \
        --duration-s "${BENCH_DURATION:-5}" --warmup-s "${BENCH_WARMUP:-2}" --repeats "${BENCH_REPEATS:-3}" --rows 1000 \
        --batch-workers "${BENCH_BATCH_WORKERS:-8}" --seed "${BENCH_SEED:-42}" --cases predict-batch,readings-100-chambers \
        2>&1 | tee "$out/$name/run.txt"
    cleanup
}

run spc-off
run spc-on --Spc:Monitors:0:Value=score --Spc:Monitors:0:Tool='etch-*' --Spc:Monitors:1:Value=s00 --Spc:Monitors:1:Tool='etch-*'
echo "results: $out"
