#!/usr/bin/env bash
# `make import-bench`: import-django (release) with a generated dump of
# IMPORT_USERS users (100,000) into a moto of its own, at IMPORT_CONCURRENCY
# (32): rows per second and peak RSS, for docs/BENCHMARKS.md. moto grows
# by megabytes per TransactWriteItems (docs/BENCHMARKS.md): past a few
# thousand users the second pass exhausts the machine's memory, so watch
# the first pass's figures or use IMPORT_USERS of a few hundred.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
trap stop_started EXIT INT TERM
users=${IMPORT_USERS:-100000}
concurrency=${IMPORT_CONCURRENCY:-32}
mkdir -p target/import-bench
cargo build --release --locked -p dev-server --bin import-django --bin create-tables
python3 scripts/django_dump.py "$users" > target/import-bench/users.json

port=$(free_port)
setsid .venv/bin/python scripts/moto_server.py 127.0.0.1 "$port" > target/import-bench/moto.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/moto-api/"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true DEFAULT_REGION=RU
export USERS_TABLE=bench-users CODES_TABLE=bench-codes SESSIONS_TABLE=bench-sessions INVITES_TABLE=bench-invites
"$bin/release/create-tables" > /dev/null

start=$(date +%s.%N)
/usr/bin/time -f "%M %e" -o target/import-bench/time "$bin/release/import-django" \
    --concurrency "$concurrency" target/import-bench/users.json > target/import-bench/out.log
end=$(date +%s.%N)
tail -1 target/import-bench/out.log
read -r rss seconds < target/import-bench/time
python3 - "$users" "$concurrency" "$rss" "$start" "$end" << 'PY'
import sys
users, concurrency, rss, start, end = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
elapsed = end - start
print(f"| {users:,} users, --concurrency {concurrency}, on moto | {elapsed:.0f} s | {users / elapsed:.0f} rows/s | peak RSS {rss / 1024:.1f} MiB |")
PY
