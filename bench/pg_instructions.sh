#!/usr/bin/env bash
# Instructions PostgreSQL spends per award, counted by callgrind, which a noisy machine does
# not move (wall-clock figures here swing by 20% from one run to the next).
#
# Builds a throwaway cluster in a temporary folder, migrates it and seeds 2,000 members,
# then runs a single-user backend under valgrind twice, with 100 and with 300 prepared
# `stamps_award` calls (each its own transaction), from the same starting copy of the data,
# and prints (count(300) - count(100)) / 200: the cost of one award, parsing and start-up
# excluded. Needs valgrind and PostgreSQL's server programs (initdb, pg_ctl, postgres); run
# as root, it runs them as the postgres user.
#
#   BIN     the virtualenv's bin directory (.venv/bin)
#   PGBIN   PostgreSQL's programs (pg_config --bindir)
#   PORT    a free local port for the throwaway cluster while it is migrated (5499)
set -euo pipefail
# Production settings refuse to start without a secret key; a benchmark measures speed, not
# the per-key rate limit (empty turns it off).
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(head -c 48 /dev/urandom | base64 | tr -d '/+=')}
export STAMPS_THROTTLE_RATE=
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
PGBIN=${PGBIN:-$(pg_config --bindir)}
PORT=${PORT:-5499}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }

work=$(mktemp -d)
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    as_postgres "$PGBIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$work"

as_postgres "$PGBIN/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $PORT -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/stamps
"$PGBIN/psql" "postgres://postgres@127.0.0.1:$PORT/postgres" -qc "CREATE DATABASE stamps"
"$BIN/python" manage.py migrate --verbosity 0
"$BIN/python" manage.py seed_demo --name "Instructions" --members 2000 --json >"$work/seed.json"
as_postgres "$PGBIN/pg_ctl" -D "$work/data" -w stop >/dev/null

single_user() { # runs stdin's statements in a single-user backend; extra arguments go first
    as_postgres "$@" "$PGBIN/postgres" --single -D "$work/data" -c fsync=off stamps
}
# Statistics for the members only, as `make bench` does: an ANALYZE of the nearly empty
# ledger tables would plan their look-ups as scans of a few rows, ever longer as awards add up.
echo "VACUUM ANALYZE loyalty_membership;" | single_user >/dev/null 2>&1
as_postgres cp -a "$work/data" "$work/start"

"$BIN/python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
seed = json.load(open(f"{work}/seed.json"))
emails = [m["email"] for m in seed["members"]]
for n in (100, 300):
    with open(f"{work}/awards-{n}.sql", "w") as script:
        print(
            "PREPARE award(text) AS SELECT * FROM stamps_award("
            f"{seed['merchant_id']}, {seed['store_ids'][0]}, NULL, $1, 1, 1000, '', "
            "current_date + 365, false, current_date, now(), 1, NULL);",
            file=script,
        )
        for i in range(n):
            print(f"EXECUTE award('{emails[(i * 7919) % len(emails)]}');", file=script)
PY

count() { # N: instructions of a single-user backend making N awards from the starting copy
    as_postgres rm -rf "$work/data"
    as_postgres cp -a "$work/start" "$work/data"
    single_user valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" \
        <"$work/awards-$1.sql" >"$work/out-$1.txt" 2>"$work/valgrind-$1.txt"
    grep -c "award_id = \"[0-9]" "$work/out-$1.txt" | grep -qx "$1" ||
        { echo "not every award applied; see $work/out-$1.txt" >&2; exit 1; }
    grep -oP 'Collected : \K[0-9]+' "$work/valgrind-$1.txt"
}
few=$(count 100)
many=$(count 300)
echo "PostgreSQL instructions per award (prepared stamps_award, callgrind): $(((many - few) / 200))"
