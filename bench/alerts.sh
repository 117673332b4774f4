#!/usr/bin/env bash
# Use case 2, end to end: the in-server simulator sends 1,000 sensors (50 tools x 20) at 1 Hz with
# its anomaly episodes for BENCH_ALERTS_DURATION (10m), the alert rules page a webhook receiver
# (python3, on a loopback port), and the script reports: alerts opened and notifications
# delivered, sensors with two open alerts (0 expected), the anomaly -> webhook 2xx latency from
# rti_alert_notify_seconds (p50 and p99 as the upper bounds of their histogram buckets), the
# server's RSS every 30 s, and whether every anomaly episode was alerted exactly once (see the end).
# Results: bench-results/<stamp>-alerts.* (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/webhook.sh
seconds=$(duration_seconds BENCH_ALERTS_DURATION 10m)
url="${BENCH_URL:-http://127.0.0.1:8000}"
hook_port="${BENCH_HOOK_PORT:-8099}"
out="${BENCH_OUT:-bench-results}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
data="$(mktemp -d)"
mkdir -p "$out"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet

start_webhook "$hook_port" "$out/$stamp-alerts.hook.jsonl"
dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "$url" --Serilog:MinimumLevel:Default=Warning \
    --Simulator:Tools=50 --Simulator:SensorsPerTool=20 --Simulator:RateHz=1 --Simulator:AnomalyRate=0.02 --Simulator:ChamberTools=0 \
    --Alerts:Webhooks:0:Url="http://127.0.0.1:$hook_port/" --Results:Path="$data/results.db" >"$out/$stamp-alerts.server.log" 2>&1 &
server=$!
trap 'kill $hook $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"' EXIT
until curl -fs "$url/health/ready" >/dev/null 2>&1; do kill -0 $server 2>/dev/null || { echo "the server exited" >&2; exit 2; }; sleep 0.2; done
rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }
rss_start=$(rss)
echo "### $seconds s of 1,000 sensors at 1 Hz (RSS at start $rss_start MB)"
# RSS every 30 s, to see whether it stays flat.
for ((t = 30; t <= seconds; t += 30)); do sleep 30; echo "$t $(rss)" >>"$out/$stamp-alerts.rss"; done
sleep $(( seconds % 30 ))
rss_end=$(rss)
curl -s "$url/metrics" >"$out/$stamp-alerts.metrics"
curl -s "$url/alerts?state=firing" >"$out/$stamp-alerts.firing.json"
curl -s "$url/alerts?state=acknowledged" >"$out/$stamp-alerts.acknowledged.json"

count() { grep -E "^$1" "$out/$stamp-alerts.metrics" | awk '{ s += $NF } END { print s + 0 }'; }
echo "alerts opened: $(count 'rti_alerts_fired_total')"
echo "notifications delivered: $(count 'rti_alert_notifications_total\{.*result="delivered"'), failed: $(count 'rti_alert_notifications_total\{.*result="failed"')"
python3 - "$out/$stamp-alerts.hook.jsonl" <<'PY'
import collections, json, sys
hooks = [json.loads(line) for line in open(sys.argv[1])]
ids = collections.Counter(h["notification_id"] for h in hooks)
fired = collections.Counter(h["alert_id"] for h in hooks if h["event"] == "fired")
print(f"webhook receiver: {len(hooks)} notifications, {sum(1 for n in ids.values() if n > 1)} repeated ids, {sum(1 for n in fired.values() if n > 1)} alerts fired twice")
PY
python3 - "$out/$stamp-alerts.firing.json" "$out/$stamp-alerts.acknowledged.json" <<'PY'
import json, sys, collections
keys = collections.Counter((a["tool_id"], a["sensor_id"]) for f in sys.argv[1:] for a in json.load(open(f))["items"] if a["sensor_id"] is not None)
print(f"open alerts now: {sum(keys.values())}; sensors with two open alerts: {sum(1 for n in keys.values() if n > 1)}")
PY
sed -nE 's/^rti_alert_notify_seconds_bucket\{.*le="([^"]+)"\} (.*)/\1 \2/p' "$out/$stamp-alerts.metrics" |
    awk '{ le[NR] = $1; n[NR] = $2 } END { total = n[NR]; for (i = 1; i <= NR; i++) { if (!p50 && n[i] >= total * 0.5) p50 = le[i]; if (!p99 && n[i] >= total * 0.99) p99 = le[i] }
        printf "anomaly -> webhook 2xx (%d notifications): p50 <= %s s, p99 <= %s s\n", total, p50, p99 }'
echo "RSS: $rss_start MB at the start, $rss_end MB at the end; every 30 s: $(awk '{ printf "%s ", $2 }' "$out/$stamp-alerts.rss")"
# Every episode alerted once: stop the server (it writes what is queued), then replay each
# sensor's stored predictions through the rule (3 anomalies in the last 5 open; 10 normal in a row
# resolve) and compare the episodes it finds with the alerts the server opened for that sensor
# (its "fired" and "joined" steps): not zero, not two, per episode.
kill -TERM $server; wait $server 2>/dev/null || true
python3 - "$data/results.db" <<'PY'
import collections, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
expected = collections.Counter()
state = {}
for tool, sensor, anomaly in db.execute("SELECT tool_id, sensor_id, is_anomaly FROM predictions WHERE source = 'simulator' ORDER BY id"):
    window, alerting, normal = state.setdefault((tool, sensor), (collections.deque(maxlen=5), False, 0))
    window.append(anomaly)
    if alerting:
        normal = 0 if anomaly else normal + 1
        alerting = normal < 10
    elif sum(window) >= 3:
        alerting, normal = True, 0
        expected[(tool, sensor)] += 1
    state[(tool, sensor)] = (window, alerting, normal)
actual = collections.Counter(db.execute(
    "SELECT a.tool_id, e.sensor_id FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE e.kind IN ('fired', 'joined')").fetchall())
differ = {k for k in expected.keys() | actual.keys() if expected[k] != actual[k]}
print(f"episodes the rule finds in the stored predictions: {sum(expected.values())}; alerted by the server: {sum(actual.values())}; "
      f"sensors where the two differ: {len(differ)}; predictions stored: {sum(1 for _ in db.execute('SELECT 1 FROM predictions'))}")
for k in sorted(differ)[:5]:
    print(f"  {k}: episodes {expected[k]}, alerted {actual[k]}")
PY
