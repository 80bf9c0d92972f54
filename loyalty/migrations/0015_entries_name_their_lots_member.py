"""A ledger entry's member is its lot's member, held by the database, and the entries lose
their index by member: one random page fewer written per entry at scale (README, Scale).

On PostgreSQL the entry's (award, membership) references the lot's (id, membership), which
replaces the entry's own foreign key to the member. On an existing database the reference is
added NOT VALID and then validated, so the long check does not block writes to the lots."""

import django.db.models.deletion
from django.db import migrations, models

REFERENCE = "entry_lot_of_member"


def reference_add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE loyalty_ledgerentry ADD CONSTRAINT {REFERENCE} "
        "FOREIGN KEY (award_id, membership_id) REFERENCES loyalty_award (id, membership_id) "
        "DEFERRABLE INITIALLY DEFERRED NOT VALID"
    )
    schema_editor.execute(f"ALTER TABLE loyalty_ledgerentry VALIDATE CONSTRAINT {REFERENCE}")


def reference_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE loyalty_ledgerentry DROP CONSTRAINT {REFERENCE}")


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0014_row_rules_functions"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="award",
            constraint=models.UniqueConstraint(
                fields=("id", "membership"), name="award_lot_of_member"
            ),
        ),
        migrations.RunPython(reference_add, reference_drop),
        migrations.AlterField(
            model_name="ledgerentry",
            name="membership",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="entries",
                to="loyalty.membership",
            ),
        ),
    ]
