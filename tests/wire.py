"""Round trips to PostgreSQL counted on the wire: libpq's protocol trace of the connection
ends each one with the server's ReadyForQuery, whether the statements were sent one by one,
in a pipeline or through Django's cursor."""

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from psycopg import pq

READY_FOR_QUERY = re.compile(r"^B\t\d+\tReadyForQuery\b", re.MULTILINE)


@contextmanager
def round_trips_counted() -> Iterator[list[int]]:
    """Yields a list that holds, once the block is left, the block's round trips on the
    default connection (opened first if it was not)."""
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
