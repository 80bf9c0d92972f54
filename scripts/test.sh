#!/usr/bin/env bash
# The whole suite on SQLite, then again on PostgreSQL when it is reachable.
# REQUIRE_POSTGRES=1 turns an unreachable PostgreSQL into a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

echo "== lint (ruff)"
ruff check .

echo "== test suite on SQLite"
DATABASE_URL="sqlite:///$(pwd)/db.test.sqlite3" python -m pytest "$@"

if python - "$TEST_DATABASE_URL" <<'PY'
import sys
import psycopg
import dj_database_url

cfg = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
        password=cfg["PASSWORD"] or None, dbname=cfg["NAME"], connect_timeout=3,
    ).close()
except Exception as error:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {error}", file=sys.stderr)
    sys.exit(1)
PY
then
    echo "== test suite on PostgreSQL ($TEST_DATABASE_URL)"
    DATABASE_URL="$TEST_DATABASE_URL" python -m pytest "$@"
elif [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "REQUIRE_POSTGRES=1 but PostgreSQL is not reachable: failing." >&2
    exit 1
else
    echo "== PostgreSQL not reachable: skipped the PostgreSQL run (set REQUIRE_POSTGRES=1 to fail instead)"
fi
