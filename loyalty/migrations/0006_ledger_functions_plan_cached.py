from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0006_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0006_ledger.sql: the expiry helpers became PL/pgSQL so their plans
    are kept, and an award or spend no longer plans the write-off when nothing is due."""

    dependencies = [("loyalty", "0005_merchant_transaction_value_per_stamp_and_more")]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False)
    ]
