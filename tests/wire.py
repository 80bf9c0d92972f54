"""The test database seen from the wire: round trips counted on Django's connection, and a
connection of its own beside Django's."""

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import pq

READY_FOR_QUERY = re.compile(r"^B\t\d+\tReadyForQuery\b", re.MULTILINE)


def side_connection() -> psycopg.Connection:
    """An autocommit connection to the test database that Django does not manage."""
    return psycopg.connect(database_url(connection.settings_dict["NAME"]), autocommit=True)


def database_url(name: str) -> str:
    """A postgres:// URL of database `name` on the suite's server, with its credentials: a
    host name and port, or the embedded server's socket folder."""
    database = settings.DATABASES["default"]
    user = quote(database["USER"] or "", safe="")
    password = quote(str(database["PASSWORD"] or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = database["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{credentials}{quote(host, safe='')}/{name}"
    host = f"[{host}]" if ":" in host else host
    return f"postgres://{credentials}{host}:{database['PORT'] or 5432}/{name}"


@contextmanager
def round_trips_counted() -> Iterator[list[int]]:
    """Yields a list that holds, once the block is left, the block's round trips on the
    default connection (opened first if it was not): libpq's protocol trace ends each one
    with the server's ReadyForQuery, whether the statements went one by one, in a pipeline
    or through Django's cursor."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    counted: list[int] = []
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield counted
        finally:
            pgconn.untrace()
            trace.seek(0)
            counted.append(len(READY_FOR_QUERY.findall(trace.read())))
