#!/usr/bin/env bash
# The whole suite on PostgreSQL: TEST_DATABASE_URL's server when it is set (pytest creates and
# drops its own test_... database there), else the embedded server that a new user gets
# (var/postgres, started by the settings; see README, "Zero setup").
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium; they skip, saying so, where it is missing and
# cannot be installed (not root, or no apt-get).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null || echo "chromium could not be installed: the browser tests will skip"
fi

echo "== lint (ruff)"
ruff check .

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "== test suite on $TEST_DATABASE_URL"
    export DATABASE_URL="$TEST_DATABASE_URL"
else
    echo "== test suite on the embedded PostgreSQL server"
    unset DATABASE_URL
fi
python -m pytest "$@"
