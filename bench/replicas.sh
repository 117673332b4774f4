#!/usr/bin/env bash
# One replica against three, behind Debian's nginx with the repo's config (docker/nginx/default.conf.template),
# as docker/compose.yaml runs them: the `dotnet publish` output started with the Dockerfile's
# environment (the image's SQLite results store, simulator off), on loopback ports. Cases, each the
# LoadTest CLI's closed loop against nginx with its no-model baseline through the same proxy:
#   direct-1   one replica, no proxy (what nginx costs)
#   nginx-1    nginx with all three upstream entries on one replica
#   nginx-3    nginx in front of three replicas
# for /predict (BENCH_CONNECTIONS, 32) and /predict-batch of 1,000 readings (BENCH_BATCH_CONNECTIONS, 8).
# Results: bench-results/replicas-<stamp>/ (one JSON a case, logs, summary.txt). Other work on the
# machine skews every number; on 2 cores, three replicas share the cores one had to itself.
# Sizes: BENCH_DURATION (5s), BENCH_WARMUP (2s), BENCH_REPEATS (3).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${BENCH_DURATION:-5s}"
warmup="${BENCH_WARMUP:-2s}"
repeats="${BENCH_REPEATS:-3}"
connections="${BENCH_CONNECTIONS:-32}"
batch_connections="${BENCH_BATCH_CONNECTIONS:-8}"
out="bench-results/replicas-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
work="$(mktemp -d /tmp/rti-replicas-bench.XXXXXX)"
chmod 755 "$work" # nginx workers (user nobody) write request bodies under it
pids=()
nginx_pid=""

cleanup() {
    set +e
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

echo "publishing (Release)"
dotnet publish src/RealTimeInference.Server -c Release -o "$work/app" --nologo -v quiet >"$out/publish.log" 2>&1 || { cat "$out/publish.log"; exit 1; }
dotnet build -c Release src/RealTimeInference.LoadTest --nologo -v quiet >>"$out/publish.log" 2>&1 || { cat "$out/publish.log"; exit 1; }
loadtest=(dotnet src/RealTimeInference.LoadTest/bin/Release/net10.0/RealTimeInference.LoadTest.dll)

# The image's environment: the ENV lines of the Dockerfile's last stage, /app being the publish folder.
image_env=()
while IFS= read -r line; do
    image_env+=("${line//\/app/$work/app}")
done < <(awk '/^FROM /{env=""} /^ENV /{sub(/^ENV /, ""); env=env $0 "\n"} END{printf "%s", env}' docker/Dockerfile)

# Starts replica N; its address is left in $address.
start_replica() {
    local n="$1" port
    port="$(free_port)"
    env "${image_env[@]}" Urls="http://127.0.0.1:$port" Results__Path="$work/replica-$n.db" Serilog__MinimumLevel__Default=Warning \
        dotnet "$work/app/RealTimeInference.Server.dll" >"$out/replica-$n.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 120); do
        if curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready"; then
            address="127.0.0.1:$port"
            return 0
        fi
        sleep 0.5
    done
    echo "replica $n never became ready; see $out/replica-$n.log" >&2
    exit 1
}

# Debian's nginx with a minimal main config around the repo's server block, rendered as the nginx
# image's envsubst does (only the RTI_ variables).
start_nginx() {
    local port="$1" api1="$2" api2="$3" api3="$4"
    [ -n "$nginx_pid" ] && { kill -QUIT "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""; }
    mkdir -p "$work/nginx"
    RTI_API_1="$api1" RTI_API_2="$api2" RTI_API_3="$api3" RTI_NGINX_PORT="$port" \
        envsubst '${RTI_API_1} ${RTI_API_2} ${RTI_API_3} ${RTI_NGINX_PORT}' <docker/nginx/default.conf.template >"$work/nginx/default.conf"
    cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/default.conf;
}
EOF
    /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$out/nginx.log" 2>&1 &
    nginx_pid=$!
    for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready" && return 0
        sleep 0.2
    done
    echo "nginx did not answer; see $work/nginx/error.log" >&2
    cat "$work/nginx/error.log" >&2
    exit 1
}

failed=0
run_case() {
    local name="$1" url="$2"
    echo
    echo "### $name"
    for scenario in predict predict-batch; do
        local conns="$connections"
        [ "$scenario" = predict-batch ] && conns="$batch_connections"
        if ! "${loadtest[@]}" --url "$url" --scenario "$scenario" --mode closed --connections "$conns" --batch-size 1000 \
            --duration "$duration" --warmup "$warmup" --repeats "$repeats" --json "$out/$name-$scenario.json" >"$out/$name-$scenario.txt" 2>&1; then
            echo "!!! $name $scenario failed" >&2
            failed=1
        fi
        tail -n 4 "$out/$name-$scenario.txt"
    done
}

start_replica 1 && replica1="$address"
start_replica 2 && replica2="$address"
start_replica 3 && replica3="$address"
nginx_port="$(free_port)"

run_case direct-1 "http://$replica1"
start_nginx "$nginx_port" "$replica1" "$replica1" "$replica1"
run_case nginx-1 "http://127.0.0.1:$nginx_port"
start_nginx "$nginx_port" "$replica1" "$replica2" "$replica3"
run_case nginx-3 "http://127.0.0.1:$nginx_port"

{
    echo
    echo "== summary ($repeats runs a case, medians; requests/s for /predict, readings/s for /predict-batch of 1,000)"
    printf '%-10s %14s %10s %10s %16s %10s\n' case predict-rps p50-ms p99-ms batch-readings/s p99-ms
    for name in direct-1 nginx-1 nginx-3; do
        jq -r --slurpfile b "$out/$name-predict-batch.json" --arg name "$name" '
            .scenarios[0].target as $p | $b[0].scenarios[0].target as $q
            | [$name, ($p.achieved_rps | floor), $p.p50_ms, $p.p99_ms, ($q.readings_per_second | floor), $q.p99_ms] | @tsv' "$out/$name-predict.json" |
            awk -F'\t' '{ printf "%-10s %14s %10.2f %10.2f %16s %10.2f\n", $1, $2, $3, $4, $5, $6 }'
    done
} | tee "$out/summary.txt"
echo "results: $out"
exit "$failed"
