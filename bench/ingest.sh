#!/usr/bin/env bash
# Broker ingestion, end to end: readings published to RabbitMQ and MQTT, the server's results
# counted as they come back (bench/RealTimeInference.IngestBench). Starts its own RabbitMQ and
# mosquitto on free loopback ports with their own temporary folders, and stops everything it
# started on exit. Cases (each a warm-up run and BENCH_REPEATS measured runs, medians printed):
#   broker-only baselines (no server: the bench consumes what it publishes), then, per results
#   store (none, sqlite), a server consuming both brokers: RabbitMQ with 1,000-reading and
#   1-reading messages, MQTT at full speed and at 1,000 readings/s offered (latency); then RabbitMQ
#   Prefetch/Consumers variations (BENCH_VARIATIONS=0 skips them).
# Results: bench-results/ingest-<stamp>/ (gitignored): one JSON and one text file a case, server and
# broker logs, summary.txt. Other work on the machine skews every number: the summary's "others"
# column is the CPU (cores) spent meanwhile by processes other than the bench, server and brokers.
# Run as root (the broker folders are handed to the rabbitmq user).
# Sizes: BENCH_BIG_MESSAGES (1000-reading messages, 1000), BENCH_SMALL_MESSAGES (40000),
# BENCH_MQTT_MESSAGES (40000), BENCH_LATENCY_MESSAGES (10000), BENCH_STORES ("none sqlite").
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${BENCH_REPEATS:-3}"
big="${BENCH_BIG_MESSAGES:-1000}"
small="${BENCH_SMALL_MESSAGES:-40000}"
mqtt_messages="${BENCH_MQTT_MESSAGES:-40000}"
latency_messages="${BENCH_LATENCY_MESSAGES:-10000}"
stores="${BENCH_STORES:-none sqlite}"
variations="${BENCH_VARIATIONS:-1}"
out="bench-results/ingest-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
work="$(mktemp -d /tmp/rti-ingest-bench.XXXXXX)"
chmod 755 "$work" # the rabbitmq user reaches its folder inside

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
amqp_port="$(free_port)"
dist_port="$(free_port)"
epmd_port="$(free_port)"
mqtt_port="$(free_port)"
http_port="$(free_port)"
node="rti-bench-$$@localhost"
rabbit_pid="" mosquitto_pid="" server_pid="" beam_pid=""

rabbit() {
    env RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_NODENAME="$node" \
        RABBITMQ_MNESIA_BASE="$work/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$work/rabbitmq/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$work/rabbitmq/enabled_plugins" RABBITMQ_FEATURE_FLAGS_FILE="$work/rabbitmq/feature_flags" \
        RABBITMQ_CONFIG_FILE="$work/rabbitmq/rabbitmq" ERL_EPMD_PORT="$epmd_port" "$@"
}

stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

