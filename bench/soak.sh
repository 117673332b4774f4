#!/usr/bin/env bash
# Soak: BENCH_SOAK_DURATION (10m) at about twice the server's capacity, mixing valid, bad and slow
# clients over every transport, while a well-behaved client sends 50 /predict a second. Every 10 s
# it samples the server's RSS, the size of /metrics and its number of series, next to the
# well-behaved client's p99 for those 10 s. Writes a CSV and a PNG (gnuplot, installed when
# missing) to bench-results/, and prints each figure's slope per minute and the p99 against idle.
#   clients during the soak:
#     /predict-batch of 1,000 readings, open loop at 2x the probed capacity (the overload)
#     /ws/predict, 8 pipelined JSON sockets, closed loop
#     50 SSE subscribers reading /stream-predictions
#     bad clients: malformed JSON, wrong types, oversized and wrong-Content-Type bodies, ~50 a second
#     slow clients: 20 connections trickling a body a byte a second (Kestrel's minimum rate cuts them)
# Each of them (the bad and slow ones together) has its own API key, as each tool or gateway in a
# fab would: the server shares a latency class's queue fairly between clients. Without keys every
# client here is one address, 127.0.0.1, and so one client.
# Goal: flat RSS and series count; the well-behaved client's p99 within 2x of idle.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/webhook.sh
seconds=$(duration_seconds BENCH_SOAK_DURATION 10m)
(( seconds >= 20 )) || { echo "BENCH_SOAK_DURATION: at least 20s (two samples)" >&2; exit 1; }
keys=(soak-well-behaved-key soak-overload-key-00 soak-sockets-key-000 soak-others-key-0000)
server_args="--Serilog:MinimumLevel:Default=Warning --Simulator:AnomalyRate=0.02 --Simulator:ChamberTools=0"
# The last key both streams (a viewer's right) and sends bad readings (ingest's): an engineer's.
roles=(ingest ingest ingest engineer)
for i in "${!keys[@]}"; do server_args+=" --Security:ApiKeys:$i:Key=${keys[$i]} --Security:ApiKeys:$i:Role=${roles[$i]}"; done
key() { echo "X-Api-Key: ${keys[$1]}"; }
# shellcheck source=bench/common.sh
source bench/common.sh
port="${url##*:}"
csv="$out/$stamp-soak.csv"
loadtest+=(--url "$url" --no-baseline --warmup 0s)
command -v gnuplot >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null; }

$server >"$out/$stamp-soak.server.log" 2>&1 &
server_pid=$!
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; kill -TERM "$server_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
until curl -fs "$url/health/ready" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { echo "the server exited; see $out/$stamp-soak.server.log" >&2; exit 2; }
    sleep 0.2
done

# Repeats of 10 s, a line each.
well_behaved=("${loadtest[@]}" --header "$(key 0)" --scenario predict --mode open --rate 50 --connections 4 --duration 10s)
p99s() { grep -oE 'repeat [0-9]+/[0-9]+ target +/predict: p50 [0-9.]+ ms, p99 [0-9.]+' "$1" | awk '{print $NF}'; }

echo "### idle: the well-behaved client alone, 3 x 10 s"
"${well_behaved[@]}" --repeats 3 >"$out/$stamp-soak.idle.txt" 2>&1
idle=$(p99s "$out/$stamp-soak.idle.txt" | sort -n | sed -n 2p || true)
[[ -n "$idle" ]] || { echo "the idle run measured nothing; see $out/$stamp-soak.idle.txt" >&2; exit 2; }
echo "idle p99 (median of 3): $idle ms"

echo "### soak: $seconds s"
"${loadtest[@]}" --header "$(key 1)" --scenario predict-batch --batch-size 1000 --mode open --rate-fraction 2 --probe-connections 8 --probe-duration 5s \
    --connections 64 --duration "${seconds}s" --repeats 1 >"$out/$stamp-soak.overload.txt" 2>&1 &
overload=$!
pids+=($overload)
sleep 6   # the overload probes capacity first
"${loadtest[@]}" --header "$(key 2)" --scenario ws-json --mode closed --connections 8 --pipeline 8 --duration "${seconds}s" --repeats 1 \
    >"$out/$stamp-soak.sockets.txt" 2>&1 &
