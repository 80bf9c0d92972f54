"""The hot path's statements (stamps_server/db.py) run straight through libpq on PostgreSQL:
prepared once per connection, in Django's transaction, with psycopg's values and errors. The
thread's connections are found without asgiref's Local, and are the ones it holds."""

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import (
    DEFAULT_DB_ALIAS,
    DataError,
    IntegrityError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)
from psycopg import pq

from stamps_server import db
from tests.wire import round_trips_counted


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


@pytest.fixture
def shared_rows() -> Iterator[None]:
    """A table other connections see (a temporary one they would not)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE hot_shared_rows (value int PRIMARY KEY)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE hot_shared_rows")


def rows_seen_elsewhere() -> list[int]:
    """What another connection sees: only what has been committed."""

    def look() -> list[int]:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT value FROM hot_shared_rows ORDER BY value")
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()

    return in_new_thread(look)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestRoundTripsSaved:
    """A transaction's BEGIN goes with its first hot statement, and its COMMIT with the last
    one where execute_and_commit() is asked to; nothing else changes for the caller."""

    INSERT = "INSERT INTO hot_shared_rows VALUES (%s)"

    def test_the_first_statement_of_a_transaction_takes_one_round_trip(self) -> None:
        db.one_row("SELECT %s::int - 1", [1])  # prepared outside the count

        with transaction.atomic(), round_trips_counted() as round_trips:
            assert db.one_row("SELECT %s::int - 1", [5]) == (4,)
            status = connection.connection.pgconn.transaction_status

        assert round_trips == [1]
        assert status == pq.TransactionStatus.INTRANS

    def test_the_last_statement_commits_with_it(self, shared_rows: None) -> None:
        db.execute(self.INSERT, [0])  # prepared outside the count
        with transaction.atomic():
            db.execute(self.INSERT, [1])
            with round_trips_counted() as round_trips:
                db.execute_and_commit(self.INSERT, [2])
            seen_inside = rows_seen_elsewhere()
            with round_trips_counted() as leaving_round_trips:
                pass

        assert round_trips == [1]
        assert seen_inside == [0, 1, 2]
        assert leaving_round_trips == [0]
        assert connection.get_autocommit()

    def test_nothing_is_sent_when_the_block_closes_after_it(self, shared_rows: None) -> None:
        db.execute(self.INSERT, [0])  # prepared outside the count
        with round_trips_counted() as round_trips, transaction.atomic():
            db.execute(self.INSERT, [1])
            db.execute_and_commit(self.INSERT, [2])

        assert round_trips == [2]  # BEGIN with the first, COMMIT with the last
        assert rows_seen_elsewhere() == [0, 1, 2]

    def test_in_a_nested_block_the_outer_transaction_decides(self, shared_rows: None) -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            with transaction.atomic():
                db.execute(self.INSERT, [1])
                db.execute_and_commit(self.INSERT, [2])
            assert rows_seen_elsewhere() == []
            raise RuntimeError("the outer block gives up")

        assert rows_seen_elsewhere() == []

    def test_a_block_marked_for_rollback_commits_nothing(self, shared_rows: None) -> None:
        with transaction.atomic():
            db.execute(self.INSERT, [1])
            transaction.set_rollback(True)
            db.execute_and_commit(self.INSERT, [2])

        assert rows_seen_elsewhere() == []

    def test_a_failed_last_statement_commits_nothing(self, shared_rows: None) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            db.execute(self.INSERT, [1])
            db.execute_and_commit(self.INSERT, [1])

        assert rows_seen_elsewhere() == []
        assert db.one_row("SELECT count(*) FROM hot_shared_rows", []) == (0,)

    def test_without_pipeline_mode_they_go_one_by_one(
        self, shared_rows: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(db, "PIPELINE_MODE", False)  # a libpq older than 14
        db.execute(self.INSERT, [0])  # prepared outside the count
        with round_trips_counted() as round_trips, transaction.atomic():
            db.execute(self.INSERT, [1])
            db.execute_and_commit(self.INSERT, [2])
            seen_inside = rows_seen_elsewhere()
        with pytest.raises(IntegrityError), transaction.atomic():
            db.execute(self.INSERT, [3])
            db.execute_and_commit(self.INSERT, [3])

        assert round_trips == [4]  # BEGIN, the first, the last, COMMIT
        assert seen_inside == [0, 1, 2]
        assert rows_seen_elsewhere() == [0, 1, 2]

    def test_a_failed_first_statement_leaves_nothing_open(self, shared_rows: None) -> None:
        with pytest.raises(DataError), transaction.atomic():
            db.one_row("SELECT 1 / %s::int", [0])

        assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
        db.execute(self.INSERT, [3])
        assert rows_seen_elsewhere() == [3]


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
