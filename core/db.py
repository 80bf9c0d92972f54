"""Calls of the database's functions: one statement, one row, through Django's cursor like
every other query (with server-side binding, so psycopg prepares what a connection runs
often; settings.DATABASES)."""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import IntegrityError, connection


def function_row(function: str, arguments: Sequence[Any], columns: str) -> tuple[Any, ...]:
    """The row `SELECT <columns> FROM <function>(<arguments>)` returns."""
    with connection.cursor() as cursor:
        cursor.execute(function_query(function, len(arguments), columns), arguments)
        row = cursor.fetchone()
    assert row is not None  # a function call returns its row
    return row


def function_value(function: str, arguments: Sequence[Any]) -> Any:
    """What a function returning one value returns."""
    (value,) = function_row(function, arguments, "*")
    return value


@cache  # the same few texts on every call: built once each
def function_query(function: str, arity: int, columns: str) -> str:
    placeholders = ", ".join(["%s"] * arity)
    return f"SELECT {columns} FROM {function}({placeholders})"


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says the statement broke."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)
