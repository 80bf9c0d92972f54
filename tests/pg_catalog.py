"""What PostgreSQL's catalog says about the schema, for tests that pin index choices."""

from django.db import connection


def indexes_led_by_member(table: str) -> list[tuple[str, str | None]]:
    """(name, partial-index predicate) of each index on `table` whose first column is
    membership_id: each is a page chosen by member that a new row of the table writes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index"
            " JOIN pg_attribute ON attrelid = indrelid AND attnum = indkey[0]"
            " WHERE indrelid = %s::regclass AND attname = 'membership_id' ORDER BY 1",
            [table],
        )
        return cursor.fetchall()
