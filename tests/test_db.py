"""The hot path's statements (stamps_server/db.py) run straight through libpq on PostgreSQL:
prepared once per connection, in Django's transaction, with psycopg's values and errors."""

from datetime import UTC, date, datetime

import pytest
from django.db import ProgrammingError, connection, transaction

from stamps_server import db

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def prepared_statements_like(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [text]
        )
        return [row[0] for row in cursor.fetchall()]


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

        with pytest.raises(ProgrammingError):
            db.one_row("SELECT %s::int * 2", [2])

        assert db.one_row("SELECT %s::int * 2", [3]) == (6,)
