# Shared by the bench/ scripts (sourced from the repository root): builds Release,
# then defines run_case NAME ARGS..., which runs the LoadTest CLI against a server it launches.
# Expects server_args to be set.

url="${BENCH_URL:-http://127.0.0.1:8000}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-2s}"
repeats="${BENCH_REPEATS:-3}"
out="${BENCH_OUT:-bench-results}"

dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet
dotnet build -c Release src/RealTimeInference.LoadTest --nologo -v quiet

server="dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls $url $server_args"
loadtest=(dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll)
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
failed=0

run_case() {
    local name="$1"
    shift
    echo
    echo "### $name"
    if ! "${loadtest[@]}" --url "$url" --launch "$server" --server-log "$out/$stamp-$name.server.log" \
        --duration "$duration" --warmup "$warmup" --repeats "$repeats" --json "$out/$stamp-$name.json" "$@"; then
        echo "!!! $name failed" >&2
        failed=1
    fi
}
