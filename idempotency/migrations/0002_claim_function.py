from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "claim.sql"


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(SQL.read_text())


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS idempotency_claim(bigint, text, bigint)")


class Migration(migrations.Migration):
    """PostgreSQL only: claim a key and read its stored answer in one round trip
    (idempotency/sql/claim.sql)."""

    dependencies = [("idempotency", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
