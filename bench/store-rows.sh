#!/usr/bin/env bash
# Rows a second each results store absorbs: the server's own results queue and writer
# (bench/RealTimeInference.StoreBench) fed as fast as they take rows, in chunks of 1 (as /predict
# hands them over) and of 100 (a /predict-batch of 100), then at the target rate in both chunk
# sizes (SQLite 50,000/s, PostgreSQL 100,000/s: "absorbed" = nothing dropped and the queue no
# deeper at the end than one second of that rate). SQLite writes a file in a temporary folder; PostgreSQL is
# Debian's postgresql-15, a fresh cluster on a loopback port with its default durability settings
# (fsync and synchronous commit on), a fresh database a run. BENCH_ROUNDS (3) rounds of
# BENCH_SECONDS (20) each, interleaved; medians at the end. Output: bench-results/store-rows-<stamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${BENCH_ROUNDS:-3}"
seconds="${BENCH_SECONDS:-20}"
out="bench-results/store-rows-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
dotnet build -c Release bench/RealTimeInference.StoreBench --nologo -v quiet
bench=(dotnet bench/RealTimeInference.StoreBench/bin/Release/net10.0/RealTimeInference.StoreBench.dll --seconds "$seconds")

pgbin=/usr/lib/postgresql/15/bin
tmp="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# PostgreSQL does not run as root: as root, it runs as the postgres user its package made.
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $EUID -eq 0 ]] && chown postgres:postgres "$tmp"
as_postgres "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres >/dev/null
as_postgres "$pgbin/pg_ctl" start -w -D "$tmp/data" -l "$tmp/postgres.log" -o "-p $port -c listen_addresses=127.0.0.1 -k $tmp" >/dev/null
trap 'as_postgres "$pgbin/pg_ctl" stop -w -m immediate -D "$tmp/data" >/dev/null; rm -rf "$tmp"' EXIT

run() {
    local store="$1" rate="$2" chunk="$3" name="$4"
    local target=(--path "$tmp/$name.db")
    if [[ $store == postgres ]]; then
        as_postgres "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
        target=(--connection-string "Host=127.0.0.1;Port=$port;Username=postgres;Database=$name")
    fi
    "${bench[@]}" --store "$store" --rate "$rate" --chunk "$chunk" "${target[@]}" | tee -a "$out/runs.txt" || true
    rm -f "$tmp/$name".db*
}

for round in $(seq "$rounds"); do
    echo "== round $round"
    for store in sqlite postgres; do
        run "$store" 0 1 "r${round}_${store}_max1"
        run "$store" 0 100 "r${round}_${store}_max100"
        if [[ $store == sqlite ]]; then target=50000; else target=100000; fi
        run "$store" "$target" 1 "r${round}_${store}_target1"
        run "$store" "$target" 100 "r${round}_${store}_target100"
    done
done

echo "== medians over $rounds rounds (written rows/s; at the target rate, whether every round absorbed it)"
python3 - "$out/runs.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    v = dict(kv.split("=", 1) for kv in line.split())
    key = f"{v['store']} rate={'max' if v['rate'] == '0' else v['rate']} chunk={v['chunk']}"
    runs.setdefault(key, []).append((float(v["written_per_second"]), v["absorbed"]))
for key, values in sorted(runs.items()):
    print(f"{key:34} median {statistics.median(w for w, _ in values):8.0f} rows/s  absorbed: {' '.join(a for _, a in values)}")
PY
