#!/usr/bin/env bash
# `make browser`: the try-it page (`GET /` of the dev server) driven through
# the whole flow in headless Chromium by tests/browser/flow.mjs, with
# playwright-core from npm pointed at Debian's Chromium. Screenshots land in
# target/browser/. Chromium comes from apt (about 350 MB with its libraries)
# the first time; a developer's run without root or without the network
# skips the test, saying so, while CI (CI=true) fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
mkdir -p target

# skip WHY: outside CI, the test is skipped with one clear line; in CI it
# must run, so the same reason fails the run.
skip() {
    if [ "${CI:-}" = true ]; then
        echo "the browser test cannot run in CI: $1" >&2
        exit 1
    fi
    echo "SKIPPED: the browser test: $1"
    exit 0
}

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "==> installing Debian's chromium, once: about 350 MB (log: target/apt-chromium.log)"
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
            > target/apt-chromium.log 2>&1 || true
    else
        echo "not root, or no apt-get: nothing was installed" > target/apt-chromium.log
    fi
    if [ ! -x "$chromium" ]; then
        skip "it needs Chromium at $chromium, which could not be installed without root or the network (see target/apt-chromium.log)"
    fi
fi

if ! command -v npm > /dev/null; then
    skip "it needs Node.js and npm (Debian: apt-get install nodejs npm)"
fi
if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) > target/npm-browser.log 2>&1; then
    cat target/npm-browser.log
    skip "npm could not install its packages (no network?)"
fi
# The page serves a copy of the ALTCHA widget: it must be the pinned npm
# release's, byte for byte.
for file in altcha.js worker.js altcha.css; do
    if ! cmp -s "dev-server/page/vendor/altcha/$file" "tests/browser/node_modules/altcha/dist_external/$file"; then
        echo "dev-server/page/vendor/altcha/$file differs from the pinned altcha package's dist_external/$file" >&2
        exit 1
    fi
done
# No resend cooldown, and room for more sends per phone: the inviter,
# signed up over the API at the start, logs in again on the page at the
# end, and one number is sent codes for three sessions, a phone change
# back to it and its deletion. A Portuguese template: a page in a
# Brazilian browser gets its SMS in Portuguese.
start_dev_server target/browser-server.log RESEND_COOLDOWN_SECONDS=0 PHONE_MAX_SENDS_PER_HOUR=20 \
    'SMS_TEMPLATES={"pt": "Seu código é {code}"}'


BASE_URL=$base CHROMIUM=$chromium SCREENSHOT_DIR=target/browser node tests/browser/flow.mjs
