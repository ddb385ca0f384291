#!/usr/bin/env bash
# `make verifiers`: our access tokens checked by PyJWT and SimpleJWT (pinned
# in requirements-test.txt) against dev servers: RS256 through the JWKS and
# the discovery document, HS256 with the shared key (tests/verifiers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
mkdir -p target

trap stop_started EXIT INT TERM

cargo build --locked --quiet -p dev-server --bin dev-server
# serve LOG NAME=VALUE...: a dev server on a free port; sets $base.
serve() {
    local log=$1 port
    shift
    port=$(free_port)
    base="http://127.0.0.1:$port"
    env PORT="$port" BACKEND=memory "$@" setsid target/debug/dev-server > "$log" 2>&1 &
    pids+=($!)
    wait_for "$base/"
}

echo "==> RS256: PyJWT's PyJWKClient and SimpleJWT with JWK_URL"
serve target/verifiers-rs256.log JWT_ALGORITHM=RS256 JWT_AUDIENCE=example-app
.venv/bin/python tests/verifiers.py rs256 "$base" example-app

echo "==> HS256: SimpleJWT with the shared key"
key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
serve target/verifiers-hs256.log JWT_SIGNING_KEY="$key"
.venv/bin/python tests/verifiers.py hs256 "$base" "$key"
echo "verifiers: passed"
