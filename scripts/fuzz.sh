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
# The admin API is on, so that its routes exist; the user's token sent
# everywhere below is refused there, as it must be (tests/admin.rs and the
# scenario reach what an operator does).
start_dev_server target/fuzz-server.log RESEND_COOLDOWN_SECONDS=0 PHONE_MAX_SENDS_PER_HOUR=100 \
    IP_MAX_SENDS_PER_HOUR=1000000 IP_MAX_FAILED_CODES_PER_HOUR=1000000 ACCESS_TTL_SECONDS=3600 \
    ADMIN_TOKEN="$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"

access=$(.venv/bin/python scripts/dev_login.py "$base" +79123456789)
# Three of schemathesis's warnings name what this API does on purpose, so
# they are left out (every other kind still shows):
# - missing_auth: /token/refresh/ and /token/revoke/ answer only 401 to
#   generated tokens, as they must (a valid one cannot be generated);
# - missing_test_data: PATCH /profile/{id}/ answers 404 or 403 to ids not
#   the caller's, as it must;
# - validation_mismatch: most generated phones and codes are not valid
#   numbers or codes, and are refused, as they must be.
# The Rust tests and the scenario in tests/openapi.rs reach the success
# paths these cannot.
warnings=$(.venv/bin/python -c 'from schemathesis.core.warnings import SchemathesisWarning as W
print(",".join(w.value for w in W if w.value not in ("missing_auth", "missing_test_data", "validation_mismatch")))')
.venv/bin/schemathesis run openapi.yaml \
    --url "$base" \
    --header "Authorization: Bearer $access" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "${FUZZ_EXAMPLES:-50}" \
    --seed "${FUZZ_SEED:-20261128}" \
    --generation-database none \
    --report junit --report-junit-path target/schemathesis.xml \
    --warnings "$warnings" \
    --no-color
