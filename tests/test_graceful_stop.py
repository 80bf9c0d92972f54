"""SIGTERM stops the production server gracefully: a request in flight is answered, and no
new connection is taken. The request is held in flight by a row lock another connection
keeps on its member, released only after the signal."""

import http.client
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from loyalty.models import Award
from tests.conftest import Tenant, make_tenant
from tests.live_server import HOST, live_server
from tests.wire import side_connection


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    with live_server(tmp_path) as started:
        yield started


def award(tenant: Tenant, port: int, answered: list[tuple[int, bytes]]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 3}
    conn.request(
        "POST",
        "/api/stamps/add",
        orjson.dumps(body),
        {"Content-Type": "application/json", "Authorization": f"Token {tenant.key}"},
    )
    response = conn.getresponse()
    answered.append((response.status, response.read()))
    conn.close()


LISTEN = "0A"  # the TCP state's code in /proc/net/tcp


def listening(port: int) -> bool:
    """Whether a socket listens on `port`, read from the kernel's table rather than by
    connecting: granian 2.8 can hang a worker's graceful stop (until its kill timeout,
    dropping the answers in flight) when a connection arrives just as it stops; 2 of 12 runs
    that polled the port over HTTP every 50 ms did so, none of 10 that did not. A load
    balancer therefore takes a server out of rotation before it is sent SIGTERM
    (docs/scaling.md)."""
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def waiting_on_a_lock(side: object) -> bool:
    row = side.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row[0])


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_request_in_flight_and_takes_no_new_one(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    tenant = make_tenant()
    answered: list[tuple[int, bytes]] = []
    with side_connection() as holder, side_connection() as watcher:
        with holder.transaction():
            holder.execute(
                "SELECT 1 FROM loyalty_membership WHERE id = %s FOR UPDATE", [tenant.member.pk]
            )
            in_flight = threading.Thread(target=award, args=(tenant, port, answered))
            in_flight.start()
            deadline = time.monotonic() + 20
            while not waiting_on_a_lock(watcher):
                assert time.monotonic() < deadline, "the award never reached the database"
                time.sleep(0.02)

            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            while listening(port):  # watched without connecting: see `listening`
                assert time.monotonic() < deadline, "the server still listens"
                time.sleep(0.05)
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((HOST, port), timeout=2).close()
            assert answered == []  # still held by the lock
        in_flight.join(timeout=30)

    assert process.wait(timeout=30) == 0
    assert len(answered) == 1
    status, body = answered[0]
    assert status == 200, body
    assert orjson.loads(body)["award"]["number_of_stamps"] == 3
    assert Award.objects.filter(membership=tenant.member).count() == 1
