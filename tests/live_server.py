"""The production server (`python -m stamps_server.serve`, granian) on the test database, in
its own process group, for tests that need real processes and sockets."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tests.wire import database_url

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def live_server(
    tmp_path: Path, *, workers: int = 1, **extra_env: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The server on a free port, ready (its /healthz answers); SIGKILLed at the end if it
    still runs. The test's data must be committed (django_db(transaction=True))."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        "STAMPS_REQUIRE_HTTPS": "false",
        "GRANIAN_HOST": HOST,
        "GRANIAN_PORT": str(port),
        "GRANIAN_WORKERS": str(workers),
        **extra_env,
    }
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stamps_server.serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not answers(port):
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
