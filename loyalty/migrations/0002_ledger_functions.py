from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "0002_ledger.sql"  # frozen with this migration
FUNCTIONS = [
    "stamps_level_change_record(bigint, bigint, bigint, bigint, timestamptz)",
    "stamps_cancel(bigint, text, bigint, date, timestamptz)",
    "stamps_level_for(bigint, bigint)",
    "stamps_redeem(bigint, text, bigint, bigint, text, date, timestamptz)",
    "stamps_spend(bigint, text, integer, text, integer, date, timestamptz, bigint, bigint,"
    " bigint, boolean, text)",
    "stamps_award(bigint, bigint, text, integer, text, date, boolean, date, timestamptz)",
    "stamps_member_view(loyalty_membership)",
    "stamps_due_total(bigint, date)",
    "stamps_expire_due(bigint, date, timestamptz)",
    "stamps_find_member(bigint, text)",
]


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


def uninstall(apps, schema_editor):
    for signature in FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {signature}")


class Migration(migrations.Migration):
    """The one-round-trip ledger writes, as they were first written; later migrations
    install later versions, each from its own frozen file."""

    dependencies = [
        ("loyalty", "0001_initial"),
        ("redemptions", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
