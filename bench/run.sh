#!/usr/bin/env bash
# `make bench`: the production server (`python -m stamps_server.serve`) on PostgreSQL, driven by wrk,
# next to pgbench's TPC-B-like run on the same PostgreSQL server, before and after the scenarios.
# Prints a table and writes bench/results/latest.json; exits non-zero on any request error or
# if `manage.py check_ledger` fails afterwards.
#
# Settings (environment):
#   DATABASE_URL       default postgres://postgres@127.0.0.1:5432/stamps_bench (created if missing)
#   BIN                the virtualenv's bin directory, default .venv/bin
#   BENCH_DURATION     seconds per scenario and for pgbench (20)
#   BENCH_CONNECTIONS  wrk connections and pgbench clients (8); BENCH_THREADS wrk/pgbench threads (2)
#   BENCH_MEMBERS      members of the benchmark merchant (100000)
#   BENCH_LEDGER_ROWS  fill the ledger up to this many entries first (0: no fill); for the scale run:
#                      BENCH_MEMBERS=1000000 BENCH_LEDGER_ROWS=10000000 on its own DATABASE_URL
#   BENCH_FUNDED       members funded for deducts/redemptions in the mix (2000)
#   BENCH_FRESH_DB=1   drop and recreate the DATABASE_URL database first (done by itself when the
#                      migrations changed since this script built that database)
#   BENCH_PORT         port the server binds on 127.0.0.1 (8765); GRANIAN_* as in stamps_server/serve.py
set -euo pipefail
# Production settings refuse to start without a secret key; a benchmark measures speed, not
# the per-key rate limit (empty turns it off).
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(head -c 48 /dev/urandom | base64 | tr -d '/+=')}
export STAMPS_THROTTLE_RATE=
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stamps_bench}
DURATION=${BENCH_DURATION:-20}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
THREADS=${BENCH_THREADS:-2}
MEMBERS=${BENCH_MEMBERS:-100000}
LEDGER_ROWS=${BENCH_LEDGER_ROWS:-0}
FUNDED=${BENCH_FUNDED:-2000}
FUND_STAMPS=1000
PORT=${BENCH_PORT:-8765}
BASE_URL=http://127.0.0.1:$PORT
RUN=bench/results/run
SCENARIOS=(add mix mix-idem)

say() { printf '\n== %s\n' "$*"; }
manage() { "$BIN/python" manage.py "$@"; }

# -- tools --------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        say "installing wrk"
        apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
    else
        echo "wrk is missing: sudo apt-get install -y wrk" >&2
        exit 1
    fi
fi
for tool in psql pgbench curl; do
    command -v $tool >/dev/null || {
        echo "$tool is missing: apt-get install -y postgresql-client curl" \
            "(pgbench: postgresql-contrib, or the postgresql-15 package on Debian 12)" >&2
        exit 1
    }
done

