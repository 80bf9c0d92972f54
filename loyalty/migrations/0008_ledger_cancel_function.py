from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0008_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


def uninstall(apps, schema_editor):
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS stamps_cancel(bigint, text, bigint, date, timestamptz)"
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS stamps_level_for(bigint, bigint)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0008_ledger.sql for stamps_cancel: cancelling a whole lot, the
    usual case, in one round trip."""

    dependencies = [("loyalty", "0007_ledger_redeem_function")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
