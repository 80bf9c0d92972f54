from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0002_claim.sql"  # frozen with this migration


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())


def uninstall(apps, schema_editor):
    schema_editor.execute("DROP FUNCTION IF EXISTS idempotency_claim(bigint, text, bigint)")


class Migration(migrations.Migration):
    """Claim a key and read its stored answer in one round trip
    (idempotency/sql/0002_claim.sql)."""

    dependencies = [("idempotency", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
