#!/usr/bin/env bash
# Readings with context (POST /readings) against /predict-batch, the same run (bench/RealTimeInference.OipBench):
# 1,000 readings a request, each of a random one of 100 chambers (tools etch-00..09, chambers A..J), 20
# sensors each, routed by Routing:Rules (fdc-{tool}-{chamber}) to that chamber's own model: a 20-sensor
# MLP exported here by Debian's python3-torch, copied under the 100 chambers' names. Two servers run side
# by side: SPC off, and SPC on (charts of each chamber's score and of sensor s00 per context, all eight
# rules); each repeat measures /predict-batch (the baseline) and /readings on one, then the other.
# Goals (issue 25): /readings >= 300,000 readings/s; SPC on costs <= 10 % of /readings with it off.
# Results: bench-results/readings-<stamp>/{spc-off,spc-on}/<repeat>/ (gitignored) and summary.txt.
# Settings: BENCH_DURATION (5), BENCH_WARMUP (5: the first seconds of 100 models are their JIT and first runs), BENCH_REPEATS (5), BENCH_BATCH_WORKERS (8), BENCH_SEED (42).
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench-results/readings-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/models"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

echo "building (Release)"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dotnet build -c Release bench/RealTimeInference.OipBench --nologo -v quiet >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

source bench/torch.sh
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
# The bundled chambers' models (12 sensors) give way to the 100 chambers' own.
rm -rf "$out/models/"fdc-*
for tool in $(seq -f '%02g' 0 9); do
    for chamber in A B C D E F G H I J; do cp -r "$out/models/template" "$out/models/fdc-etch-$tool-$chamber"; done
done
rm -r "$out/models/template"

# Both servers run side by side (SPC off, SPC on) and the repeats alternate between them, so that the
# machine's drift falls on both alike; an idle server costs the other nothing.
declare -A ports pids
start() {
    local name="$1"; shift
    local port; port="$(free_port)"
    mkdir -p "$out/$name"
    echo "starting the server ($name): http://127.0.0.1:$port"
    dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "http://127.0.0.1:$port" \
        --Results:Store=none --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Inference:ModelsPath="$PWD/$out/models" \
        --Routing:Rules:0:Tool='etch-*' --Routing:Rules:0:Model='fdc-{tool}-{chamber}' "$@" >"$out/$name/server.log" 2>&1 &
    pids[$name]=$!
    ports[$name]=$port
    for _ in $(seq 240); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)" = 200 ] && return
        kill -0 "${pids[$name]}" 2>/dev/null || { tail -20 "$out/$name/server.log" >&2; exit 1; }
        sleep 0.5
    done
}
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start spc-off
start spc-on --Spc:Monitors:0:Value=score --Spc:Monitors:0:Tool='etch-*' --Spc:Monitors:1:Value=s00 --Spc:Monitors:1:Tool='etch-*'
for repeat in $(seq "${BENCH_REPEATS:-5}"); do
    for name in spc-off spc-on; do
        echo "repeat $repeat, $name"
        dotnet bench/RealTimeInference.OipBench/bin/Release/net10.0/RealTimeInference.OipBench.dll \
            --url "http://127.0.0.1:${ports[$name]}" --grpc "http://127.0.0.1:1" --server-pid "${pids[$name]}" --out "$out/$name/$repeat" \
            --duration-s "${BENCH_DURATION:-5}" --warmup-s "${BENCH_WARMUP:-5}" --repeats 1 --rows 1000 \
            --batch-workers "${BENCH_BATCH_WORKERS:-8}" --seed "${BENCH_SEED:-42}" --cases predict-batch,readings-100-chambers \
            >"$out/$name/$repeat.txt" 2>&1 || { cat "$out/$name/$repeat.txt"; exit 1; }
    done
done
python3 - "$out" "${BENCH_REPEATS:-5}" <<'PY' | tee "$out/summary.txt"
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def rate(name, repeat, case): return json.load(open(f"{out}/{name}/{repeat}/{case}.json"))["runs"][0]["readings_per_s"]
for name in ("spc-off", "spc-on"):
    readings = [rate(name, r, "readings-100-chambers") for r in range(1, repeats + 1)]
    batch = [rate(name, r, "predict-batch") for r in range(1, repeats + 1)]
    print(f"{name}: /readings median {statistics.median(readings):,.0f} readings/s ({', '.join(f'{x:,.0f}' for x in readings)}); "
          f"/predict-batch median {statistics.median(batch):,.0f}; ratio {statistics.median(a / b for a, b in zip(readings, batch)):.2f}")
ratios = [rate("spc-on", r, "readings-100-chambers") / rate("spc-off", r, "readings-100-chambers") for r in range(1, repeats + 1)]
print(f"SPC on / off, /readings, per repeat: {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f} (goal >= 0.90)")
# The server's CPU time per reading: what SPC costs in work, less moved by neighbours on a shared machine than the rate.
def cpu(name, repeat):
    run = json.load(open(f"{out}/{name}/{repeat}/readings-100-chambers.json"))["runs"][0]
    return run["server_cores"] / run["readings_per_s"] * 1e6
costs = {name: statistics.median(cpu(name, r) for r in range(1, repeats + 1)) for name in ("spc-off", "spc-on")}
print(f"server CPU per 1,000 readings, median: SPC off {costs['spc-off']:.2f} ms, SPC on {costs['spc-on']:.2f} ms (off / on {costs['spc-off'] / costs['spc-on']:.2f})")
PY
echo "results: $out"
