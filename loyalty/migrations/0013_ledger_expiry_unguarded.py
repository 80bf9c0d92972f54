from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0013_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder
    schema_editor.execute("DROP FUNCTION IF EXISTS stamps_due_total(bigint, date)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0013_ledger.sql: stamps_expire_due no longer asks whether anything
    is due (its callers ask first), and stamps_due_total, which it asked, is dropped."""

    dependencies = [("loyalty", "0012_ledger_checks_short")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
