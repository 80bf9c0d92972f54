"""Calls of the database's functions: one statement, one row, through Django's cursor like
every other query (with server-side binding, so psycopg prepares what a connection runs
often; settings.DATABASES)."""

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def function_row(function: str, arguments: Sequence[Any], columns: str) -> tuple[Any, ...]:
    """The row `SELECT <columns> FROM <function>(<arguments>)` returns."""
    cursor = statement_cursor()
    cursor.execute(function_query(function, len(arguments), columns), arguments)
    row = cursor.fetchone()
    assert row is not None  # a function call returns its row
    return row


def function_rows(
    function: str, argument_rows: Sequence[Sequence[Any]], columns: str
) -> list[tuple[Any, ...]]:
    """The row `function` returns for each of `argument_rows`, in order, from one statement:
    many calls for one round trip. Each call sees the ones before it, as separate statements
    would (the ledger's functions are VOLATILE)."""
    if not argument_rows:
        return []
    types = argument_types(function)
    names = ", ".join(f"a{n}" for n in range(len(types)))
    one = "(" + ", ".join(f"%s::{name}" for name in types) + ", %s)"
    query = (
        f"SELECT {columns} FROM (VALUES {', '.join([one] * len(argument_rows))})"
        f" AS calls({names}, n) CROSS JOIN LATERAL {function}({names}) ORDER BY n"
    )
    cursor = statement_cursor()
    cursor.execute(query, [v for n, row in enumerate(argument_rows) for v in (*row, n)])
    return cursor.fetchall()


@cache  # a function's signature changes only with a migration, which restarts the servers
def argument_types(function: str) -> tuple[str, ...]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT unnest(proargtypes::regtype[])::text FROM pg_proc WHERE oid = %s::regproc",
            [function],
        )
        return tuple(name for (name,) in cursor.fetchall())


def execute(statement: str, arguments: Sequence[Any]) -> None:
    """A statement that returns nothing, on the same cursor."""
    statement_cursor().execute(statement, arguments)


def function_value(function: str, arguments: Sequence[Any]) -> Any:
    """What a function returning one value returns."""
    (value,) = function_row(function, arguments, "*")
    return value


@cache  # the same few texts on every call: built once each
def function_query(function: str, arity: int, columns: str) -> str:
    placeholders = ", ".join(["%s"] * arity)
    return f"SELECT {columns} FROM {function}({placeholders})"


_held = threading.local()


def statement_cursor() -> CursorWrapper:
    """Django's cursor for these calls, kept for the thread while its connection lives. A
    new psycopg cursor starts with its own empty cache of argument dumpers, and looking them
    up again for every call was a quarter of an award's Python. Django makes a new one, as it
    makes every cursor, when the connection is new or closed, or when queries start or stop
    being logged; its per-request health check (CONN_HEALTH_CHECKS) runs first, as it would."""
    database = connections[DEFAULT_DB_ALIAS]
    database.close_if_health_check_failed()
    held: CursorWrapper | None = getattr(_held, "cursor", None)
    if (
        held is None
        or held.db is not database
        or database.connection is None
        or held.cursor.connection is not database.connection
        or held.cursor.closed
        or isinstance(held, CursorDebugWrapper) != database.queries_logged
    ):
        held = _held.cursor = database.cursor()
    return held


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says the statement broke."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)
