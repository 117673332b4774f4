#!/usr/bin/env bash
# Open Inference Protocol (V2) speed against the server's own baselines (bench/RealTimeInference.OipBench):
# builds Release, starts the server on free loopback ports (REST and gRPC h2c, no results store, no
# simulator), runs the cases closed loop with the cases interleaved per repeat, stops the server on exit.
#   1,000-row cases: /predict-batch (baseline), V2 REST JSON, V2 REST binary tensors (binary_data_output),
#     V2 gRPC raw_input_contents, V2 gRPC typed fp32_contents; goal: binary REST and gRPC >= 1.5x /predict-batch readings/s
#   single-row cases: /predict (baseline), V2 gRPC one row: requests/s and p99
#   the fab's own models (tests/ForeignModels, PyTorch's exports, served beside the bundled ones):
#     v2-mlp-single: the 12-sensor MLP over V2 REST JSON, one row a request (goal >= 0.8 of /predict's requests/s);
#     v2-cnn-binary-100: the CNN over V2 binary tensors at 100 images/s open loop (goal p99 < 10 ms)
# Results: bench-results/oip-<stamp>/ (gitignored): <case>.json and <case>.txt, server.log, summary.txt.
# The bench and the server share the machine's cores (the summary's cpu columns say how much each used).
# Settings: BENCH_DURATION (measured seconds a run, 5), BENCH_WARMUP (2), BENCH_REPEATS (3),
# BENCH_ROWS (rows a batch request, 1000), BENCH_BATCH_WORKERS (8), BENCH_SINGLE_WORKERS (32),
# BENCH_GRPC_CHANNELS (1), BENCH_SEED (42), BENCH_CASES (comma-separated subset; empty: all).
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench-results/oip-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
http_port="$(free_port)"
grpc_port="$(free_port)"
server_pid=""

cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "building (Release)"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dotnet build -c Release bench/RealTimeInference.OipBench --nologo -v quiet >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

# The bundled models and the foreign ones, in one repository.
mkdir -p "$out/models"
cp -r src/RealTimeInference.Server/bin/Release/net10.0/models/. "$out/models/"
for model in tests/ForeignModels/fab-*/; do cp -r "$model" "$out/models/"; done

echo "starting the server: REST http://127.0.0.1:$http_port, gRPC h2c 127.0.0.1:$grpc_port"
dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "http://127.0.0.1:$http_port" \
    --Results:Store=none --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Inference:ModelsPath="$PWD/$out/models" \
    --OpenInference:GrpcPort="$grpc_port" --OpenInference:GrpcHost=127.0.0.1 >"$out/server.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 120); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/health/ready" || true)" = 200 ] \
        && (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
done
if [ "$ready" != 1 ]; then
    echo "the server never became ready; see $out/server.log" >&2
    tail -20 "$out/server.log" >&2
    exit 1
fi

status=0
dotnet bench/RealTimeInference.OipBench/bin/Release/net10.0/RealTimeInference.OipBench.dll \
    --url "http://127.0.0.1:$http_port" --grpc "http://127.0.0.1:$grpc_port" --server-pid "$server_pid" --out "$out" \
    --duration-s "${BENCH_DURATION:-5}" --warmup-s "${BENCH_WARMUP:-2}" --repeats "${BENCH_REPEATS:-3}" \
    --rows "${BENCH_ROWS:-1000}" --batch-workers "${BENCH_BATCH_WORKERS:-8}" --single-workers "${BENCH_SINGLE_WORKERS:-32}" \
    --grpc-channels "${BENCH_GRPC_CHANNELS:-1}" --seed "${BENCH_SEED:-42}" --cases "${BENCH_CASES:-}" \
    2>&1 | tee "$out/run.txt" || status=$?
kill -0 "$server_pid" 2>/dev/null || { echo "!!! the server exited during the run; see $out/server.log" >&2; status=1; }
[ "$status" = 0 ] || echo "!!! some requests failed or the bench did not complete (exit $status)" >&2
echo "results: $out"
exit "$status"
