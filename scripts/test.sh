#!/usr/bin/env bash
# `make test`: installs the pinned test tools into .venv, starts a moto
# server (DynamoDB and SNS) on a free loopback port, runs the format and lint
# checks and every test, and stops moto on the way out, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s requirements-test.txt "$stamp"; then
    echo "==> installing test tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-test.txt
    cp requirements-test.txt "$stamp"
fi

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
"$venv/bin/python" scripts/moto_server.py 127.0.0.1 "$port" > target/moto.log 2>&1 &
moto_pid=$!
stop_moto() {
    kill "$moto_pid" 2> /dev/null || true
    wait "$moto_pid" 2> /dev/null || true
}
trap stop_moto EXIT INT TERM

endpoint="http://127.0.0.1:$port"
"$venv/bin/python" - "$endpoint" << 'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("moto did not start: see target/moto.log")
PY
echo "==> moto on $endpoint"

export MOTO_ENDPOINT="$endpoint"
# For tests that need a moto of their own, to stop it mid-test.
export MOTO_PYTHON="$PWD/$venv/bin/python" MOTO_SCRIPT="$PWD/scripts/moto_server.py"
export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
log=target/test-output.log
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
