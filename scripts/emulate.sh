#!/usr/bin/env bash
# `make emulate`: the real Lambda binaries under `cargo lambda watch`, routed
# like the HTTP API, against a moto server holding the template's tables.
# API on 127.0.0.1:$API_PORT (9000), moto on 127.0.0.1:$MOTO_PORT (5055);
# the SMS the functions send are at $moto/moto-api/data.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
export PATH="$PWD/.venv/bin:$PATH"

api_port=${API_PORT:-9000}
moto_port=${MOTO_PORT:-5055}
moto="http://127.0.0.1:$moto_port"
mkdir -p target

trap stop_started EXIT INT TERM

python scripts/moto_server.py 127.0.0.1 "$moto_port" > target/emulate-moto.log 2>&1 &
pids+=($!)
wait_for "$moto/moto-api/"

export AWS_ENDPOINT_URL="$moto" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export USERS_TABLE=phone-auth-users CODES_TABLE=phone-auth-codes
export SESSIONS_TABLE=phone-auth-sessions INVITES_TABLE=phone-auth-invites
cargo run --quiet --locked -p dev-server --bin create-tables

# Build the functions now rather than on the first request.
cargo build --quiet --locked -p phone-enter -p code-enter -p user-profile -p token-refresh -p token-revoke \
    -p account-cleanup -p well-known -p sms-delivery -p admin -p phone-change

# Fresh keys each run, as the dev server makes them.
secret() { python -c 'import secrets; print(secrets.token_hex(32))'; }
env_vars="AWS_ENDPOINT_URL=$moto,AWS_ACCESS_KEY_ID=test,AWS_SECRET_ACCESS_KEY=test,AWS_REGION=us-east-1"
env_vars+=",AWS_EC2_METADATA_DISABLED=true,USERS_TABLE=$USERS_TABLE,CODES_TABLE=$CODES_TABLE"
env_vars+=",SESSIONS_TABLE=$SESSIONS_TABLE,INVITES_TABLE=$INVITES_TABLE"
env_vars+=",JWT_KEY_ID=emulate,JWT_SIGNING_KEY=$(secret),CODE_HASH_SECRET=$(secret)"
env_vars+=",JWT_ISSUER=http://127.0.0.1:$api_port"
env_vars+=",RUST_LOG=${RUST_LOG:-info}"
# `make test` sets 0: its flow logs in and then deletes the account at once.
env_vars+=",RESEND_COOLDOWN_SECONDS=${RESEND_COOLDOWN_SECONDS:-60}"

cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$api_port" \
    --env-vars "$env_vars" &
pids+=($!)
wait_for "http://127.0.0.1:$api_port/" 120
echo "emulate: API on http://127.0.0.1:$api_port, moto on $moto (SMS at $moto/moto-api/data.json)"
wait "${pids[-1]}"
