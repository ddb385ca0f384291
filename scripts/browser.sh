#!/usr/bin/env bash
# `make browser`: the try-it page (`GET /` of the dev server) driven through
# the whole flow in headless Chromium by tests/browser/flow.mjs, with
# playwright-core from npm pointed at Debian's Chromium. Screenshots land in
# target/browser/. Skipped, saying so, only where Chromium is missing and
# cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
mkdir -p target

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "==> installing Debian's chromium (log: target/apt-chromium.log)"
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
            > target/apt-chromium.log 2>&1 || true
    else
        echo "not root, or no apt-get: nothing was installed" > target/apt-chromium.log
    fi
    if [ ! -x "$chromium" ]; then
        echo "SKIPPED: the browser test needs Chromium at $chromium, and it could not be installed here (see target/apt-chromium.log)."
        exit 0
    fi
fi

if ! command -v npm > /dev/null; then
    echo "the browser test needs Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# No resend cooldown: the inviter, signed up over the API at the start,
# logs in again on the page at the end.
start_dev_server target/browser-server.log RESEND_COOLDOWN_SECONDS=0

BASE_URL=$base CHROMIUM=$chromium SCREENSHOT_DIR=target/browser node tests/browser/flow.mjs
