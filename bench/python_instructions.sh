#!/usr/bin/env bash
# Instructions the server's Python spends per request (`stamps/add` unless KIND says
# otherwise), counted by callgrind, which a noisy machine does not move: the WSGI application
# called in-process (no HTTP server), PostgreSQL's side excluded (bench/pg_instructions.sh
# counts that). Runs bench/inprocess_requests.py with 0 and with COUNT requests after the
# same warm-up and prints the difference per request. Needs the database and
# bench/results/run that `make bench` leaves behind (DATABASE_URL as there; or BENCH_RUN_DIR,
# such as bench/results/compare/new after bench/compare.sh) and valgrind.
#
#   BIN     the virtualenv's bin directory (.venv/bin)
#   KIND    add, deduct, redeem or cancel (add)
#   KEYED   1: every request carries its own Idempotency-Key
#   COUNT   requests counted (300)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
KIND=${KIND:-add}
COUNT=${COUNT:-300}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
[ -f "${BENCH_RUN_DIR:-bench/results/run}/seed.env" ] ||
    { echo "run make bench first (bench/results/run)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # N: instructions of the whole process making N requests after the warm-up
    # (a fixed hash seed: dict layouts, and so the count, stay the same from run to run)
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" \
        "$BIN/python" bench/inprocess_requests.py "$KIND" "$1" 2>"$work/valgrind-$1.txt" ||
        { cat "$work/valgrind-$1.txt" >&2; exit 1; }
    grep -oP 'Collected : \K[0-9]+' "$work/valgrind-$1.txt"
}
none=$(count 0)
some=$(count "$COUNT")
echo "Python instructions per in-process ${KEYED:+keyed }$KIND (callgrind): $(((some - none) / COUNT))"
