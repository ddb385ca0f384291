#!/usr/bin/env bash
# `make verifiers`: our access tokens checked by PyJWT and SimpleJWT (pinned
# in requirements-test.txt) against dev servers: RS256 through the JWKS and
# the discovery document, HS256 with the shared key; and refresh tokens
# SimpleJWT mints with the Django system's key, exchanged at a dev server
# on a moto of its own holding the imported fixture (tests/verifiers.py);
# and the altcha library (PyPI) solving our challenges (tests/altcha_client.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
mkdir -p target

trap stop_started EXIT INT TERM

cargo build --locked --quiet -p dev-server --bin dev-server --bin create-tables --bin import-django
# serve LOG NAME=VALUE...: a dev server on a free port; sets $base.
serve() {
    local log=$1 port
    shift
    port=$(free_port)
    base="http://127.0.0.1:$port"
    env PORT="$port" BACKEND=memory "$@" setsid "$bin/debug/dev-server" > "$log" 2>&1 &
    pids+=($!)
    wait_for "$base/"
}

echo "==> RS256: PyJWT's PyJWKClient and SimpleJWT with JWK_URL"
serve target/verifiers-rs256.log JWT_ALGORITHM=RS256 JWT_AUDIENCE=example-app
.venv/bin/python tests/verifiers.py rs256 "$base" example-app

echo "==> ALTCHA: the altcha library solves the challenges /phone/ asks for"
serve target/verifiers-altcha.log IP_MAX_SENDS_PER_HOUR=1 CHALLENGE_MAX_NUMBER=20000
.venv/bin/python tests/altcha_client.py "$base"

echo "==> HS256: SimpleJWT with the shared key"
key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
serve target/verifiers-hs256.log JWT_SIGNING_KEY="$key"
.venv/bin/python tests/verifiers.py hs256 "$base" "$key"
echo "==> The Django system's sessions: its SimpleJWT refresh tokens exchanged once"
# A moto of its own: an import is thousands of transactions, and moto
# copies every table on each, so it stays off a shared moto.
port=$(free_port)
setsid .venv/bin/python scripts/moto_server.py 127.0.0.1 "$port" > target/verifiers-moto.log 2>&1 &
pids+=($!)
moto="http://127.0.0.1:$port"
wait_for "$moto/moto-api/"
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
aws=(AWS_ENDPOINT_URL="$moto" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
    AWS_EC2_METADATA_DISABLED=true USERS_TABLE="legacy-$suffix-users" CODES_TABLE="legacy-$suffix-codes"
    SESSIONS_TABLE="legacy-$suffix-sessions" INVITES_TABLE="legacy-$suffix-invites" DEFAULT_REGION=RU)
env "${aws[@]}" "$bin/debug/create-tables" > /dev/null
env "${aws[@]}" "$bin/debug/import-django" tests/fixtures/django-users.json > target/verifiers-import.log
tail -1 target/verifiers-import.log
old_key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(40))')
serve target/verifiers-legacy.log BACKEND=aws "${aws[@]}" LEGACY_JWT_SIGNING_KEY="$old_key"
.venv/bin/python tests/verifiers.py legacy "$base" "$old_key"
echo "verifiers: passed"
