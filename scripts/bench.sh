#!/usr/bin/env bash
# `make bench`: builds the functions for this machine in release, starts a
# recording moto, and prints the benchmark table (see bench/src/main.rs and
# docs/BENCHMARKS.md). BENCH_SPAWNS sets cold starts per function (20);
# sizes come from the arm64 build of `make build` when it has run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
mkdir -p target
if ! command -v wrk > /dev/null; then
    echo "==> installing wrk (Debian)"
    apt-get update -qq && apt-get install -y -qq wrk
fi

# The workspace's default members, the functions: the features `sam build`
# resolves for the bootstraps it deploys (see Cargo.toml).
cargo build --release --locked
cargo build --release --locked -p bench

trap stop_started EXIT INT TERM

port=$(free_port)
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH=target/moto_recording setsid .venv/bin/python scripts/moto_server.py 127.0.0.1 "$port" > target/bench-moto.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/moto-api/"
start_tls_proxy "$port"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
MOTO_ENDPOINT="http://127.0.0.1:$port" MOTO_TLS_ENDPOINT="$tls_endpoint" BENCH_CA_BUNDLE="$tls_bundle" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true BENCH_BIN_DIR="$bin/release" BENCH_LAMBDA_DIR="$bin/lambda" "$bin/release/bench"
