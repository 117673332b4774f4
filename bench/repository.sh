#!/usr/bin/env bash
# Many models in one repository (a fab with a model per chamber): N copies of PyTorch's small
# two-input model (tests/ForeignModels/fab-recipe, served from its ONNX signature alone), the server
# started eagerly (every model loaded at start) and lazily (Inference:LoadOnFirstUse), each measured
# for: seconds from launch to /health/ready, RSS once ready, the first V2 call of a model (cold when
# lazy), the same call again (warm), and, lazily with Inference:MaxLoadedModels, RSS after calling every model.
#   bash bench/repository.sh [N=500] [MAX_LOADED=100]
# Results: bench-results/repository-<stamp>/summary.txt (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-500}"
max_loaded="${2:-100}"
out="bench-results/repository-$(date -u +%Y%m%dT%H%M%SZ)"
repo="$out/models"
mkdir -p "$repo"
for i in $(seq -w 1 "$count"); do
    mkdir -p "$repo/chamber-$i/1"
    cp tests/ForeignModels/fab-recipe/1/model.onnx "$repo/chamber-$i/1/"
done

echo "building (Release)"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"
body='{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[0.1,0.2,0.3,0.4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[3]}]}'
server_pid=""
trap '[ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
call_ms() { curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' -d "$body" "$url/v2/models/$1/infer" | awk '{ if ($1 != 200) { print "HTTP " $1; exit } printf "%.1f", $2 * 1000 }'; }

measure() { # name server-args...
    local name=$1
    shift
    local started
    started=$(date +%s.%N)
    dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "$url" --Results:Store=none \
        --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Inference:ModelsPath="$PWD/$repo" --Inference:WatchModels=false "$@" \
        >"$out/$name.server.log" 2>&1 &
    server_pid=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = 200 ]; do
        kill -0 "$server_pid" 2>/dev/null || { echo "the server exited; see $out/$name.server.log" >&2; exit 1; }
        sleep 0.1
    done
    local ready
    ready=$(awk "BEGIN { print $(date +%s.%N) - $started }")
    local rss_ready first second after=""
    rss_ready=$(rss_mib "$server_pid")
    first=$(call_ms "chamber-$(printf "%0${#count}d" 1)")
    second=$(call_ms "chamber-$(printf "%0${#count}d" 1)")
    if [ "$name" = lazy-bounded ]; then
        for i in $(seq -w 1 "$count"); do call_ms "chamber-$i" >/dev/null; done
        after=", RSS after calling all $count: $(rss_mib "$server_pid") MiB"
    fi
    printf '%-13s ready in %6.2f s, RSS %4s MiB; first call %s ms, second %s ms%s\n' "$name" "$ready" "$rss_ready" "$first" "$second" "$after" | tee -a "$out/summary.txt"
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

echo "$count models ($(du -sh "$repo" | cut -f1) on disk), $(nproc) cores" | tee "$out/summary.txt"
measure eager
measure lazy --Inference:LoadOnFirstUse=true
measure lazy-bounded --Inference:LoadOnFirstUse=true --Inference:MaxLoadedModels="$max_loaded"
echo "results: $out"