# -- databases ----------------------------------------------------------------------------------
# postgres://user@host:port/db?opts -> the same server with another database
base=${DATABASE_URL%%\?*}
query=${DATABASE_URL#"$base"}
server=${base%/*}
bench_db=${base##*/}
PGBENCH_URL="$server/stamps_pgbench$query"
admin() { psql "$server/postgres$query" "$@"; }
db_ensure() {
    if [ -z "$(admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
        admin -qc "CREATE DATABASE \"$1\""
    fi
}
# A database this script built carries a fingerprint of the migrations (and the SQL they load)
# it was migrated with; if they have changed since (edited in place while developing), its schema
# cannot be trusted, so it is rebuilt. Databases without the mark are never dropped implicitly.
fingerprint=$(find . \( -path './.*' -o -name build -o -name bench \) -prune -o -type f \
    \( -path '*/migrations/*.py' -o -path '*/sql/*.sql' \) -print | LC_ALL=C sort | xargs cat |
    sha256sum | cut -c1-16)
mark=$(admin -tAc "SELECT shobj_description(oid, 'pg_database') FROM pg_database
                   WHERE datname = '$bench_db'")
if [ "${BENCH_FRESH_DB:-0}" = 1 ] || { [[ $mark == "make bench schema "* ]] &&
    [ "$mark" != "make bench schema $fingerprint" ]; }; then
    say "dropping $bench_db to rebuild it (BENCH_FRESH_DB=1 or its migrations changed)"
    admin -qc "DROP DATABASE IF EXISTS \"$bench_db\""
fi
db_ensure "$bench_db"
db_ensure stamps_pgbench

rm -rf "$RUN"
mkdir -p "$RUN"

say "migrate and seed $MEMBERS members ($DATABASE_URL)"
manage migrate --verbosity 0
admin -qc "COMMENT ON DATABASE \"$bench_db\" IS 'make bench schema $fingerprint'"
manage seed_demo --name "Bench Coffee" --members "$MEMBERS" --json >"$RUN/seed.json"
"$BIN/python" bench/prepare.py "$RUN/seed.json" "$RUN"
# shellcheck source=/dev/null
source "$RUN/seed.env"

ledger_rows() { psql "$DATABASE_URL" -tAc "SELECT count(*) FROM loyalty_ledgerentry"; }
if [ "$LEDGER_ROWS" -gt 0 ]; then
    have=$(ledger_rows)
    chunk=${BENCH_FILL_CHUNK:-2000000}
    while [ "$have" -lt "$LEDGER_ROWS" ]; do
        rows=$((LEDGER_ROWS - have < chunk ? LEDGER_ROWS - have : chunk))
        say "filling the ledger: $have entries, adding $rows"
        psql "$DATABASE_URL" -q -v merchant="$SEED_MERCHANT_ID" -v store="$SEED_STORE_ID" \
            -v rows="$rows" -v offset="$have" -f bench/fill_ledger.sql
        have=$(ledger_rows)
    done
    # Each chunk updates every member's balance at once, which leaves the table several dead
    # versions per member (808 MB where 135 MB hold the live rows, seen at 1M members) and
    # spreads the members over all those pages. A table kept by autovacuum and HOT updates,
    # as in production, stays compact; rewritten, so does this one.
    say "compacting the members after the fill"
    psql "$DATABASE_URL" -qc "VACUUM FULL loyalty_membership"
fi
# Statistics for the tables the setup filled. Not for the tables still empty: ANALYZE would
# record them as empty, the server's cached plans (its ledger functions, the foreign-key
# checks) would then scan them whole for as long as the run lasts, and on a server with
# autovacuum off nothing would ever correct that. Never analysed, the planner sizes a table
# from its current pages instead, as on a freshly migrated production database.
filled_tables=loyalty_membership
[ "$LEDGER_ROWS" -gt 0 ] && filled_tables+=",loyalty_award,loyalty_ledgerentry,loyalty_levelchange"
psql "$DATABASE_URL" -qc "VACUUM ANALYZE $filled_tables"
# Each measurement starts without a checkpoint owed (needs superuser or pg_checkpoint; optional).
checkpoint() { psql "$DATABASE_URL" -qc CHECKPOINT 2>/dev/null || true; }
# PostgreSQL's own counters around each measurement, for the work per request in the report:
# WAL written, full-page images (a page's first change after a checkpoint), pages read from
# outside shared_buffers. Server-wide, so nothing else should run meanwhile.
PG_COUNTERS="SELECT json_build_object(
    'wal_bytes', w.wal_bytes, 'wal_fpi', w.wal_fpi, 'wal_records', w.wal_records,
    'blks_read', sum(d.blks_read), 'blks_hit', sum(d.blks_hit),
    'buffers_backend', b.buffers_backend, 'buffers_clean', b.buffers_clean,
    'buffers_checkpoint', b.buffers_checkpoint)
  FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d
  GROUP BY w.wal_bytes, w.wal_fpi, w.wal_records, b.buffers_backend, b.buffers_clean,
           b.buffers_checkpoint"
# Stats reach the views within a second of a transaction (PGSTAT_MIN_INTERVAL); wait that out.
pg_counters() { # FILE
    sleep 1.1
    psql "$DATABASE_URL" -tAc "$PG_COUNTERS" >"$1" 2>/dev/null || rm -f "$1"
}

# -- pgbench: the yardstick, run before the scenarios and again after them ---------------------
# This machine's speed drifts by a fifth from one minute to the next; the mean of the two runs
# bracketing the scenarios is the ratio's denominator, and both are reported.
pgbench_run() { # NAME: pgbench-NAME.txt, and PostgreSQL's counters around it
    say "pgbench TPC-B-like ($1 the scenarios), $CONNECTIONS clients, ${DURATION}s"
    pgbench -i -q -s 10 "$PGBENCH_URL" >"$RUN/pgbench-init.txt" 2>&1
    checkpoint
    pg_counters "$RUN/pg-pgbench-$1-before.json"
    pgbench -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" "$PGBENCH_URL" 2>&1 |
        tee "$RUN/pgbench-$1.txt"
    pg_counters "$RUN/pg-pgbench-$1-after.json"
}
pgbench_run before

# -- the server -----------------------------------------------------------------------------------
export GRANIAN_HOST=127.0.0.1 GRANIAN_PORT=$PORT STAMPS_REQUIRE_HTTPS=false
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}
server_setting() {
    "$BIN/python" -c "import os; from stamps_server.serve import shipped_defaults as d
print(os.environ.get('GRANIAN_$1') or d()['GRANIAN_$1'])"
}
WORKERS=$(server_setting WORKERS)
THREADS_PER_WORKER=$(server_setting BLOCKING_THREADS)
say "server: $WORKERS workers x $THREADS_PER_WORKER threads, on $BASE_URL"
# Starts a server in the background and waits for it to answer on BASE_URL.
server_start() { # LOG COMMAND...
    local log=$1
    shift
    if curl -s -o /dev/null "$BASE_URL/"; then
        echo "something already answers on $BASE_URL; set BENCH_PORT" >&2
        exit 1
    fi
    "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 150); do
        curl -s -o /dev/null "$BASE_URL/" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    echo "the server did not answer in 30s" >&2
    exit 1
}
# Stops it, and waits until its workers have let go of the port.
stop_server() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        for _ in $(seq 100); do
            curl -s -o /dev/null "$BASE_URL/" || return 0
            sleep 0.2
        done
    fi
}
trap stop_server EXIT
server_start "$RUN/server.log" "$BIN/python" -m stamps_server.serve

