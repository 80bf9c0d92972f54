from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0007_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


def uninstall(apps, schema_editor):
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS stamps_redeem(bigint, text, bigint, bigint, text, date,"
        " timestamptz)"
    )


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0007_ledger.sql for stamps_redeem: a redemption's store, reward,
    window and store checks in the same round trip as the spend."""

    dependencies = [("loyalty", "0006_ledger_functions_plan_cached")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
