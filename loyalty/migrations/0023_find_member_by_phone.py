"""`user` may also be a mobile number, as the Stamps documents say: stamps_find_member of
loyalty/sql/0023_find_member.sql (frozen with this migration), and an index that finds a
merchant's member by phone."""

from pathlib import Path

from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql" / "0023_find_member.sql"  # frozen with it


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0022_ledger_entries_brin_by_time"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                condition=models.Q(("phone", ""), _negated=True),
                fields=["merchant", "phone"],
                name="membership_phone",
            ),
        ),
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False),
    ]
