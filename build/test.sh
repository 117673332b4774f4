#!/usr/bin/env bash
# The project's one test command (README "Test"; .ci/run calls it): installs what a fresh
# Debian 12 machine lacks for the test suite, then runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
    echo "The .NET 10 SDK is required (dotnet on PATH); see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
    exit 1
fi

# Native libraries ONNX Runtime loads at run time (present on most images; installed when missing).
missing=()
for lib in libstdc++.so.6 libgomp.so.1; do
    ldconfig -p | grep -q "$lib" || missing+=("$lib")
done
if ((${#missing[@]})); then
    echo "Installing the libraries ONNX Runtime needs: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libstdc++6 libgomp1 >/dev/null
fi

# Headless Chromium for the browser tests (Playwright drives Debian's build; it never downloads one).
if [[ ! -x /usr/bin/chromium ]]; then
    echo "Installing chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# promtool (Debian's prometheus package) lints the /metrics exposition in the observability tests.
if ! command -v promtool >/dev/null 2>&1; then
    echo "Installing prometheus (for promtool) for the metrics tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Alertmanager (Debian's prometheus-alertmanager) receives the alert notifications in the alert tests.
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "Installing prometheus-alertmanager for the alert tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi

# nginx (Debian's package) in front of three server processes in the deployment topology tests,
# started on loopback ports with its own prefix folder; the package's own service is not used.
if [[ ! -x /usr/sbin/nginx ]]; then
    echo "Installing nginx for the deployment topology tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi

# PostgreSQL 15 (Debian's package) for the results-store tests: each test class starts its own
# cluster on a loopback port, so the package's default cluster is not created.
if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo "Installing postgresql-15 for the results-store tests"
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold postgresql-15 >/dev/null
fi

# RabbitMQ and Mosquitto (Debian's packages) for the broker ingestion tests: each test class starts
# its own broker on loopback ports with its own data folder. The packages' own services are not
# started here (no init system runs them), and the tests never use them.
missing=()
[[ -x /usr/sbin/rabbitmq-server ]] || missing+=(rabbitmq-server)
[[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
if ((${#missing[@]})); then
    echo "Installing ${missing[*]} for the broker ingestion tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's python3-grpcio and python3-grpc-tools: a gRPC client that is not ours (stubs compiled from the
# protocol's .proto) in the Open Inference Protocol tests. The tests call /usr/bin/python3, Debian's own.
if ! /usr/bin/python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
    echo "Installing python3-grpcio and python3-grpc-tools for the gRPC client tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-grpcio python3-grpc-tools >/dev/null
fi

# docker-compose (Debian's v1) and kubectl for the deployment manifest tests: `docker-compose config`
# checks docker/compose.yaml and `kubectl kustomize` renders docker/k8s; no container engine runs.
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
if ((${#missing[@]})); then
    echo "Installing ${missing[*]} for the deployment manifest tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# A hung test fails the run (with a dump) instead of holding CI until its time runs out.
dotnet test RealTimeInference.sln --nologo --blame-hang-timeout 5m "$@" 2>&1 | tee "$log" || status=$?
# One closing line over all test projects.
awk '/(Passed|Failed)! +- +Failed: / {
        for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) }
     } END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
