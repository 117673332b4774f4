#!/usr/bin/env bash
# BenchmarkDotNet micro-benchmarks of the server's hot code (bench/RealTimeInference.MicroBench), in-process:
# today the readings parse (POST /readings' body of bench/readings.sh, one-pass against the JSON reader).
# Arguments go to BenchmarkDotNet (default: --filter '*'); its reports land in bench-results/micro-<stamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench-results/micro-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
dotnet build -c Release bench/RealTimeInference.MicroBench --nologo -v quiet
(($#)) || set -- --filter '*'
dotnet bench/RealTimeInference.MicroBench/bin/Release/net10.0/RealTimeInference.MicroBench.dll --artifacts "$out" "$@"
