"""Statements the ORM does not write as we need them: calls of the database's functions (one
call, or many in one statement) and new rows saved in one INSERT, all through Django's cursor
like every other query (with server-side binding, so psycopg prepares what a connection runs
often; settings.DATABASES)."""

import json
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


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
    would (the ledger's functions are VOLATILE). Each argument travels as one array, so the
    statement's text and its parameters do not grow with the rows: an argument's values must
    all be of one Python type (or None), and not lists."""
    if not argument_rows:
        return []
    cursor = statement_cursor()
    cursor.execute(
        function_rows_query(function, columns), [list(c) for c in zip(*argument_rows, strict=True)]
    )
    return cursor.fetchall()


@cache  # a caller's function and columns are constants: built once each
def function_rows_query(function: str, columns: str) -> str:
    types = argument_types(function)
    names = ", ".join(f"a{n}" for n in range(len(types)))
    arrays = ", ".join(f"%s::{name}[]" for name in types)
    return (
        f"SELECT {columns} FROM unnest({arrays}) WITH ORDINALITY AS calls({names}, n)"
        f" CROSS JOIN LATERAL {function}({names}) ORDER BY n"
    )


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


def objects_insert(objects: Sequence[M]) -> list[M]:
    """New objects of one model saved by one INSERT, and returned as loaded, with their ids.
    The rows travel as one JSON document, so the statement's text is the same for one object
    or a thousand: bulk_create, which cannot take its UNNEST path for a model with an
    ArrayField, writes a placeholder per value (0.3 ms a member). For fields whose values
    JSON, or str(), gives as PostgreSQL reads them: text, numbers, dates, times and arrays of
    them (not JSON, binary or duration fields, nor database defaults)."""
    if not objects:
        return []
    database = connections[DEFAULT_DB_ALIAS]
    model, meta = type(objects[0]), type(objects[0])._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    rows = [[field.pre_save(obj, True) for field in fields] for obj in objects]
    document = json.dumps(
        [
            {f.column: f.get_db_prep_save(v, database) for f, v in zip(fields, row, strict=True)}
            for row in rows
        ],
        default=str,  # dates, times and decimals as PostgreSQL reads them, to the microsecond
    )
    with database.cursor() as cursor:
        cursor.execute(insert_statement(meta.db_table, meta.pk.column, fields), [document])
        ids = [pk for (pk,) in cursor.fetchall()]
    names = [field.attname for field in meta.concrete_fields]
    at = names.index(meta.pk.attname)  # from_db takes all the values in the fields' order
    return [
        model.from_db(database.alias, names, [*row[:at], pk, *row[at:]])
        for pk, row in zip(ids, rows, strict=True)
    ]


def insert_statement(table: str, key: str | None, fields: Sequence[Field]) -> str:
    """INSERT of the rows of a JSON array of objects, in their order, returning their ids."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    names = ", ".join(quote(str(field.column)) for field in fields)
    return (
        f"INSERT INTO {quote(table)} ({names}) SELECT {names}"
        f" FROM json_populate_recordset(NULL::{quote(table)}, %s) WITH ORDINALITY"
        f" ORDER BY ordinality RETURNING {quote(str(key))}"
    )


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says the statement broke."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)
