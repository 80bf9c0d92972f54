#!/usr/bin/env bash
# Starts on one machine what a production deployment runs on several: three app servers
# (granian, `python -m stamps_server.serve`) behind HAProxy, and PgBouncer in transaction
# pooling mode in front of the PostgreSQL database named by DATABASE_URL (already migrated).
# Nothing an app server holds is needed by another: keys, idempotency, the outbox and (with
# REDIS_URL) throttles live in PostgreSQL or Redis. docs/scaling.md explains the settings.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/stamps scripts/cluster.sh up
#   scripts/cluster.sh status
#   scripts/cluster.sh stop-app 2 [SIGNAL]   # SIGTERM by default (graceful); KILL to crash it
#   scripts/cluster.sh start-app 2
#   scripts/cluster.sh kill-pgbouncer; scripts/cluster.sh start-pgbouncer   # cut every DB connection
#   scripts/cluster.sh down
#
# The last line `up` prints is the load balancer's base URL. Settings (environment):
#   CLUSTER_DIR   configuration, logs, pid files (default /tmp/stamps-cluster-$LB_PORT)
#   LB_PORT       HAProxy's port on 127.0.0.1 (8080)
#   APP_PORT      the first app server's port; the others follow (8101)
#   APP_SERVERS   how many app servers (3)
#   APP_WORKERS   granian worker processes per app server (1)
#   PGBOUNCER_PORT, PGBOUNCER_POOL_SIZE   (6432, 20 server connections)
#   PYTHON        the interpreter with the project installed (.venv/bin/python if present)
#   STAMPS_REQUIRE_HTTPS   the app servers' (false: this HAProxy speaks plain http)
# haproxy and pgbouncer come from Debian's packages; `up` installs them when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LB_PORT="${LB_PORT:-8080}"
APP_PORT="${APP_PORT:-8101}"
APP_SERVERS="${APP_SERVERS:-3}"
APP_WORKERS="${APP_WORKERS:-1}"
PGBOUNCER_PORT="${PGBOUNCER_PORT:-6432}"
PGBOUNCER_POOL_SIZE="${PGBOUNCER_POOL_SIZE:-20}"
CLUSTER_DIR="${CLUSTER_DIR:-/tmp/stamps-cluster-$LB_PORT}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }

install_missing() {
    local missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v pgbouncer >/dev/null || missing+=(pgbouncer)
    ((${#missing[@]} == 0)) && return
    say "installing ${missing[*]} from Debian's packages"
    local sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    # Debian starts the packaged services; this script runs its own.
    $sudo systemctl disable --now haproxy pgbouncer >/dev/null 2>&1 || true
}

# DATABASE_URL's parts, as shell assignments (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME).
database_parts() {
    "$PYTHON" - "$DATABASE_URL" <<'EOF'
import shlex, sys
from urllib.parse import unquote, urlsplit
url = urlsplit(sys.argv[1])
if url.scheme not in ("postgres", "postgresql"):
    sys.exit("DATABASE_URL must be a postgres:// URL")
if unquote(url.hostname or "").startswith("/"):
    sys.exit("DATABASE_URL must reach PostgreSQL over TCP (host:port), not a socket folder")
parts = {
    "DB_HOST": url.hostname or "127.0.0.1",
    "DB_PORT": str(url.port or 5432),
    "DB_USER": unquote(url.username or "postgres"),
    "DB_PASSWORD": unquote(url.password or ""),
    "DB_NAME": unquote(url.path.lstrip("/")),
}
for name, value in parts.items():
    print(f"{name}={shlex.quote(value)}")
EOF
}

# PgBouncer keeps prepared statements across transactions only from 1.21 on
# (max_prepared_statements); before that the app must not prepare any.
pgbouncer_prepares() {
    local version
    version="$(pgbouncer --version | awk 'NR==1 {print $2}')"
    [[ "$(printf '%s\n' 1.21 "$version" | sort -V | head -1)" == 1.21 ]]
}

pgbouncer_up() {
    local dir="$CLUSTER_DIR/pgbouncer" password_option=""
    mkdir -p "$dir"
    [[ -n "$DB_PASSWORD" ]] && password_option=" password=$DB_PASSWORD"
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
$DB_NAME = host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=$DB_USER$password_option

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
; loopback only, one machine: production uses scram-sha-256 with an auth_file or auth_query
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $PGBOUNCER_POOL_SIZE
max_client_conn = 1000
; a server connection PostgreSQL dropped is replaced; a client waits at most this long
server_login_retry = 1
query_wait_timeout = 30
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
$(pgbouncer_prepares && echo "max_prepared_statements = 200")
EOF
    printf '"%s" ""\n' "$DB_USER" >"$dir/userlist.txt"
    local as_user=()
    if [[ $(id -u) == 0 ]]; then  # PgBouncer refuses to run as root
        local user
        user="$(id -un postgres 2>/dev/null || echo nobody)"
        chown -R "$user" "$dir"
        as_user=(-u "$user")
    fi
    pgbouncer -d "${as_user[@]}" "$dir/pgbouncer.ini"
}

# One key for every app server (a session one signs is valid on the others); the settings
# refuse to start without one.
cluster_secret() {
    local file="$CLUSTER_DIR/secret_key"
    [[ -s $file ]] || head -c 48 /dev/urandom | base64 | tr -d '/+=\n' >"$file"
    cat "$file"
}

app_env() {
    local number="$1" prepared=false
    pgbouncer_prepares && prepared=true
    echo "DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(cluster_secret)}"
    echo "DATABASE_URL=postgres://$DB_USER@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME"
    echo "STAMPS_PREPARED_STATEMENTS=$prepared"
    echo "DJANGO_DISABLE_SERVER_SIDE_CURSORS=true"
    # HAProxy here listens on loopback without TLS; in production it terminates TLS, sets
    # X-Forwarded-Proto and the apps run with STAMPS_TRUST_X_FORWARDED_PROTO=true instead.
    echo "STAMPS_REQUIRE_HTTPS=${STAMPS_REQUIRE_HTTPS:-false}"
    echo "GRANIAN_HOST=127.0.0.1"
    echo "GRANIAN_PORT=$((APP_PORT + number - 1))"
    echo "GRANIAN_WORKERS=$APP_WORKERS"
    echo "PROMETHEUS_MULTIPROC_DIR=$CLUSTER_DIR/metrics-$number"
}

app_start() {
    local number="$1"
    local log="$CLUSTER_DIR/app-$number.log"
    mapfile -t settings < <(app_env "$number")
    echo "===== start at $(date -u +%FT%TZ)" >>"$log"
    # setsid: its own process group, so stop-app reaches every worker.
    (cd "$ROOT" && exec setsid env "${settings[@]}" "$PYTHON" -m stamps_server.serve) \
        >>"$log" 2>&1 </dev/null &
    echo $! >"$CLUSTER_DIR/app-$number.pid"
}

# A command to HAProxy's runtime API (its admin socket).
haproxy_say() {
    [[ -S "$CLUSTER_DIR/haproxy.sock" ]] || return 0
    "$PYTHON" - "$CLUSTER_DIR/haproxy.sock" "$1" <<'EOF' >/dev/null 2>&1 || true
import socket, sys
with socket.socket(socket.AF_UNIX) as sock:
    sock.connect(sys.argv[1])
    sock.sendall(sys.argv[2].encode() + b"\n")
    sock.recv(4096)
EOF
}

app_stop() {
    local number="$1" signal="${2:-TERM}"
    local pidfile="$CLUSTER_DIR/app-$number.pid"
    [[ -f "$pidfile" ]] || return 0
    if [[ "$signal" == TERM ]]; then
        # Out of rotation first: a graceful stop must not meet new connections (granian
        # can hang a stopping worker on one; docs/scaling.md).
        haproxy_say "set server apps/app$number state maint"
        sleep 0.5
    fi
    local pid
    pid="$(cat "$pidfile")"
    kill -s "$signal" -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do  # up to 10 s (GRANIAN_WORKERS_KILL_TIMEOUT bounds a graceful stop)
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -s KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

haproxy_up() {
    local servers=""
    for number in $(seq "$APP_SERVERS"); do
        servers+="    server app$number 127.0.0.1:$((APP_PORT + number - 1)) check"$'\n'
    done
    cat >"$CLUSTER_DIR/haproxy.cfg" <<EOF
global
    maxconn 4000
    stats socket $CLUSTER_DIR/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request is sent again only when no connection could be made (retry-on's default,
    # conn-failure): it never reached an app server, so it cannot have been applied.
    retries 3
    option redispatch

frontend stamps
    bind 127.0.0.1:$LB_PORT
    # Every app server answers /metrics to loopback clients, and HAProxy is one: not through here.
    http-request return status 404 content-type application/json string '{"detail": "Not found."}' if { path /metrics }
    default_backend apps

backend apps
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
$servers
EOF
    haproxy -c -q -f "$CLUSTER_DIR/haproxy.cfg"
    haproxy -D -f "$CLUSTER_DIR/haproxy.cfg" -p "$CLUSTER_DIR/haproxy.pid"
}

wait_ready() {
    local url="$1"
    for _ in $(seq 300); do
        if "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
            "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$url did not answer 200 within 30 s (logs in $CLUSTER_DIR)"
}

pid_kill() {
    local pidfile="$1" signal="${2:-TERM}"
    [[ -f "$pidfile" ]] || return 0
    local pid
    pid="$(cat "$pidfile")"
    kill -s "$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$pidfile"
}

port_free() {
    "$PYTHON" -c "import socket, sys; socket.create_server(('127.0.0.1', int(sys.argv[1]))).close()" \
        "$1" 2>/dev/null
}

up() {
    [[ -n "${DATABASE_URL:-}" ]] || die "set DATABASE_URL to the (migrated) database to front"
    [[ -f "$CLUSTER_DIR/haproxy.pid" ]] && die "already up ($CLUSTER_DIR); run down first"
    for port in "$LB_PORT" "$PGBOUNCER_PORT" $(seq "$APP_PORT" $((APP_PORT + APP_SERVERS - 1))); do
        port_free "$port" || die "port $port is in use (another cluster still up?)"
    done
    install_missing
    local parts
    parts="$(database_parts)" || exit 1
    eval "$parts"
    mkdir -p "$CLUSTER_DIR"
    chmod 755 "$CLUSTER_DIR"
    pgbouncer_up
    say "PgBouncer on 127.0.0.1:$PGBOUNCER_PORT (transaction pooling) -> $DB_HOST:$DB_PORT/$DB_NAME"
    for number in $(seq "$APP_SERVERS"); do
        app_start "$number"
    done
    for number in $(seq "$APP_SERVERS"); do
        wait_ready "http://127.0.0.1:$((APP_PORT + number - 1))/readyz"
    done
    say "$APP_SERVERS app servers on 127.0.0.1:$APP_PORT.. ($APP_WORKERS worker(s) each)"
    haproxy_up
    wait_ready "http://127.0.0.1:$LB_PORT/readyz"
    say "HAProxy on 127.0.0.1:$LB_PORT; logs and pid files in $CLUSTER_DIR"
    echo "http://127.0.0.1:$LB_PORT"
}

down() {
    pid_kill "$CLUSTER_DIR/haproxy.pid"
    rm -f "$CLUSTER_DIR/haproxy.sock"
    for pidfile in "$CLUSTER_DIR"/app-*.pid; do
        [[ -f "$pidfile" ]] || continue
        number="${pidfile##*/app-}"
        app_stop "${number%.pid}"
    done
    pid_kill "$CLUSTER_DIR/pgbouncer/pgbouncer.pid"
    say "down ($CLUSTER_DIR kept for its logs)"
}

status() {
    for pidfile in "$CLUSTER_DIR/haproxy.pid" "$CLUSTER_DIR"/app-*.pid \
        "$CLUSTER_DIR/pgbouncer/pgbouncer.pid"; do
        [[ -f "$pidfile" ]] || continue
        if kill -0 "$(cat "$pidfile")" 2>/dev/null; then state=running; else state=dead; fi
        echo "$(basename "$pidfile" .pid) $(cat "$pidfile") $state"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    start-app)
        [[ -n "${DATABASE_URL:-}" ]] || die "set DATABASE_URL as for up"
        parts="$(database_parts)" || exit 1
        eval "$parts"
        app_start "${2:?app number}"
        wait_ready "http://127.0.0.1:$((APP_PORT + ${2} - 1))/readyz"
        haproxy_say "set server apps/app${2} state ready"
        ;;
    stop-app) app_stop "${2:?app number}" "${3:-TERM}" ;;
    kill-pgbouncer)  # every app server's database connections cut at once
        pid_kill "$CLUSTER_DIR/pgbouncer/pgbouncer.pid" KILL
        ;;
    start-pgbouncer)
        [[ -n "${DATABASE_URL:-}" ]] || die "set DATABASE_URL as for up"
        parts="$(database_parts)" || exit 1
        eval "$parts"
        pgbouncer_up
        ;;
    *) die "usage: $0 up|down|status|start-app N|stop-app N [SIGNAL]|kill-pgbouncer|start-pgbouncer" ;;
esac