cleanup() {
    set +e
    stop_server
    if [ -n "$rabbit_pid" ]; then
        rabbit rabbitmqctl -n "$node" stop >/dev/null 2>&1
        wait "$rabbit_pid" 2>/dev/null
        rabbit epmd -kill >/dev/null 2>&1
    fi
    if [ -n "$mosquitto_pid" ]; then
        kill -TERM "$mosquitto_pid" 2>/dev/null
        wait "$mosquitto_pid" 2>/dev/null
    fi
    cp -r "$work/rabbitmq/log" "$out/rabbitmq-log" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
    local port="$1" pid="$2" what="$3"
    for _ in $(seq 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { echo "$what exited before opening port $port" >&2; return 1; }
        sleep 0.1
    done
    echo "$what never opened port $port" >&2
    return 1
}

echo "building (Release)"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dotnet build -c Release bench/RealTimeInference.IngestBench --nologo -v quiet >>"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }

echo "starting RabbitMQ on 127.0.0.1:$amqp_port and mosquitto on 127.0.0.1:$mqtt_port"
mkdir -p "$work/rabbitmq/mnesia" "$work/rabbitmq/log" "$work/mosquitto"
printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%s\n' "$amqp_port" >"$work/rabbitmq/rabbitmq.conf"
echo '[].' >"$work/rabbitmq/enabled_plugins"
chown -R rabbitmq:rabbitmq "$work/rabbitmq"
(cd "$work/rabbitmq" && rabbit /usr/sbin/rabbitmq-server) >"$out/rabbitmq.log" 2>&1 &
rabbit_pid=$!
cat >"$work/mosquitto/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
log_dest stdout
EOF
if [ "$(id -u)" = 0 ]; then
    echo "user root" >>"$work/mosquitto/mosquitto.conf"
fi
mosquitto -c "$work/mosquitto/mosquitto.conf" >"$out/mosquitto.log" 2>&1 &
mosquitto_pid=$!
wait_port "$mqtt_port" "$mosquitto_pid" mosquitto
wait_port "$amqp_port" "$rabbit_pid" RabbitMQ
rabbit rabbitmqctl -n "$node" await_startup >/dev/null
# The Erlang VM's own pid, for its CPU (the rabbitmq-server script runs it as a child).
beam_pid="$(rabbit rabbitmqctl -n "$node" eval 'os:getpid().' | tr -d '"')"
echo "RabbitMQ $(rabbit rabbitmqctl -n "$node" eval 'rabbit_misc:version().' | tr -d '"'), Erlang VM pid $beam_pid; mosquitto pid $mosquitto_pid"

bench=(dotnet bench/RealTimeInference.IngestBench/bin/Release/net10.0/RealTimeInference.IngestBench.dll)
amqp_uri="amqp://guest:guest@127.0.0.1:$amqp_port/"
failed=0

# run_case NAME rabbitmq|mqtt ARGS...: one bench case against the brokers (and the server, when one runs).
run_case() {
    local name="$1" mode="$2"
    shift 2
    local target=(--host 127.0.0.1 --port "$mqtt_port") cpu="rabbitmq=$beam_pid,mosquitto=$mosquitto_pid" metrics=""
    [ "$mode" = rabbitmq ] && target=(--uri "$amqp_uri")
    if [ -n "$server_pid" ]; then
        cpu="server=$server_pid,$cpu"
        metrics="http://127.0.0.1:$http_port/metrics"
    fi
    echo
    if ! "${bench[@]}" "$mode" "${target[@]}" --label "$name" --repeats "$repeats" --cpu "$cpu" --metrics "$metrics" \
        --json "$out/$name.json" "$@" 2>&1 | tee "$out/$name.txt"; then
        echo "!!! $name failed (or did not complete)" >&2
        failed=1
    fi
}

# start_server NAME ARGS...: a server on both brokers, ready (GET /health/ready 200, Healthy: both connected).
start_server() {
    local name="$1"
    shift
    dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "http://127.0.0.1:$http_port" \
        --Simulator:Enabled=false --Serilog:MinimumLevel:Default=Warning --Results:Path="$work/$name.db" \
        --Ingestion:RabbitMq:Enabled=true --Ingestion:RabbitMq:Uri="$amqp_uri" \
        --Ingestion:Mqtt:Enabled=true --Ingestion:Mqtt:Host=127.0.0.1 --Ingestion:Mqtt:Port="$mqtt_port" --Ingestion:Mqtt:ClientId="rti-bench-$name" \
        "$@" >"$out/$name.server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 120); do
        if [ "$(curl -s -o "$work/ready.json" -w '%{http_code}' "http://127.0.0.1:$http_port/health/ready" || true)" = 200 ] \
            && grep -q '^{"status":"Healthy"' "$work/ready.json"; then
            echo
            echo "=== server $name ($*): ready"
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.5
    done
    echo "server $name never became ready; see $out/$name.server.log" >&2
    cat "$work/ready.json" >&2 2>/dev/null || true
    exit 1
}

# A server's cases: RabbitMQ 1,000-reading and 1-reading messages, MQTT at full speed and at 1,000/s offered.
server_cases() {
    local prefix="$1"
    run_case "$prefix-rabbit-1000" rabbitmq --readings-per-message 1000 --messages "$big" --in-flight 64
    run_case "$prefix-rabbit-1" rabbitmq --readings-per-message 1 --messages "$small" --in-flight 1024 --publishers 2
    run_case "$prefix-mqtt-max" mqtt --messages "$mqtt_messages" --rate 0 --in-flight 1000
    run_case "$prefix-mqtt-1000rps" mqtt --messages "$latency_messages" --rate 1000 --in-flight 10000
}

echo
echo "=== broker-only baselines (no server)"
run_case base-rabbit-1000 rabbitmq --baseline true --readings-per-message 1000 --messages "$big" --in-flight 64
run_case base-rabbit-1 rabbitmq --baseline true --readings-per-message 1 --messages "$small" --in-flight 1024 --publishers 2
run_case base-mqtt-max mqtt --baseline true --messages "$mqtt_messages" --rate 0 --in-flight 1000
run_case base-mqtt-1000rps mqtt --baseline true --messages "$latency_messages" --rate 1000 --in-flight 10000

for store in $stores; do
    start_server "store-$store" --Results:Store="$store"
    server_cases "$store"
    stop_server
done

# Prefetch x Consumers: the sensor model queues at most 8,192 rows (models/sensor-anomaly, shed-oldest),
# so more than 8 1,000-reading messages in flight are shed and come back after Ingestion:RetryBackoff.
if [ "$variations" = 1 ]; then
    for variation in "1 2 1000" "2 2 1000" "4 2 1000" "4 1 1000" "4 4 1000" "8 2 1000" "64 2 1000" "64 16 1" "2048 2 1"; do
        read -r prefetch consumers readings <<<"$variation"
        start_server "p$prefetch-c$consumers" --Results:Store=none --Ingestion:RabbitMq:Prefetch="$prefetch" --Ingestion:RabbitMq:Consumers="$consumers"
        if [ "$readings" = 1000 ]; then
            run_case "none-p$prefetch-c$consumers-rabbit-1000" rabbitmq --readings-per-message 1000 --messages "$big" --in-flight 64
        else
            run_case "none-p$prefetch-c$consumers-rabbit-1" rabbitmq --readings-per-message 1 --messages "$small" --in-flight 1024 --publishers 2
        fi
        stop_server
    done
fi

# Summary: medians per case, and each server case against the broker-only baseline of its kind.
{
    echo
    echo "== summary ($repeats runs a case, medians; cpu in cores of $(nproc): server, broker, others = everything else but the bench; of-base: against the broker alone)"
    printf '%-28s %12s %8s %9s %9s %9s %10s %7s %7s %7s %6s  %s\n' case readings/s of-base p50-ms p99-ms sched-p99 batch-mean settle-s server broker others complete
    for file in "$out"/*.json; do
        name="$(basename "$file" .json)"
        kind="${name#*-}"
        case "$name" in none-p*) kind="${name#none-p*-c*-}" ;; esac
        base="$out/base-$kind.json"
        jq -r --arg name "$name" --slurpfile base <(if [ -f "$base" ] && [ "$file" != "$base" ]; then cat "$base"; else echo null; fi) '
            def n(x): if x == null or (x | type) != "number" or (x | isnan) then "-" else x end;
            .median as $m
            | [$name,
               ($m.readings_per_s | floor),
               (if $base[0] == null then "-" else (($m.readings_per_s / $base[0].median.readings_per_s * 100 | floor | tostring) + "%") end),
               (n($m.p50_ms) | if type == "number" then (. * 100 | round / 100) else . end),
               (n($m.p99_ms) | if type == "number" then (. * 100 | round / 100) else . end),
               (if .rate > 0 then (n($m.scheduled_p99_ms) | if type == "number" then (. * 100 | round / 100) else . end) else "-" end),
               (if .server.batch_rows == null then "-" else (.server.batch_rows.mean * 10 | round / 10) end),
               (if .server.settle_s == null then "-" else (.server.settle_s * 10 | round / 10) end),
               n($m.cpu_server), n(if .mode == "rabbitmq" then $m.cpu_rabbitmq else $m.cpu_mosquitto end),
               n($m.cpu_others),
               .complete]
            | @tsv' "$file" | awk -F'\t' '{ printf "%-28s %12s %8s %9s %9s %9s %10s %7s %7s %7s %6s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
    done
    echo "goals: rabbit-1000 >= 300000 readings/s; rabbit-1 >= 20000; mqtt-max >= 20000; mqtt-1000rps p99 <= 20 ms"
    echo "readings/s: first publish to last result received; settle-s: then until the server held nothing unacknowledged"
} | tee "$out/summary.txt"
echo "results: $out"
exit "$failed"
