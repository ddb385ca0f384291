#!/usr/bin/env bash
# `make clients`: generates a Python client from openapi.yaml with
# openapi-python-client and TypeScript types with openapi-typescript (both
# pinned), fails on any warning either prints, type-checks
# tests/clients/uses.ts against the types, and drives the Python client
# through every documented answer against dev servers
# (tests/clients/python_client.py). Uses $MOTO_ENDPOINT when set, as in
# `make test`; otherwise starts a moto of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
# openapi-python-client formats what it writes with the ruff beside it.
export PATH="$PWD/.venv/bin:$PATH"
out=target/clients
rm -rf "$out"
mkdir -p "$out"

trap stop_started EXIT INT TERM

# Fails on any warning: a warning is a response the client would drop.
generated_cleanly() {
    local log=$1
    if grep -qi "warning\|error" "$log"; then
        cat "$log"
        echo "$2 warned: see above" >&2
        return 1
    fi
}

echo "==> openapi-python-client"
openapi-python-client generate --path openapi.yaml --output-path "$out/python" > "$out/python.log" 2>&1 \
    || { cat "$out/python.log"; exit 1; }
generated_cleanly "$out/python.log" openapi-python-client

echo "==> openapi-typescript, tsc"
(cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
tests/clients/node_modules/.bin/openapi-typescript openapi.yaml -o "$out/api.d.ts" > "$out/typescript.log" 2>&1 \
    || { cat "$out/typescript.log"; exit 1; }
generated_cleanly "$out/typescript.log" openapi-typescript
tests/clients/node_modules/.bin/tsc -p tests/clients/tsconfig.json

echo "==> the generated Python client against dev servers"
cargo build --locked --quiet -p dev-server --bin dev-server --bin create-tables
moto=${MOTO_ENDPOINT:-}
if [ -z "$moto" ]; then
    port=$(free_port)
    setsid python scripts/moto_server.py 127.0.0.1 "$port" > "$out/moto.log" 2>&1 &
    pids+=($!)
    moto="http://127.0.0.1:$port"
    wait_for "$moto/moto-api/"
fi
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    PYTHONPATH="$out/python" python tests/clients/python_client.py \
    "$bin/debug/dev-server" "$bin/debug/create-tables" "$moto" "$out"
