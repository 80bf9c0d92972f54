"""The hot path's statements (stamps_server/db.py) run straight through libpq on PostgreSQL:
prepared once per connection, in Django's transaction, with psycopg's values and errors. The
thread's connections are found without asgiref's Local, and are the ones it holds."""

import asyncio
import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connection, connections, transaction

from stamps_server import db


def prepared_statements_like(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [text]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestHotStatements:
    def test_a_statement_is_prepared_once_per_connection(self) -> None:
        for _ in range(2):
            assert db.one_row("SELECT %s::int + 41", [1]) == (42,)

        assert prepared_statements_like("%+ 41") == ["SELECT $1::int + 41"]

    def test_arguments_and_results_keep_their_values(self) -> None:
        values = [2**62, "crème", date(2030, 1, 31), datetime(2030, 1, 31, 12, 5, 1, 7, UTC)]
        values += [True, b"\x00\xff", None]

        row = db.one_row(
            "SELECT %s::bigint, %s::text, %s::date, %s::timestamptz, %s::boolean, %s::bytea,"
            " %s::text",
            values,
        )

        assert row == (*values[:5], b"\x00\xff", None)

    def test_a_statement_runs_in_the_transaction_django_opened(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE hot_rows (value int)")

        with pytest.raises(RuntimeError), transaction.atomic():
            db.execute("INSERT INTO hot_rows VALUES (%s)", [1])
            raise RuntimeError("the caller gives up")

        assert db.one_row("SELECT count(*) FROM hot_rows", []) == (0,)

    def test_a_statement_deallocated_behind_its_back_is_prepared_again(self) -> None:
        db.one_row("SELECT %s::int * 2", [1])
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")

        assert db.one_row("SELECT %s::int * 2", [2]) == (4,)

    def test_in_a_transaction_the_statement_fails_once_then_is_prepared_again(self) -> None:
        db.one_row("SELECT %s::int * 2", [1])
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")

        with pytest.raises(ProgrammingError), transaction.atomic():
            db.one_row("SELECT %s::int * 2", [2])  # (the transaction cannot go on after it)

        assert db.one_row("SELECT %s::int * 2", [3]) == (6,)


def in_new_thread(look_up: Any) -> Any:
    found = []
    thread = threading.Thread(target=lambda: found.append(look_up()))
    thread.start()
    thread.join()
    return found[0]


@pytest.mark.django_db
class TestThreadConnections:
    def test_a_thread_finds_the_connections_django_gives_it(self) -> None:
        assert db.default_connection() is connections[DEFAULT_DB_ALIAS]
        assert db.initialized_connections() == connections.all(initialized_only=True)

    def test_a_new_thread_has_none_opened_and_gets_its_own(self) -> None:
        assert in_new_thread(db.initialized_connections) == []
        assert in_new_thread(db.default_connection) is not connections[DEFAULT_DB_ALIAS]

    def test_async_code_finds_the_connections_of_its_context(self) -> None:
        async def look_up() -> tuple[Any, Any]:
            return db.default_connection(), connections[DEFAULT_DB_ALIAS]

        found, django_gives = asyncio.run(look_up())

        assert found is django_gives
        assert found is not connections[DEFAULT_DB_ALIAS]
