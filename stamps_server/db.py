"""Statements on the hot path, straight through psycopg.

Django's cursor wrapper costs about a tenth of an award's Python; these skip it on PostgreSQL
unless something watches the queries (DEBUG's query log, a test counting them, an execute
wrapper), and then take Django's cursor like any query. Either way errors arrive as Django's
database errors, and the statement runs in whatever transaction Django has open."""

from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections


def one_row(query: str, arguments: list[Any]) -> tuple | None:
    """The first row the query returns."""
    return _run(query, arguments, fetch=True)


def execute(query: str, arguments: list[Any]) -> None:
    _run(query, arguments, fetch=False)


def _run(query: str, arguments: list[Any], *, fetch: bool) -> Any:
    wrapper = connections[DEFAULT_DB_ALIAS]  # each attribute of django.db.connection is a look-up
    if wrapper.vendor != "postgresql" or wrapper.queries_logged or wrapper.execute_wrappers:
        with wrapper.cursor() as cursor:
            cursor.execute(query, arguments)
            return cursor.fetchone() if fetch else None
    wrapper.ensure_connection()
    with wrapper.wrap_database_errors:
        # Bound by the server: Django's client-side quoting of every argument costs more
        # than the extended protocol's extra message. Prepared at first use on the
        # connection unless STAMPS_PREPARED_STATEMENTS is off (settings.py).
        cursor = psycopg.Cursor(wrapper.connection).execute(query, arguments)
        return cursor.fetchone() if fetch else None
