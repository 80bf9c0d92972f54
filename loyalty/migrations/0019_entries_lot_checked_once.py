"""On PostgreSQL an entry's lot is checked once, by the (award, membership) reference of
migration 0015: the entry's own foreign key to the lot, which Django made, checked the same
lot again at every commit, a tenth of what PostgreSQL spends on the checks of an award
(README, Benchmark). SQLite has no such reference and keeps the foreign key."""

from django.db import migrations

FOREIGN_KEY = "loyalty_ledgerentry_award_id_ada6a7ec_fk_loyalty_award_id"


def foreign_key_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE loyalty_ledgerentry DROP CONSTRAINT IF EXISTS "{FOREIGN_KEY}"'
        )


def foreign_key_add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'ALTER TABLE loyalty_ledgerentry ADD CONSTRAINT "{FOREIGN_KEY}" FOREIGN KEY (award_id) '
        "REFERENCES loyalty_award (id) DEFERRABLE INITIALLY DEFERRED NOT VALID"
    )
    schema_editor.execute(f'ALTER TABLE loyalty_ledgerentry VALIDATE CONSTRAINT "{FOREIGN_KEY}"')


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0018_outbox_without_member_index"),
    ]

    operations = [
        migrations.RunPython(foreign_key_drop, foreign_key_add),
    ]
