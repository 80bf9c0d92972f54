#!/usr/bin/env python3
"""Crash test: a mixed load against the production server on PostgreSQL, SIGKILLed at
random moments, and a check afterwards that nothing was lost or applied twice.

What it does, in order:

1. Copies the code to a temporary directory (so every restart serves the same version),
   drops and re-creates a dedicated PostgreSQL database (its name must contain "crash"),
   runs `manage.py migrate` and `manage.py seed_demo --json` for a token, stores, members
   and rewards.
2. Starts the server (`python -m stamps_server.serve`, granian) on 127.0.0.1 and a free port.
3. Client threads send stamps/add, memberships/deduct-stamps, redemptions/add and
   stamps/cancel calls, each with its own Idempotency-Key. A call that ends in a connection
   error, a timeout, a 5xx or a 409 is retried later with the same key and the same bytes
   until it gets a definitive answer (2xx, or a 4xx other than 409), across restarts.
   Some attempts give up after a few milliseconds, as a till that times out would, while
   the server carries on: their retries meet a 409 or the stored answer.
   Now and then a call that got a 2xx is deliberately sent again: the answer must be the
   same status and the same bytes, marked `Idempotent-Replayed: true`.
4. Meanwhile, --kills times at random moments, the server's whole process group is killed
   with SIGKILL, and the server is started again on the same port.
5. At the end: `manage.py check_ledger` must pass, and the database must hold exactly what
   the 2xx answers say: every award, deduction, redemption and cancel that a client was told
   about exists exactly once, nothing else was written, every member's balance equals their
   starting balance plus the 2xx answers, and the idempotency table has exactly one row per
   key answered (2xx or a ledger refusal), holding the very bytes the client received. No
   call may be refused other than for want of stamps or level (the load names only seeded
   members, stores and rewards),
   and no answer may be a 5xx, unless --lenient-refusals / --allow-5xx say otherwise.

With --cluster the load goes through HAProxy to three app servers that reach PostgreSQL
through PgBouncer (scripts/cluster.sh), and each kill takes one app server down: HAProxy's
own answers for a server that died mid-request (a 502/503/504 that is not the
application's JSON) count as connection errors, as a cut connection does without it.

Exit status: 0 passed, 1 a guarantee was broken (listed), 2 the test itself could not run.

Examples:
    python scripts/crash_test.py
    python scripts/crash_test.py --calls 2000 --clients 6 --kills 10 --seed 7
    python scripts/crash_test.py --database-url postgres://postgres@127.0.0.1:5432/my_crash
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_DB_NAME = "stamps_crash"

ADD, DEDUCT, REDEEM, CANCEL = "add", "deduct", "redeem", "cancel"
PATHS = {
    ADD: "/api/stamps/add",
    DEDUCT: "/api/memberships/deduct-stamps",
    REDEEM: "/api/redemptions/add",
    CANCEL: "/api/stamps/cancel",
}
# The refusals the load can rightly get (see Call.refusal for the format): it only names
# seeded members, stores and rewards, awards at most 20 stamps and cancels each award once.
# Any other 4xx (a member "not found", a 409 that never ends, a 422, ...) is a violation.
EXPECTED_REFUSALS: dict[str, tuple[str, ...]] = {
    ADD: (),
    DEDUCT: ("400 insufficient_stamps",),
    CANCEL: ("400 insufficient_stamps",),  # the member has spent the award's stamps
    REDEEM: ("400 stamps: Membership has insufficient stamps", "400 reward: This reward needs"),
}


class SetupError(Exception):
    """The test could not run (not a broken guarantee)."""


# --------------------------------------------------------------------------- arguments


def default_database_url() -> str:
    """CRASH_DATABASE_URL, else the server and credentials of a postgres DATABASE_URL with
    the database name replaced by `stamps_crash` (never the database itself: it is dropped),
    else the local default."""
    if os.environ.get("CRASH_DATABASE_URL"):
        return os.environ["CRASH_DATABASE_URL"]
    env_url = os.environ.get("DATABASE_URL", "")
    if env_url.startswith(("postgres://", "postgresql://")):
        return urlsplit(env_url)._replace(path="/" + DEFAULT_DB_NAME, query="").geturl()
    return f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB_NAME}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=default_database_url(),
        help="PostgreSQL database to DROP, re-create and use; its name must contain 'crash' "
        "(default: $CRASH_DATABASE_URL, else $DATABASE_URL's server with database "
        f"'{DEFAULT_DB_NAME}', else postgres://postgres@127.0.0.1:5432/{DEFAULT_DB_NAME})",
    )
    parser.add_argument("--calls", type=int, default=800, help="logical calls (default 800)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs of the server (default 5)")
    parser.add_argument(
        "--workers", type=int, default=2, help="server worker processes (default 2)"
    )
    parser.add_argument("--members", type=int, default=50, help="seeded members (default 50)")
    parser.add_argument(
        "--hot-members",
        type=int,
        default=8,
        help="members that get most of the calls, for contention (default 8)",
    )
    parser.add_argument(
        "--replay-rate",
        type=float,
        default=0.1,
        help="share of 2xx calls sent once more on purpose (default 0.1)",
    )
    parser.add_argument(
        "--impatient-rate",
        type=float,
        default=0.1,
        help="share of attempts whose client gives up after 5-50 ms, like a till timing out "
        "while the server carries on (default 0.1)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="run through scripts/cluster.sh's topology (HAProxy, three app servers, PgBouncer "
        "in transaction pooling mode): each kill SIGKILLs one app server, chosen at random, "
        "and starts it again; needs haproxy and pgbouncer (the script installs them)",
    )
    parser.add_argument(
        "--kill-pgbouncer",
        action="store_true",
        help="with --cluster, every second kill is PgBouncer's (SIGKILL, started again): every "
        "app server's database connections are cut at once; the app servers answer 503 "
        "until it is back, so this implies --allow-5xx",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--port", type=int, default=0, help="port for the server (default: free)")
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds per attempt (default 10)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="bound on load plus retries; calls still unanswered then are violations (default 300)",
    )
    parser.add_argument(
        "--allow-5xx",
        action="store_true",
        help="do not count 5xx answers (retried all the same) as violations",
    )
    parser.add_argument(
        "--lenient-refusals",
        action="store_true",
        help="report unexpected 4xx refusals (e.g. an existing member 'not found') as "
        "warnings instead of violations",
    )
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="drop the database and remove the server log at the end",
    )
    parser.add_argument("--summary-json", help="also write the summary to this JSON file")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every retry")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.clients < 1 or args.kills < 0 or args.workers < 1:
        parser.error("--calls, --clients and --workers must be positive, --kills >= 0")
    if args.kill_pgbouncer and not args.cluster:
        parser.error("--kill-pgbouncer needs --cluster")
    args.allow_5xx = args.allow_5xx or args.kill_pgbouncer
    if args.members < 3:
        parser.error("--members must be at least 3")
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- database


@dataclass(frozen=True)
class Database:
    url: str

    @property
    def name(self) -> str:
        return unquote(urlsplit(self.url).path.lstrip("/"))

    def connect(self, *, maintenance: bool = False, autocommit: bool = False) -> Any:
        import psycopg

        url = self.url
        if maintenance:
            url = urlsplit(url)._replace(path="/postgres").geturl()
        url = url.replace("postgres://", "postgresql://", 1)
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)

    def recreate(self) -> None:
        from psycopg import sql

        with self.connect(maintenance=True, autocommit=True) as conn:
            name = sql.Identifier(self.name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop(self) -> None:
        from psycopg import sql

        with self.connect(maintenance=True, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def check_database_url(url: str) -> Database:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SetupError(f"--database-url must be a postgres:// URL, not {url!r}")
    database = Database(url)
    if "crash" not in database.name:
        raise SetupError(
            f"refusing to drop database {database.name!r}: this script drops and re-creates "
            "the database it is given, so its name must contain 'crash'"
        )
    return database


def child_env(database: Database, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REDIS_URL", "GUNICORN_ACCESSLOG"):
        env.pop(name, None)  # one shared, quiet setup whatever the shell has
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # refused without one
    env.update(
        STAMPS_THROTTLE_RATE="off",
        DATABASE_URL=database.url,
        STAMPS_REQUIRE_HTTPS="false",
        DJANGO_SETTINGS_MODULE="stamps_server.settings",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def manage(
    app: Path, database: Database, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=app,
        env=child_env(database),
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and result.returncode != 0:
        raise SetupError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Baseline:
    max_award: int
    max_deduction: int
    max_redemption: int
    idempotency_rows: int
    stamps: dict[int, int]
    qualifying: dict[int, int]


def baseline_read(database: Database, merchant_id: int) -> Baseline:
    with database.connect() as conn:

        def scalar(query: str) -> int:
            return conn.execute(query).fetchone()[0]

        members = conn.execute(
            "SELECT id, stamps, qualifying_stamps FROM loyalty_membership WHERE merchant_id = %s",
            [merchant_id],
        ).fetchall()
        return Baseline(
            max_award=scalar("SELECT coalesce(max(id), 0) FROM loyalty_award"),
            max_deduction=scalar("SELECT coalesce(max(id), 0) FROM loyalty_stampsdeduction"),
            max_redemption=scalar("SELECT coalesce(max(id), 0) FROM redemptions_redemption"),
            idempotency_rows=scalar("SELECT count(*) FROM idempotency_idempotentresponse"),
            stamps={pk: stamps for pk, stamps, _ in members},
            qualifying={pk: qualifying for pk, _, qualifying in members},
        )


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """The production server in its own process group, so one killpg takes the main process
    and every worker."""

    def __init__(
        self, app: Path, database: Database, port: int, workers: int, log_path: Path
    ) -> None:
        self.app = app
        self.database = database
        self.port = port
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, *, ready_within: float = 30.0) -> None:
        env = child_env(
            self.database,
            GRANIAN_HOST=HOST,
            GRANIAN_PORT=str(self.port),
            GRANIAN_WORKERS=str(self.workers),
        )
        with open(self.log_path, "ab") as log_file:
            log_file.write(f"\n===== start {self.starts + 1} at {time.ctime()}\n".encode())
            log_file.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stamps_server.serve"],
                cwd=self.app,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        self.wait_ready(ready_within)

    def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SetupError(
                    f"The server exited with {self.process.returncode}:\n{self.tail()}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/api/stamps/add")
                conn.getresponse().read()
                conn.close()
                return  # any HTTP answer (401/405) means a worker is serving
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
        raise SetupError(f"The server was not ready after {within:.0f}s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no graceful shutdown, no atexit, nothing."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        # The workers were re-parented when the master died; give them a moment to go too.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.group_alive():
            time.sleep(0.02)
        self.process = None

    def shutdown(self) -> None:
        self.kill()

    def group_alive(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # Zombies answer too; ask /proc whether anything in the group still runs.
        pgid = self.process.pid
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
                return True
        return False

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- calls


@dataclass
class Call:
    kind: str
    key: str
    body: bytes
    request: dict[str, Any]
    replay_of: Call | None = None
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    status: int | None = None  # the definitive answer's status
    response: bytes = b""
    replayed_header: str | None = None
    next_try: float = 0.0

    @property
    def path(self) -> str:
        return PATHS[self.kind]

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.response)

    def refusal(self) -> str:
        """A short reason for a 4xx: its error code, or (older shape) its first error."""
        try:
            body = self.json()
        except ValueError:
            return f"{self.status} {self.response[:60]!r}"
        if isinstance(body, dict) and body.get("error_code"):
            return f"{self.status} {body['error_code']}"
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            field_name, message = next(iter(errors[0].items()))
            return f"{self.status} {field_name}: {message}"
        return f"{self.status} {str(body)[:60]}"


@dataclass
class Stats:
    attempts: int = 0
    connection_errors: int = 0
    timeouts: int = 0
    conflicts_409: int = 0
    server_errors: int = 0
    server_error_samples: list[str] = field(default_factory=list)
    in_flight_at_kills: list[int] = field(default_factory=list)
    kills: int = 0


def proxy_gave_up(status: int, content_type: str) -> bool:
    """HAProxy's own answer for a request its server could not answer (it died mid-request,
    or none was up): the application answers every error as JSON."""
    return status in (502, 503, 504) and not content_type.startswith("application/json")


class Cluster:
    """scripts/cluster.sh's topology for the load: `start` brings it up (the first time) or
    starts the app server `kill` took down; `kill` SIGKILLs one app server's process group,
    chosen at random; `shutdown` takes everything down."""

    def __init__(
        self,
        app: Path,
        database: Database,
        port: int,
        workdir: Path,
        seed: int,
        *,
        kill_pgbouncer: bool = False,
    ) -> None:
        self.app = app
        self.kill_pgbouncer = kill_pgbouncer
        self.kills = 0
        self.pgbouncer_down = False
        self.port = port
        self.random = random.Random(seed)
        workdir.chmod(0o755)  # PgBouncer runs as another user when this runs as root
        self.env = child_env(
            database,
            LB_PORT=str(port),
            APP_PORT=str(free_port_run(3)),
            PGBOUNCER_PORT=str(free_port()),
            CLUSTER_DIR=str(workdir / "cluster"),
            PYTHON=sys.executable,
            APP_WORKERS="1",
        )
        self.log_path = workdir / "cluster"
        self.up = False
        self.down_app: int | None = None
        self.starts = 0

    def script(self, *args: str) -> None:
        result = subprocess.run(
            ["bash", "scripts/cluster.sh", *args],
            cwd=self.app,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SetupError(f"cluster.sh {' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        if not self.up:
            self.script("up")
            self.up = True
        elif self.pgbouncer_down:
            self.script("start-pgbouncer")
            self.pgbouncer_down = False
        elif self.down_app is not None:
            self.script("start-app", str(self.down_app))
            self.down_app = None
        self.starts += 1

    def kill(self) -> None:
        self.kills += 1
        if self.kill_pgbouncer and self.kills % 2 == 0:
            self.script("kill-pgbouncer")
            self.pgbouncer_down = True
            return
        self.down_app = self.random.randint(1, 3)
        self.script("stop-app", str(self.down_app), "KILL")

    def shutdown(self) -> None:
        if self.up:
            self.script("down")
            self.up = False

    def tail(self, lines: int = 40) -> str:
        return f"(logs in {self.log_path})"


def free_port_run(count: int) -> int:
    """The first of `count` consecutive ports free now."""
    for _ in range(50):
        first = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as sock:
                    sock.bind((HOST, first + offset))
            return first
        except OSError:
            continue
    raise SetupError(f"found no {count} consecutive free ports")


class Load:
    """Shared state of the client threads: what to send next, what to retry, what came back."""

    def __init__(self, args: argparse.Namespace, seed: dict[str, Any], port: int) -> None:
        self.args = args
        self.port = port
        self.token = seed["token"]
        self.stores = seed["store_ids"]
        self.rewards = [reward["id"] for reward in seed["rewards"]]
        members = seed["members"]
        self.hot = members[: max(1, min(args.hot_members, len(members)))]
        self.members = members
        self.random = random.Random(args.seed)
        self.lock = threading.Condition()
        self.calls: list[Call] = []  # logical calls, in the order they were made
        self.replays: list[Call] = []
        self.pending: collections.deque[Call] = collections.deque()
        self.cancelable: list[tuple[str, int]] = []  # (user, award id) from 2xx adds
        self.in_flight = 0
        self.issued = 0
        # New calls stop here until the killer has made its next kill: while the server is
        # down, failing calls would otherwise be issued (and queued for retry) until none
        # were left, and a fast server would then finish before the next kill.
        self.kill_gate = 0 if args.kills else args.calls
        self.stats = Stats()
        self.deadline = time.monotonic() + args.max_seconds
        self.stop = threading.Event()

    # -- making calls

    def user_for(self, member: dict[str, Any]) -> str:
        form = self.random.choice(("email", "member_id", "id"))
        value = member.get(form) or member["email"]
        return str(value)

    def member(self) -> dict[str, Any]:
        pool = self.hot if self.random.random() < 0.7 else self.members
        return self.random.choice(pool)

    def new_call(self) -> Call:
        """Called with the lock held."""
        key = str(uuid.uuid4())
        roll = self.random.random()
        kind = ADD if roll < 0.40 else DEDUCT if roll < 0.65 else REDEEM if roll < 0.80 else CANCEL
        if kind == CANCEL and not self.cancelable:
            kind = ADD
        if kind == ADD:
            request = {
                "user": self.user_for(self.member()),
                "store": self.random.choice(self.stores),
                "number_of_stamps": self.random.randint(1, 20),
                "notes": f"crash test {key[:8]}",
                "require_email_notification": self.random.random() < 0.3,
            }
        elif kind == DEDUCT:
            request = {
                "user": self.user_for(self.member()),
                "stamps": self.random.randint(1, 8),
                "notes": f"crash test {key[:8]}",
            }
        elif kind == REDEEM:
            request = {
                "customer": self.user_for(self.member()),
                "store": self.random.choice(self.stores),
                "reward": self.random.choice(self.rewards),
            }
        else:
            user, award_id = self.cancelable.pop(self.random.randrange(len(self.cancelable)))
            request = {"user": user, "id": award_id}
        body = json.dumps(request).encode()
        call = Call(kind=kind, key=key, body=body, request=request)
        self.calls.append(call)
        self.issued += 1
        return call

    def next_job(self) -> Call | None:
        """A due retry first, else a new call; None when everything is answered."""
        with self.lock:
            while not self.stop.is_set():
                now = time.monotonic()
                if now > self.deadline:
                    return None
                due = next((c for c in self.pending if c.next_try <= now), None)
                if due is not None:
                    self.pending.remove(due)
                    self.in_flight += 1
                    return due
                if self.issued < min(self.args.calls, self.kill_gate):
                    self.in_flight += 1
                    return self.new_call()
                if self.issued >= self.args.calls and not self.pending and self.in_flight == 0:
                    return None
                wait = min((c.next_try for c in self.pending), default=now + 0.2) - now
                self.lock.wait(timeout=max(0.01, min(wait, 0.2)))
        return None

    # -- sending

    def send(self, call: Call) -> bool:
        """One attempt; True when it got a definitive answer."""
        call.attempts += 1
        timeout = self.args.request_timeout
        if self.random.random() < self.args.impatient_rate:
            timeout = self.random.uniform(0.005, 0.05)
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(
                "POST",
                call.path,
                body=call.body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Token {self.token}",
                    "Idempotency-Key": call.key,
                },
            )
            response = conn.getresponse()
            data = response.read()
            status = response.status
            replayed = response.getheader("Idempotent-Replayed")
            content_type = response.getheader("Content-Type") or ""
        except TimeoutError as error:
            with self.lock:
                self.stats.attempts += 1
                self.stats.timeouts += 1
            self.retry_later(call, f"timeout ({error})")
            return False
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.stats.attempts += 1
                self.stats.connection_errors += 1
            self.retry_later(call, f"{type(error).__name__}: {error}")
            return False
        finally:
            conn.close()
        if self.args.cluster and proxy_gave_up(status, content_type):
            with self.lock:
                self.stats.attempts += 1
                self.stats.connection_errors += 1
            self.retry_later(call, f"HTTP {status} from the load balancer")
            return False
        with self.lock:
            self.stats.attempts += 1
            if status == 409:
                self.stats.conflicts_409 += 1
            elif status >= 500:
                self.stats.server_errors += 1
                if len(self.stats.server_error_samples) < 5:
                    sample = data[:300].decode(errors="replace")
                    self.stats.server_error_samples.append(f"{call.path} -> {status}: {sample}")
        if status == 409 or status >= 500:
            self.retry_later(call, f"HTTP {status}")
            return False
        call.status, call.response, call.replayed_header = status, data, replayed
        self.resolved(call)
        return True

    def retry_later(self, call: Call, why: str) -> None:
        call.failures.append(why)
        if self.args.verbose:
            log(f"retry {call.kind} {call.key[:8]} (attempt {call.attempts}): {why}")
        # Any client may take it up again, a little later (the till that failed backs off);
        # a till that timed out retries at once, quite likely while the first still runs.
        soon = (0.0, 0.02) if why.startswith("timeout") else (0.05, 0.3)
        with self.lock:
            call.next_try = time.monotonic() + self.random.uniform(*soon)
            self.pending.append(call)
            self.in_flight -= 1
            self.lock.notify_all()

    def resolved(self, call: Call) -> None:
        with self.lock:
            self.in_flight -= 1
            if call.replay_of is None and call.ok:
                if call.kind == ADD:
                    award_id = call.json()["award"]["id"]
                    self.cancelable.append((call.request["user"], award_id))
                if self.random.random() < self.args.replay_rate:
                    replay = Call(
                        kind=call.kind,
                        key=call.key,
                        body=call.body,
                        request=call.request,
                        replay_of=call,
                    )
                    self.replays.append(replay)
                    self.pending.append(replay)
            self.lock.notify_all()

    def client(self) -> None:
        """One till: sends calls one at a time; after a failure it backs off (exponentially,
        with jitter, at most a second) rather than piling new calls onto a dead server."""
        failures = 0
        while True:
            call = self.next_job()
            if call is None:
                return
            if self.send(call) or call.failures[-1].startswith("timeout"):
                failures = 0
            else:
                failures += 1
                time.sleep(min(1.0, 0.02 * 2**failures) * self.random.uniform(0.5, 1.5))

    # -- killing

    def killer(self, server: Server | Cluster, errors: list[BaseException]) -> None:
        try:
            low, high = max(1, self.args.calls // 10), max(2, self.args.calls * 9 // 10)
            count = self.args.kills
            thresholds = sorted(self.random.randint(low, high) for _ in range(count))
            slack = max(5, self.args.calls // 10)  # calls still flowing when the kill comes
            for number, threshold in enumerate(thresholds, start=1):
                self.gate_at(min(self.args.calls, max(threshold, self.issued) + slack))
                while self.issued < threshold and not self.stop.is_set():
                    if time.monotonic() > self.deadline:
                        return
                    time.sleep(0.005)
                if self.stop.is_set():
                    return
                time.sleep(self.random.uniform(0, 0.05))
                with self.lock:
                    in_flight = self.in_flight
                server.kill()
                self.gate_at(min(self.args.calls, self.issued + slack))  # and while it is down
                self.stats.kills += 1
                self.stats.in_flight_at_kills.append(in_flight)
                log(f"kill {number}/{count}: SIGKILL to the server, {in_flight} call(s) in flight")
                time.sleep(self.random.uniform(0.2, 1.0))
                if self.stop.is_set():
                    return
                server.start()
                log(f"kill {number}/{count}: the server restarted")
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            errors.append(error)
            self.stop.set()
        finally:
            self.gate_at(self.args.calls)

    def gate_at(self, issued: int) -> None:
        with self.lock:
            self.kill_gate = issued
            self.lock.notify_all()


# --------------------------------------------------------------------------- verification


class Verifier:
    def __init__(self, load: Load, database: Database, merchant_id: int, base: Baseline) -> None:
        self.load = load
        self.database = database
        self.merchant_id = merchant_id
        self.base = base
        self.violations: list[str] = []
        self.warnings: list[str] = []

    def fail(self, message: str) -> None:
        self.violations.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def expect_same(self, what: str, client: set[Any], server: set[Any]) -> None:
        if client != server:
            missing = sorted(client - server)[:10]
            extra = sorted(server - client)[:10]
            self.fail(
                f"{what}: {len(client)} per the 2xx answers, {len(server)} in the database; "
                f"answered but missing {missing}, in the database but never answered {extra}"
            )

    def run(self, ledger_check: subprocess.CompletedProcess) -> list[str]:
        if ledger_check.returncode != 0:
            self.fail(f"manage.py check_ledger failed:\n{ledger_check.stdout}{ledger_check.stderr}")
        calls = self.load.calls
        unanswered = [c for c in calls + self.load.replays if c.status is None]
        if unanswered:
            sample = ", ".join(f"{c.kind} {c.key} ({c.failures[-1:]})" for c in unanswered[:5])
            self.fail(f"{len(unanswered)} call(s) never got a definitive answer: {sample}")
        unexpected = [
            call
            for call in calls
            if call.status is not None
            and not call.ok
            and not call.refusal().startswith(EXPECTED_REFUSALS[call.kind] or ("\0",))
        ]
        report = self.warn if self.load.args.lenient_refusals else self.fail
        for call in unexpected[:10]:
            report(
                f"unexpected refusal of {call.kind} {call.key} (attempt {call.attempts}): "
                f"{call.status} {call.response[:300]!r} to {json.dumps(call.request)}"
            )
        if len(unexpected) > 10:
            report(f"... and {len(unexpected) - 10} more unexpected refusals")
        if not self.load.args.allow_5xx and self.load.stats.server_errors:
            self.fail(
                f"{self.load.stats.server_errors} 5xx answer(s) (retried, but a crash-free "
                f"server should not give them): {self.load.stats.server_error_samples}"
            )
        for call in calls:
            if call.attempts == 1 and call.replayed_header is not None:
                self.fail(f"first attempt of {call.key} was answered as a replay")
        self.check_replays()
        with self.database.connect() as conn:
            self.check_awards(conn)
            self.check_deductions(conn)
            self.check_redemptions(conn)
            self.check_cancels(conn)
            self.check_idempotency(conn)
            self.check_balances(conn)
        return self.violations

    def ok(self, kind: str) -> list[Call]:
        return [c for c in self.load.calls if c.kind == kind and c.ok]

    def check_replays(self) -> None:
        for replay in self.load.replays:
            original = replay.replay_of
            assert original is not None
            if replay.status is None:
                continue  # already reported as unanswered
            if replay.status != original.status or replay.response != original.response:
                self.fail(
                    f"replay of {original.kind} {original.key} answered {replay.status} "
                    f"{replay.response[:200]!r}, not the original {original.status} "
                    f"{original.response[:200]!r}"
                )
            elif replay.replayed_header != "true":
                self.fail(f"replay of {original.key} lacks Idempotent-Replayed: true")

    def check_awards(self, conn: Any) -> None:
        answered: dict[int, Call] = {}
        for call in self.ok(ADD):
            award_id = call.json()["award"]["id"]
            if award_id in answered:
                self.fail(
                    f"award {award_id} answered to two keys: {answered[award_id].key}, {call.key}"
                )
            answered[award_id] = call
        rows = conn.execute(
            "SELECT a.id, a.membership_id, a.number_of_stamps, a.notes, "
            "  (SELECT count(*) FROM loyalty_ledgerentry e WHERE e.award_id = a.id AND e.kind = 1)"
            " FROM loyalty_award a WHERE a.id > %s",
            [self.base.max_award],
        ).fetchall()
        self.expect_same("awards", set(answered), {row[0] for row in rows})
        for award_id, membership_id, stamps, notes, award_entries in rows:
            answer = answered.get(award_id)
            if answer is None:
                continue
            body = answer.json()
            if (
                stamps != answer.request["number_of_stamps"]
                or notes != answer.request["notes"]
                or membership_id != body["customer"]["id"]
            ):
                self.fail(f"award {award_id} does not match the request of key {answer.key}")
            if award_entries != 1:
                self.fail(f"award {award_id} has {award_entries} award ledger entries, not 1")

    def check_deductions(self, conn: Any) -> None:
        answered: dict[int, Call] = {}
        for call in self.ok(DEDUCT):
            deduction_id = call.json()["stamps_deduction"]["id"]
            if deduction_id in answered:
                self.fail(f"deduction {deduction_id} answered to two keys")
            answered[deduction_id] = call
        rows = conn.execute(
            "SELECT id, membership_id, stamps, notes FROM loyalty_stampsdeduction"
            " WHERE id > %s AND purpose = 1",
            [self.base.max_deduction],
        ).fetchall()
        self.expect_same("deductions", set(answered), {row[0] for row in rows})
        for deduction_id, membership_id, stamps, notes in rows:
            answer = answered.get(deduction_id)
            if answer is None:
                continue
            if (
                stamps != answer.request["stamps"]
                or notes != answer.request["notes"]
                or membership_id != answer.json()["membership"]["id"]
            ):
                self.fail(
                    f"deduction {deduction_id} does not match the request of key {answer.key}"
                )

    def check_redemptions(self, conn: Any) -> None:
        answered: dict[int, Call] = {}
        for call in self.ok(REDEEM):
            redemption_id = call.json()["redemption"]["id"]
            if redemption_id in answered:
                self.fail(f"redemption {redemption_id} answered to two keys")
            answered[redemption_id] = call
        rows = conn.execute(
            "SELECT r.id, r.membership_id, r.reward_id, r.stamps_used, d.stamps, d.purpose"
            " FROM redemptions_redemption r JOIN loyalty_stampsdeduction d"
            "   ON d.id = r.deduction_id WHERE r.id > %s",
            [self.base.max_redemption],
        ).fetchall()
        self.expect_same("redemptions", set(answered), {row[0] for row in rows})
        spends = conn.execute(
            "SELECT count(*) FROM loyalty_stampsdeduction WHERE id > %s AND purpose = 2",
            [self.base.max_deduction],
        ).fetchone()[0]
        if spends != len(rows):
            self.fail(f"{spends} redemption deductions for {len(rows)} redemptions")
        for redemption_id, membership_id, reward_id, used, drawn, purpose in rows:
            answer = answered.get(redemption_id)
            if answer is None:
                continue
            if (
                reward_id != answer.request["reward"]
                or membership_id != answer.json()["customer"]["id"]
                or used != drawn
                or purpose != 2
            ):
                self.fail(
                    f"redemption {redemption_id} does not match the request of key {answer.key}"
                )

    def check_cancels(self, conn: Any) -> None:
        answered: dict[int, Call] = {}
        for call in self.ok(CANCEL):
            award = call.json()["award"]
            if award["id"] in answered:
                self.fail(f"award {award['id']} canceled by two keys")
            if award.get("status") != "Canceled" or award["id"] != call.request["id"]:
                self.fail(f"cancel {call.key} answered {award}")
            answered[award["id"]] = call
        rows = conn.execute(
            "SELECT a.id,"
            "  (SELECT count(*) FROM loyalty_ledgerentry e WHERE e.award_id = a.id AND e.kind = 2)"
            " FROM loyalty_award a"
            " JOIN loyalty_membership m ON m.id = a.membership_id"
            " WHERE m.merchant_id = %s AND a.status = 2",
            [self.merchant_id],
        ).fetchall()
        self.expect_same("canceled awards", set(answered), {row[0] for row in rows})
        for award_id, cancel_entries in rows:
            if cancel_entries != 1:
                self.fail(f"award {award_id} has {cancel_entries} cancel ledger entries, not 1")

    def check_idempotency(self, conn: Any) -> None:
        rows = conn.execute(
            "SELECT key, status_code, body FROM idempotency_idempotentresponse"
            " WHERE merchant_id = %s",
            [self.merchant_id],
        ).fetchall()
        stored: dict[str, tuple[int, bytes]] = {}
        for key, status_code, body in rows:
            if key in stored:
                self.fail(f"idempotency key {key} stored twice")
            stored[key] = (status_code, bytes(body))
        # Every definitive answer is stored, a refusal of the ledger's included; 409, 422 and
        # 429 are about the key or the caller, not the request, and store nothing.
        answered = {
            c.key: c
            for c in self.load.calls
            if c.status is not None and c.status not in (409, 422, 429)
        }
        self.expect_same("idempotency rows", set(answered), set(stored))
        for key, call in answered.items():
            if key in stored and stored[key] != (call.status, call.response):
                self.fail(
                    f"idempotency row of {key} holds {stored[key][0]} {stored[key][1][:200]!r}, "
                    f"the client got {call.status} {call.response[:200]!r}"
                )

    def check_balances(self, conn: Any) -> None:
        stamps = dict(self.base.stamps)
        qualifying = dict(self.base.qualifying)
        for call in self.ok(ADD):
            body = call.json()
            member, given = body["customer"]["id"], body["award"]["number_of_stamps"]
            stamps[member] += given
            qualifying[member] += given
        for call in self.ok(CANCEL):
            body = call.json()
            member, taken = body["customer"]["id"], body["award"]["number_of_stamps"]
            stamps[member] -= taken
            qualifying[member] -= taken
        for call in self.ok(DEDUCT):
            body = call.json()
            stamps[body["membership"]["id"]] -= body["stamps_deduction"]["stamps"]
        for call in self.ok(REDEEM):
            body = call.json()
            stamps[body["customer"]["id"]] -= body["redemption"]["stamps_used"]
        rows = conn.execute(
            "SELECT id, stamps, qualifying_stamps FROM loyalty_membership WHERE merchant_id = %s",
            [self.merchant_id],
        ).fetchall()
        wrong = [
            f"member {pk}: {held} stamps / {qual} qualifying, the answers say "
            f"{stamps.get(pk)} / {qualifying.get(pk)}"
            for pk, held, qual in rows
            if held != stamps.get(pk) or qual != qualifying.get(pk)
        ]
        if wrong:
            self.fail(f"{len(wrong)} balance(s) differ from the 2xx answers: {wrong[:5]}")


# --------------------------------------------------------------------------- main


def summarize(load: Load, violations: list[str], seconds: float) -> dict[str, Any]:
    per_kind: dict[str, dict[str, Any]] = {}
    for call in load.calls:
        row = per_kind.setdefault(
            call.kind, {"calls": 0, "2xx": 0, "4xx": 0, "unanswered": 0, "refusals": {}}
        )
        row["calls"] += 1
        if call.status is None:
            row["unanswered"] += 1
        elif call.ok:
            row["2xx"] += 1
        else:
            row["4xx"] += 1
            reason = call.refusal()
            row["refusals"][reason] = row["refusals"].get(reason, 0) + 1
            samples = row.setdefault("refusal_samples", {})
            samples.setdefault(reason, {"request": call.request, "attempts": call.attempts})
    stats = load.stats
    logical_attempts = sum(c.attempts for c in load.calls)
    return {
        "passed": not violations,
        "seconds": round(seconds, 1),
        "seed": load.args.seed,
        "calls": len(load.calls),
        "2xx": sum(r["2xx"] for r in per_kind.values()),
        "4xx": sum(r["4xx"] for r in per_kind.values()),
        "unanswered": sum(r["unanswered"] for r in per_kind.values()),
        "retries": logical_attempts - sum(1 for c in load.calls if c.attempts),
        "calls_retried": sum(1 for c in load.calls if c.attempts > 1),
        # Retried calls whose answer came from the stored response: the first attempt had
        # committed, but the server died before the client got the answer.
        "recovered_from_store": sum(
            1 for c in load.calls if c.attempts > 1 and c.replayed_header == "true"
        ),
        "replays": len(load.replays),
        "attempts": stats.attempts,
        "connection_errors": stats.connection_errors,
        "timeouts": stats.timeouts,
        "http_409": stats.conflicts_409,
        "http_5xx": stats.server_errors,
        "kills": stats.kills,
        "in_flight_at_kills": stats.in_flight_at_kills,
        "per_endpoint": per_kind,
        "violations": violations,
    }


def print_summary(summary: dict[str, Any]) -> None:
    print()
    print("==== crash test summary")
    print(
        f"calls {summary['calls']} ({summary['2xx']} 2xx, {summary['4xx']} 4xx, "
        f"{summary['unanswered']} unanswered) in {summary['seconds']}s, seed {summary['seed']}"
    )
    print(
        f"kills {summary['kills']} (calls in flight at each: {summary['in_flight_at_kills']}); "
        f"retries {summary['retries']} over {summary['calls_retried']} calls, "
        f"{summary['recovered_from_store']} of them answered from the stored response "
        f"(an earlier attempt had committed); deliberate replays {summary['replays']}"
    )
    print(
        f"attempts {summary['attempts']}: connection errors {summary['connection_errors']}, "
        f"timeouts {summary['timeouts']}, 409 {summary['http_409']}, 5xx {summary['http_5xx']}"
    )
    for kind, row in sorted(summary["per_endpoint"].items()):
        print(
            f"  {PATHS[kind]:<32} {row['calls']:>5} calls  {row['2xx']:>5} 2xx  "
            f"{row['4xx']:>5} 4xx  {row['unanswered']:>3} unanswered"
        )
        for reason, count in sorted(row["refusals"].items()):
            print(f"      {count:>5} x {reason}")
    for warning in summary.get("warnings", []):
        print(f"WARNING: {warning}")
    if summary["violations"]:
        print(f"FAILED: {len(summary['violations'])} violation(s):")
        for violation in summary["violations"]:
            print(f"  - {violation}")
    else:
        print("PASSED: ledger check passes; every 2xx is in the ledger exactly once; nothing twice")


def snapshot(workdir: Path) -> Path:
    """A copy of the code to run from, so that every restart serves the same version even
    while someone edits the working tree."""
    app = workdir / "app"
    shutil.copytree(
        ROOT,
        app,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "venv", "__pycache__", "*.pyc", ".*_cache", "bench", "var"
        ),
    )
    return app


def run(args: argparse.Namespace) -> int:
    database = check_database_url(args.database_url)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    workdir = Path(tempfile.mkdtemp(prefix="crash_test_"))
    passed = False
    try:
        passed = crash_test(args, database, workdir)
        return 0 if passed else 1
    finally:
        if args.cleanup:
            with contextlib.suppress(Exception):
                database.drop()
            shutil.rmtree(workdir, ignore_errors=True)
        elif passed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"database {database.name} kept; the server log and the code run: {workdir}")


def crash_test(args: argparse.Namespace, database: Database, workdir: Path) -> bool:
    started = time.monotonic()
    app = snapshot(workdir)
    log(f"database {database.name}: drop and create, migrate, seed (seed {args.seed})")
    database.recreate()
    manage(app, database, "migrate", "--no-input", "--verbosity", "0")
    seeded = manage(
        app, database, "seed_demo", "--name", "Crash Test", "--members", str(args.members), "--json"
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    base = baseline_read(database, seed["merchant_id"])

    port = args.port or free_port()
    server: Server | Cluster
    if args.cluster:
        server = Cluster(
            app, database, port, workdir, args.seed, kill_pgbouncer=args.kill_pgbouncer
        )
    else:
        server = Server(app, database, port, args.workers, workdir / "server.log")
    load = Load(args, seed, port)
    handlers = {
        signum: signal.signal(signum, lambda *_: sys.exit(143))
        for signum in (signal.SIGTERM, signal.SIGHUP)
    }
    killer: threading.Thread | None = None
    try:
        if args.cluster:
            log(f"HAProxy on {HOST}:{port}, 3 app servers, PgBouncer (logs {server.log_path})")
        else:
            log(f"Server on {HOST}:{port} with {args.workers} workers (log {server.log_path})")
        server.start()
        log(
            f"load: {args.calls} calls from {args.clients} clients, {args.kills} kills, "
            f"at most {args.max_seconds:.0f}s"
        )
        killer_errors: list[BaseException] = []
        killer = threading.Thread(target=load.killer, args=(server, killer_errors), daemon=True)
        clients = [
            threading.Thread(target=load.client, name=f"client-{n}", daemon=True)
            for n in range(args.clients)
        ]
        for thread in [killer, *clients]:
            thread.start()
        for thread in clients:
            thread.join()
        load.stop.set()
        with load.lock:
            load.lock.notify_all()
        killer.join(timeout=60)
        if killer_errors:
            raise SetupError(f"restarting the server failed: {killer_errors[0]}")
        if killer.is_alive():
            raise SetupError("the killer thread did not finish")
        log("load done; stopping the server and checking the ledger")
    finally:
        load.stop.set()  # on an error or a signal too: the killer must not start a new server
        if killer is not None and killer.is_alive():
            killer.join(timeout=40)
        server.shutdown()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    ledger_check = manage(app, database, "check_ledger", check=False)
    verifier = Verifier(load, database, seed["merchant_id"], base)
    violations = verifier.run(ledger_check)
    summary = summarize(load, violations, time.monotonic() - started)
    summary["warnings"] = verifier.warnings
    print_summary(summary)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2))
    return not violations


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except SetupError as error:
        print(f"crash test could not run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
