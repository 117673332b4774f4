# Shared by bench/run.sh and bench/streams.sh (sourced from the repository root): builds Release,
# then defines run_case NAME ARGS..., which runs the LoadTest CLI against a server it launches.
# Expects url, duration, warmup, repeats, out and server_args to be set.
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
