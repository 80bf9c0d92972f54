#!/usr/bin/env bash
# Old against new on this machine, interleaved: `bash bench/compare.sh REF` checks out REF (a
# commit) beside this one with its own virtualenv, gives each version a benchmark database of
# its own, and runs `make bench`'s scenarios (stamps/add and the POS mix, bench/stamps.lua)
# against each version's production server in turn, ROUNDS times, the order alternating from
# round to round. Prints every run, then for each scenario the median requests per second of
# each version and their ratio (new/old), and writes bench/results/compare.json.
#
# Settings (environment):
#   ROUNDS             rounds (3); BENCH_DURATION seconds per run (15)
#   BENCH_MEMBERS      members of each benchmark merchant (100000); BENCH_FUNDED (2000)
#   BENCH_CONNECTIONS  wrk connections (8); BENCH_THREADS wrk threads (2)
#   PG_SERVER          the PostgreSQL server, postgres://postgres@127.0.0.1:5432
#   BENCH_PORT         port the servers bind on 127.0.0.1 (8765)
set -euo pipefail
# Production settings refuse to start without a secret key; a benchmark measures speed, not
# the per-key rate limit (empty turns it off).
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(head -c 48 /dev/urandom | base64 | tr -d '/+=')}
export STAMPS_THROTTLE_RATE=
cd "$(dirname "$0")/.."

REF=${1:?usage: bench/compare.sh REF}
ROUNDS=${ROUNDS:-3}
DURATION=${BENCH_DURATION:-15}
MEMBERS=${BENCH_MEMBERS:-100000}
FUNDED=${BENCH_FUNDED:-2000}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
THREADS=${BENCH_THREADS:-2}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-8765}
BASE_URL=http://127.0.0.1:$PORT
WORK=bench/results/compare
NEW=$(pwd)
OLD=$WORK/ref
say() { printf '\n== %s\n' "$*"; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
mkdir -p "$WORK"
sha=$(git rev-parse --short "$REF")
if [ ! -d "$OLD" ] || [ "$(git -C "$OLD" rev-parse --short HEAD)" != "$sha" ]; then
    say "checking out $REF ($sha) into $OLD"
    rm -rf "$OLD"
    git worktree prune
    git worktree add --detach "$OLD" "$sha"
fi
for dir in "$OLD" "$NEW"; do
    [ -x "$dir/.venv/bin/python" ] || make -C "$dir" install
done

# Each version: its database migrated and seeded, members funded through its own server.
version_dir() { [ "$1" = old ] && echo "$OLD" || echo "$NEW"; }
version_url() { echo "$PG_SERVER/stamps_compare_$1"; }
server_start() { # VERSION LOG
    local dir
    dir=$(version_dir "$1")
    (cd "$dir" && DATABASE_URL=$(version_url "$1") STAMPS_REQUIRE_HTTPS=false \
        DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost GRANIAN_HOST=127.0.0.1 GRANIAN_PORT=$PORT \
        exec .venv/bin/python -m stamps_server.serve) >"$2" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 150); do
        curl -s -o /dev/null "$BASE_URL/" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2" >&2; exit 1; }
        sleep 0.2
    done
    echo "the $1 server did not answer in 30s" >&2
    exit 1
}
server_stop() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        for _ in $(seq 100); do curl -s -o /dev/null "$BASE_URL/" || return 0; sleep 0.2; done
    fi
}
trap server_stop EXIT

for version in old new; do
    say "$version: database $(version_url $version), $MEMBERS members"
    psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS stamps_compare_$version"
    psql "$PG_SERVER/postgres" -qc "CREATE DATABASE stamps_compare_$version"
    dir=$(version_dir $version)
    run=$WORK/$version
    mkdir -p "$run"
    (cd "$dir" && DATABASE_URL=$(version_url $version) .venv/bin/python manage.py migrate -v0 &&
        DATABASE_URL=$(version_url $version) .venv/bin/python manage.py seed_demo \
            --name "Bench Coffee" --members "$MEMBERS" --json) >"$run/seed.json"
    .venv/bin/python bench/prepare.py "$run/seed.json" "$run"
    psql "$(version_url $version)" -qc "VACUUM ANALYZE loyalty_membership"
    server_start $version "$run/fund.log"
    # shellcheck source=/dev/null
    source "$run/seed.env"
    .venv/bin/python bench/fund.py "$BASE_URL" "$SEED_TOKEN" "$SEED_STORE_ID" \
        "$run/members.txt" "$FUNDED" 1000
    server_stop
done

results=$WORK/runs.jsonl
: >"$results"
for round in $(seq "$ROUNDS"); do
    order="old new"
    [ $((round % 2)) = 0 ] && order="new old"
    for scenario in add mix; do
        for version in $order; do
            run=$WORK/$version
            # shellcheck source=/dev/null
            source "$run/seed.env"
            server_start $version "$run/server.log"
            say "round $round, $scenario, $version"
            line=$(BENCH_MODE=$scenario BENCH_TOKEN=$SEED_TOKEN BENCH_STORE=$SEED_STORE_ID \
                BENCH_REWARD=$SEED_REWARD_ID BENCH_MEMBERS_FILE=$run/members.txt \
                BENCH_FUNDED=$FUNDED BENCH_RUN_ID=$(date +%s%N) \
                wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
                -s bench/stamps.lua "$BASE_URL" | grep '^BENCH_JSON ' | cut -d' ' -f2-)
            server_stop
            echo "$line"
            printf '{"round": %s, "version": "%s", "result": %s}\n' "$round" "$version" "$line" \
                >>"$results"
        done
    done
done

for version in old new; do
    (cd "$(version_dir $version)" && DATABASE_URL=$(version_url $version) \
        .venv/bin/python manage.py check_ledger) || { echo "check_ledger failed ($version)" >&2; exit 1; }
done

say "summary ($REF = old, working tree = new)"
.venv/bin/python - "$results" "$WORK/../compare.json" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
summary = {}
for scenario in ("add", "mix"):
    row = {}
    for version in ("old", "new"):
        mine = [r["result"] for r in runs if r["version"] == version and r["result"]["mode"] == scenario]
        row[version] = {
            "rps": [round(r["rps"]) for r in mine],
            "median_rps": round(statistics.median(r["rps"] for r in mine)),
            "max_p99_ms": max(r["p99_ms"] for r in mine),
            "errors": sum(r["status_errors"] + r["socket_errors"] + r["non_200_seen"] for r in mine),
        }
    row["ratio"] = round(row["new"]["median_rps"] / row["old"]["median_rps"], 3)
    summary[scenario] = row
    print(f"{scenario:4} old {row['old']['rps']} new {row['new']['rps']} "
          f"ratio {row['ratio']}  p99 old {row['old']['max_p99_ms']:.1f} ms "
          f"new {row['new']['max_p99_ms']:.1f} ms  errors old {row['old']['errors']} "
          f"new {row['new']['errors']}")
json.dump(summary, open(sys.argv[2], "w"), indent=2)
PY
