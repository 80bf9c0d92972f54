from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0011_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder
    schema_editor.execute("DROP FUNCTION IF EXISTS stamps_member_view(loyalty_membership)")
    schema_editor.execute("DROP FUNCTION IF EXISTS stamps_level_for(bigint, bigint)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0011_ledger.sql: the award, spend and cancel functions read the
    member into their results and pick the level inline, instead of through
    stamps_member_view and stamps_level_for, now dropped; a nested PL/pgSQL call costs as
    much as the query it wraps."""

    dependencies = [("loyalty", "0010_award_uses_level_for")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
