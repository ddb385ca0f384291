#!/usr/bin/env bash
# `make fuzz`: schemathesis against a dev server on the memory backend, from
# openapi.yaml: every check but positive_data_acceptance (a well-formed phone
# or code can still be wrong), a bounded number of examples per operation.
# FUZZ_EXAMPLES and FUZZ_SEED change the run; the seed is fixed by default so
# that a run can be repeated exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
mkdir -p target
# The send limits are opened up so that fuzzing reaches the logic behind
# them (the Rust tests cover the limits), and tokens outlive the run.
start_dev_server target/fuzz-server.log RESEND_COOLDOWN_SECONDS=0 PHONE_MAX_SENDS_PER_HOUR=100 \
    IP_MAX_SENDS_PER_HOUR=1000000 ACCESS_TTL_SECONDS=3600

access=$(.venv/bin/python scripts/dev_login.py "$base" +79123456789)
.venv/bin/schemathesis run openapi.yaml \
    --url "$base" \
    --header "Authorization: Bearer $access" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "${FUZZ_EXAMPLES:-50}" \
    --seed "${FUZZ_SEED:-20261128}" \
    --generation-database none \
    --report junit --report-junit-path target/schemathesis.xml \
    --no-color
