#!/usr/bin/env bash
# The README's walk-through, run as a reader pastes it: the shell block
# between its `walkthrough` markers, against a dev server of its own, must
# run to the end and answer what the README shows (the deletion's 204, then
# the deleted account's 404). A short resend cooldown keeps the run quick;
# the block's waiting loop still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
mkdir -p target
start_dev_server target/walkthrough-server.log RESEND_COOLDOWN_SECONDS=3

python3 - README.md > target/walkthrough.sh << 'PY'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```\s*<!-- /walkthrough -->", text, re.S)
if not block:
    sys.exit("README.md has no walk-through between <!-- walkthrough --> markers")
print(block.group(1))
PY
API=$base bash -e -o pipefail target/walkthrough.sh > target/walkthrough.log 2>&1 || {
    cat target/walkthrough.log
    echo "the README's walk-through failed" >&2
    exit 1
}
# The last four lines: the DELETE's 204 and the deleted account's 404;
# before them, logging out answered 204, then 401, then 204.
if ! tail -1 target/walkthrough.log | grep -q '"code":"not_found"' \
    || [ "$(grep -c '^204$' target/walkthrough.log)" != 3 ] \
    || ! grep -q '"code":"token_not_valid"' target/walkthrough.log; then
    cat target/walkthrough.log
    echo "the README's walk-through answered other than the README shows" >&2
    exit 1
fi
echo "walk-through: passed ($(grep -c . target/walkthrough.log) lines of answers)"
