#!/usr/bin/env bash
# POST /traces latency (issue 25's goal: < 50 ms for a 60 s trace of 20 sensors at 10 Hz): builds Release,
# serves a 20-sensor MLP (python3-torch) whose features are 20 step statistics of the main etch, sends the
# same 12,000-sample trace BENCH_REQUESTS times (50) one after another with curl, and prints the median,
# p90 and max of curl's time_total (the first call included). Results: bench-results/traces-<stamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench-results/traces-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/models/trace-fdc/1"
server_pid=""
trap '[ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
source bench/torch.sh
/usr/bin/python3 - "$out" <<'PY'
import json, os, random, sys
import torch
out = sys.argv[1]
torch.manual_seed(25)
model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1), torch.nn.Sigmoid()).eval()
torch.onnx.export(model, (torch.randn(4, 20),), os.path.join(out, "models/trace-fdc/1/model.onnx"), input_names=["sensors"],
                  output_names=["fault_probability"], dynamic_axes={"sensors": {0: "batch"}, "fault_probability": {0: "batch"}}, opset_version=17)
stats = ["mean", "std", "min", "max", "slope"]
features = [f"main-etch:s{i:02d}:{stats[i % 5]}" for i in range(20)]
json.dump({"inputs": [{"name": "sensors", "features": features}], "threshold": 0.7}, open(os.path.join(out, "models/trace-fdc/model.json"), "w"))
random.seed(1)
trace = {"context": {"tool_id": "trace-01", "chamber_id": "A", "recipe": "poly-etch", "wafer_id": "w01"}, "interval_s": 0.1,
         "steps": [{"name": "stabilize", "start_s": 0, "end_s": 10}, {"name": "main-etch", "start_s": 10, "end_s": 50}, {"name": "over-etch", "start_s": 50, "end_s": 60}],
         "sensors": {f"s{i:02d}": [round(random.gauss(0, 1), 4) for _ in range(600)] for i in range(20)}}
json.dump(trace, open(os.path.join(out, "trace.json"), "w"))
PY
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "http://127.0.0.1:$port" --Results:Store=none \
    --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Inference:ModelsPath="$PWD/$out/models" \
    --Routing:Rules:0:Tool='trace-*' --Routing:Rules:0:Model=trace-fdc >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)" = 200 ] && break
    sleep 0.5
done
for _ in $(seq "${BENCH_REQUESTS:-50}"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' --data-binary @"$out/trace.json" "http://127.0.0.1:$port/traces"
done >"$out/times.txt"
grep -v '^200 ' "$out/times.txt" && { echo "!!! some traces were not answered 200" >&2; exit 1; }
awk '{print $2 * 1000}' "$out/times.txt" | sort -n | awk '{a[NR]=$1} END {printf "traces: %d, curl time_total median %.2f ms, p90 %.2f ms, max %.2f ms\n", NR, a[int((NR+1)/2)], a[int(NR*0.9)], a[NR]}' | tee "$out/summary.txt"