sockets=$!
pids+=($sockets)
others="$(key 3)"
for _ in $(seq 50); do curl -sN -H "$others" "$url/stream-predictions" >/dev/null 2>&1 & pids+=($!); done
(
    bodies=('{"temperature":"hot"}' 'not json' '[{"temperature":1}]' '{"temperature":1,"temperature":2,"pressure":1,"flow_rate":1}' "$(head -c 40000 /dev/zero | tr '\0' ' ')")
    while true; do
        for body in "${bodies[@]}"; do
            curl -s -o /dev/null "$url/predict" -H "$others" -H 'Content-Type: application/json' --data-binary "$body" || true
            curl -s -o /dev/null "$url/predict" -H "$others" -H 'Content-Type: text/plain' -d '{}' || true
        done
        sleep 0.2
    done
) &
pids+=($!)
python3 - "$port" "${keys[3]}" <<'PY' &
import socket, sys, threading, time
port, key = int(sys.argv[1]), sys.argv[2]
def trickle():
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-Api-Key: " + key.encode() + b"\r\n\r\n")
            while True:
                s.sendall(b" ")
                time.sleep(1)
        except OSError:
            time.sleep(0.5)
for _ in range(20):
    threading.Thread(target=trickle, daemon=True).start()
while True:
    time.sleep(60)
PY
pids+=($!)

samples=$(( seconds / 10 ))
"${well_behaved[@]}" --repeats "$samples" >"$out/$stamp-soak.well.txt" 2>&1 &
well=$!
pids+=($well)
echo "seconds,rss_mb,metrics_kb,series" >"$csv.samples"
for i in $(seq "$samples"); do
    sleep 10
    rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
    metrics="$(curl -s "$url/metrics")"
    [[ $i == 1 ]] && first_metrics="$metrics"
    echo "$(( i * 10 )),$rss,$(( ${#metrics} / 1024 )),$(grep -vc '^#' <<<"$metrics")" >>"$csv.samples"
done
wait "$well" "$overload" "$sockets" || true

# One row every 10 s: the samples beside the well-behaved client's p99 of those 10 s.
paste -d, "$csv.samples" <( (echo p99_ms; p99s "$out/$stamp-soak.well.txt") ) >"$csv"
rm "$csv.samples"
slope() { # column [from second] -> least-squares slope per minute
    awk -F, -v c="$1" -v from="${2:-0}" 'NR > 1 && $c != "" && $1 >= from { n++; x += $1; y += $c; xx += $1 * $1; xy += $1 * $c }
        END { printf "%.3f", (n * xy - x * y) / (n * xx - x * x) * 60 }' "$csv"
}
median_p99=$(awk -F, 'NR > 1 && $5 != "" { print $5 }' "$csv" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo
series() { grep -v '^#' | sed -E 's/ [^ ]+$//' | sort; }
echo "series added after the first sample (a metric's new label sets, not new labels per client):"
comm -13 <(series <<<"$first_metrics") <(series <<<"$metrics") | sed -E 's/,?le="[^"]*"//' | sort -u | sed 's/^/  /'
half=$(( seconds / 2 ))
echo "slopes per minute, whole run: RSS $(slope 2) MB, /metrics $(slope 3) KB, series $(slope 4), p99 $(slope 5) ms"
echo "slopes per minute, second half: RSS $(slope 2 $half) MB, /metrics $(slope 3 $half) KB, series $(slope 4 $half), p99 $(slope 5 $half) ms"
echo "well-behaved /predict p99: median $median_p99 ms during the soak, $idle ms idle"
sed -nE 's/.*repeat .*, 2xx ([0-9]+), non-2xx ([0-9]+).*/\1 \2/p' "$out/$stamp-soak.well.txt" |
    awk '{ ok += $1; not += $2 } END { printf "well-behaved /predict answered 2xx: %d of %d\n", ok, ok + not }'
echo "/predict outcomes, all clients (the bad ones' too), from /metrics:"
sed -nE 's/^rti_prediction_duration_seconds_count\{.*endpoint="\/predict",outcome="([^"]+)"\} (.*)/  \1 \2/p' <<<"$metrics"
grep -hE "^1 tgt" "$out/$stamp-soak.overload.txt" "$out/$stamp-soak.sockets.txt" || true
gnuplot <<GP
set terminal pngcairo size 1200,900
set output "$out/$stamp-soak.png"
set datafile separator ","
set multiplot layout 2,2 title "Soak $stamp: $seconds s at 2x capacity with bad, slow and socket clients"
set xlabel "seconds"
set key off
set title "server RSS (MB)"; plot "$csv" using 1:2 with linespoints
set title "/metrics size (KB)"; plot "$csv" using 1:3 with linespoints
set title "series in /metrics"; plot "$csv" using 1:4 with linespoints
set logscale y
set title "well-behaved /predict p99 (ms, log scale); idle $idle ms"; plot "$csv" using 1:5 with linespoints, $idle with lines
unset multiplot
GP
echo "CSV $csv, plot $out/$stamp-soak.png"
