#!/usr/bin/env bash
# The whole suite on PostgreSQL: TEST_DATABASE_URL's server when it is set (pytest creates and
# drops its own test_... database there), else the embedded server that a new user gets
# (var/postgres, started by the settings; see README, "Zero setup").
set -euo pipefail
cd "$(dirname "$0")/.."

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
