# Sourced by the bench scripts that run for a while and page a webhook (bench/alerts.sh, bench/alarms.sh, bench/soak.sh).

# duration_seconds NAME DEFAULT: the seconds in the variable NAME (e.g. 10m or 90s; DEFAULT when unset), or an error.
duration_seconds() {
    local value="${!1:-$2}"
    [[ "$value" =~ ^([0-9]+)([ms])$ ]] || { echo "$1: whole minutes or seconds, e.g. 10m or 90s" >&2; return 1; }
    if [[ ${BASH_REMATCH[2]} == m ]]; then echo $(( BASH_REMATCH[1] * 60 )); else echo "${BASH_REMATCH[1]}"; fi
}

# start_webhook PORT FILE: a python3 receiver on the loopback PORT that answers 200 and writes a JSON line
# per notification to FILE — its body, plus "notification_id" (X-RTI-Notification-Id) and "received"
# (arrival, Unix seconds); its pid goes to $hook.
start_webhook() {
    python3 - "$1" "$2" <<'PY' &
import http.server, json, sys, time
port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["notification_id"], body["received"] = self.headers["X-RTI-Notification-Id"], time.time()
        log.write(json.dumps(body) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
    hook=$!
}