say "funding $FUNDED members with $FUND_STAMPS stamps (setup, not measured)"
"$BIN/python" bench/fund.py "$BASE_URL" "$SEED_TOKEN" "$SEED_STORE_ID" "$RUN/members.txt" \
    "$FUNDED" "$FUND_STAMPS"

export BENCH_TOKEN=$SEED_TOKEN BENCH_STORE=$SEED_STORE_ID BENCH_REWARD=$SEED_REWARD_ID
export BENCH_MEMBERS_FILE=$RUN/members.txt BENCH_FUNDED=$FUNDED BENCH_RUN_ID=$(date +%s%N)
for scenario in "${SCENARIOS[@]}"; do
    say "wrk $scenario: $CONNECTIONS connections, $THREADS threads, ${DURATION}s"
    checkpoint
    pg_counters "$RUN/pg-$scenario-before.json"
    BENCH_MODE=$scenario wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
        -s bench/stamps.lua "$BASE_URL" | tee "$RUN/wrk-$scenario.txt"
    pg_counters "$RUN/pg-$scenario-after.json"
done
stop_server

# -- the floor: the same award from a bare WSGI app (bench/floor_app.py), same server settings --
say "floor: bench/floor_app.py under granian ($WORKERS workers x $THREADS_PER_WORKER threads)"
server_start "$RUN/floor-server.log" env BENCH_MERCHANT="$SEED_MERCHANT_ID" PYTHONPATH=bench \
    "$BIN/python" -m granian --interface wsgi --host 127.0.0.1 --port "$PORT" \
    --workers "$WORKERS" --blocking-threads "$THREADS_PER_WORKER" floor_app:app
checkpoint
pg_counters "$RUN/pg-add-floor-before.json"
BENCH_MODE=add wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
    -s bench/stamps.lua "$BASE_URL" | tee "$RUN/wrk-add-floor.txt"
pg_counters "$RUN/pg-add-floor-after.json"
stop_server
pgbench_run after

say "ledger check"
ledger_ok=1
manage check_ledger 2>&1 | tee "$RUN/check_ledger.txt" || ledger_ok=0

say "results"
LEDGER_ENTRIES=$(ledger_rows)
SERVER_VERSION=$(psql "$DATABASE_URL" -tAc "SHOW server_version")
export LEDGER_OK=$ledger_ok MEMBERS=$SEED_MEMBERS LEDGER_ENTRIES SERVER_VERSION WORKERS \
    THREADS_PER_WORKER DURATION \
    CONNECTIONS
"$BIN/python" bench/report.py "$RUN" bench/results/latest.json "${SCENARIOS[@]}" add-floor
