#!/usr/bin/env bash
# Alarm management with the default simulator (issue 25, section 3): the server runs as shipped
# (2 cluster tools x 3 chambers with their own FDC models, readings with context at 1 Hz; the seed's
# 5 tools x 4 sensors beside them) for BENCH_ALARMS_DURATION (30m), alerts page a webhook receiver
# (python3 on a loopback port, which notes each notification's arrival time), and the script compares
# the alerts with the faults the chamber simulator logged it injected:
#   - alerts opened per chamber per 10 minutes outside injected faults (target <= 1),
#   - injected faults alerted (target 100 %): an alert of the chamber open at some point from the
#     fault's first reading to its last reading + the rule's window,
#   - fault start -> webhook arrival (includes the detection: ramped faults start inside the noise),
#     and the alert's opening -> webhook arrival, median and p99;
# and, for the seed's tools, alerts opened per tool per 10 minutes.
# Results: bench-results/<stamp>-alarms.* (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/webhook.sh
seconds=$(duration_seconds BENCH_ALARMS_DURATION 30m)
url="${BENCH_URL:-http://127.0.0.1:8000}"
hook_port="${BENCH_HOOK_PORT:-8099}"
out="${BENCH_OUT:-bench-results}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
data="$(mktemp -d)"
mkdir -p "$out"
dotnet build -c Release src/RealTimeInference.Server --nologo -v quiet

start_webhook "$hook_port" "$out/$stamp-alarms.hook.jsonl"
dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls "$url" \
    --Alerts:Webhooks:0:Url="http://127.0.0.1:$hook_port/" --Results:Path="$data/results.db" >"$out/$stamp-alarms.server.log" 2>&1 &
server=$!
trap 'kill $hook $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"' EXIT
until curl -fs "$url/health/ready" >/dev/null 2>&1; do kill -0 $server 2>/dev/null || { echo "the server exited" >&2; exit 2; }; sleep 0.2; done
echo "### $seconds s of the default simulator"
sleep "$seconds"
curl -s "$url/alerts" >"$out/$stamp-alarms.alerts.json"
curl -s "$url/predictions/summary?group_by=tool_id,chamber_id&bucket=1d" >"$out/$stamp-alarms.summary.json"
kill -TERM $server; wait $server 2>/dev/null || true

python3 - "$out/$stamp-alarms.server.log" "$out/$stamp-alarms.alerts.json" "$out/$stamp-alarms.hook.jsonl" "$seconds" "$out/$stamp-alarms.summary.json" <<'PY'
import collections, datetime, json, statistics, sys
log, alerts_file, hook_file, seconds, summary = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
groups = {(g["group"]["tool_id"], g["group"]["chamber_id"]) for g in json.load(open(summary))["items"]}
def t(text): return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
faults = [json.loads(l) for l in open(log) if '"Id":4121,' in l]
faults = [dict(chamber=(f["ToolId"], f["ChamberId"]), start=t(f["@t"]), end=t(f["@t"]) + f["Ticks"], name=f["Fault"], episode=f["Episode"]) for f in faults]
alerts = json.load(open(alerts_file))["items"]
fired = {}
for line in open(hook_file):
    body = json.loads(line)
    if body["event"] == "fired":
        fired.setdefault(body["alert_id"], body["received"])
window = 5  # Alerts:Window readings at 1 Hz: an alert may open up to the window after a fault's last reading.
chambers = sorted(g for g in groups if g[1] is not None)
seed_tools = sorted(g[0] for g in groups if g[1] is None)
def span(a): return t(a["started_at"]), t(a["resolved_at"]) if a["resolved_at"] else float("inf")
by_chamber = collections.defaultdict(list)
for a in alerts:
    if a["chamber_id"]:
        by_chamber[(a["tool_id"], a["chamber_id"])].append(a)
outside, alerted, to_hook, open_to_hook = 0, 0, [], []
for a in (a for c in chambers for a in by_chamber[c]):
    start = span(a)[0]
    if not any(f["chamber"] == (a["tool_id"], a["chamber_id"]) and f["start"] <= start <= f["end"] + window for f in faults):
        outside += 1
    if a["id"] in fired:
        open_to_hook.append((fired[a["id"]] - start) * 1000)
for f in faults:
    covering = [a for a in by_chamber[f["chamber"]] if span(a)[0] <= f["end"] + window and span(a)[1] >= f["start"]]
    if covering:
        alerted += 1
        first = min(covering, key=lambda a: span(a)[0])
        if span(first)[0] >= f["start"] and first["id"] in fired:
            to_hook.append((fired[first["id"]] - f["start"]) * 1000)
def pct(xs, q): return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")
tens = seconds / 600
print(f"chambers: {len(chambers)}; faults injected: {len(faults)}; chamber alerts opened: {sum(len(v) for v in by_chamber.values())}")
print(f"alerts opened outside injected faults: {outside} = {outside / max(1, len(chambers)) / tens:.2f} per chamber per 10 minutes (target <= 1)")
for c in chambers:
    n = sum(1 for f in faults if f["chamber"] == c)
    print(f"  {c[0]}/{c[1]}: {n} faults, {len(by_chamber[c])} alerts ({', '.join(sorted({a['kind'] for a in by_chamber[c]})) or '-'})")
print(f"faults alerted: {alerted} of {len(faults)} = {alerted / max(1, len(faults)):.1%} (target 100 %)")
print(f"fault start -> webhook (n={len(to_hook)}): median {statistics.median(to_hook) if to_hook else float('nan'):.0f} ms, p99 {pct(to_hook, 0.99):.0f} ms")
print(f"alert opened -> webhook (n={len(open_to_hook)}): median {statistics.median(open_to_hook) if open_to_hook else float('nan'):.1f} ms, p99 {pct(open_to_hook, 0.99):.1f} ms")
tools = collections.Counter(a["tool_id"] for a in alerts if not a["chamber_id"])
print(f"seed tools: {sum(tools.values())} alerts = {sum(tools.values()) / max(1, len(seed_tools)) / tens:.2f} per tool per 10 minutes ({dict(sorted(tools.items()))}); "
      f"kinds {dict(collections.Counter(a['kind'] for a in alerts if not a['chamber_id']))}")
PY
