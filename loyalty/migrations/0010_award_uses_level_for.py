from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0010_ledger.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/0010_ledger.sql: stamps_award picks the level through
    stamps_level_for, as stamps_cancel does, instead of its own copy of that query."""

    dependencies = [("loyalty", "0009_levelchange")]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False)
    ]
