from django.db import migrations, models

# The index Django made for the lots' foreign key to their member, which every award wrote to.
# Spendable lots have their index by member already; closed lots get their own, and the two
# together serve what the full index did (models.AwardQuerySet.of_member).
# Dropped as an index alone: AlterField would also drop and re-add the foreign key, which
# re-checks every lot under an exclusive lock on the members.
INDEX = "loyalty_award_membership_id_0a343e73"


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0015_entries_name_their_lots_member"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="award",
            index=models.Index(
                condition=models.Q(("stamps_remaining", 0)),
                fields=["membership"],
                name="award_closed_lots",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="award",
                    name="membership",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="awards",
                        to="loyalty.membership",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "loyalty_award" ("membership_id")',
                ),
            ],
        ),
    ]
