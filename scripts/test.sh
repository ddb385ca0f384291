#!/usr/bin/env bash
# `make test`: installs the pinned tools into .venv and .venv-sam, starts a
# moto server (DynamoDB, SNS, Secrets Manager) on a free loopback port, runs
# the format, lint, template and workflow checks and every test, schemathesis
# and the browser test against dev servers, then the Lambda emulator with its
# tests, and stops everything it started on the way out, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
ensure_venv .venv-sam requirements-sam.txt
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p target
# A fresh clone gains nothing from incremental compilation, and its caches
# would double the target directory on a machine whose disk is not ours.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

trap stop_started EXIT INT TERM

moto_port=$(free_port)
# Recording on: the bench smoke run counts round trips with it.
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH=target/moto_recording setsid python scripts/moto_server.py 127.0.0.1 "$moto_port" > target/moto.log 2>&1 &
pids+=($!)
endpoint="http://127.0.0.1:$moto_port"
wait_for "$endpoint/moto-api/"
echo "==> moto on $endpoint"

export MOTO_ENDPOINT="$endpoint"
# For tests that need a moto of their own, to stop it mid-test.
export MOTO_PYTHON="$PWD/.venv/bin/python" MOTO_SCRIPT="$PWD/scripts/moto_server.py"
export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
# The SAM CLI would otherwise try to send telemetry.
export SAM_CLI_TELEMETRY=0

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cfn-lint, sam validate --lint"
cfn-lint template.yaml
.venv-sam/bin/sam validate --lint --template template.yaml
echo "==> check-jsonschema (workflows)"
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

log=target/test-output.log
echo "==> cargo test"
cargo test --workspace --locked 2>&1 | tee "$log"

echo "==> make fuzz: schemathesis from openapi.yaml against the dev server"
scripts/fuzz.sh 2>&1 | tee target/fuzz.log
echo "==> the README's walk-through, as pasted"
scripts/walkthrough.sh 2>&1 | tee target/walkthrough-run.log
echo "==> make browser: the try-it page in headless Chromium"
scripts/browser.sh 2>&1 | tee target/browser.log
echo "==> make clients: the clients openapi.yaml generates, against dev servers"
scripts/clients.sh 2>&1 | tee target/clients.log
echo "==> make verifiers: PyJWT and SimpleJWT check our tokens"
scripts/verifiers.sh 2>&1 | tee target/verifiers.log

echo "==> make emulate, and the tests that run through it"
api_port=$(free_port)
emulate_moto_port=$(free_port)
API_PORT=$api_port MOTO_PORT=$emulate_moto_port RESEND_COOLDOWN_SECONDS=0 \
    setsid scripts/emulate.sh > target/emulate.log 2>&1 &
pids+=($!)
if ! wait_for "http://127.0.0.1:$api_port/" 900; then
    cat target/emulate.log
    exit 1
fi
EMULATE_API="http://127.0.0.1:$api_port" EMULATE_MOTO="http://127.0.0.1:$emulate_moto_port" \
    cargo test --locked -p api-tests --test suite -- --ignored emulate:: 2>&1 | tee -a "$log"

echo "==> make bench, smoke run: debug binaries, tiny counts (the figures mean nothing)"
if ! command -v wrk > /dev/null; then
    # The bench says so and skips its wrk table when this fails.
    (apt-get update -qq && apt-get install -y -qq wrk) > target/apt.log 2>&1 || echo "wrk could not be installed: see target/apt.log"
fi
cargo build --locked -p bench -p phone-enter -p code-enter -p user-profile -p token-refresh -p token-revoke -p well-known
echo "==> the functions under a Lambda runtime API: the metric lines they write"
FUNCTION_BIN_DIR="$(realpath "$bin")/debug" cargo test --locked -p api-tests --test suite -- --ignored lambda_metrics:: 2>&1 | tee -a "$log"
start_tls_proxy "$moto_port"
MOTO_TLS_ENDPOINT="$tls_endpoint" BENCH_CA_BUNDLE="$tls_bundle" \
    BENCH_SMOKE=1 BENCH_SPAWNS=2 BENCH_WARM_REQUESTS=20 BENCH_WRK_SECONDS=1 BENCH_REFERRALS=100 BENCH_BIN_DIR="$bin/debug" "$bin/debug/bench"

# Closing lines: schemathesis's count, the browser test's outcome, the
# generated client's count, and the Rust tests summed over every test binary.
grep -h -A1 "^Test cases:" target/fuzz.log | tail -1 | sed 's/^ */schemathesis: /'
grep -h "^walk-through: passed" target/walkthrough-run.log
grep -h "^browser test: passed\|^SKIPPED" target/browser.log
grep -h "^generated Python client:" target/clients.log
grep -h "^verifiers: passed" target/verifiers.log
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
# What the run left on disk: a CI machine's disk is shared and not ours.
du -sh "$bin" 2> /dev/null | sed 's/^\([^\t]*\)\t.*/target directory: \1/'
