from django.db import migrations, models

# The index Django made for the outbox's foreign key to the member. Nothing reads the outbox
# by member but a member's deletion; every award that sends an email wrote a page of it chosen
# by member. Dropped as an index alone: AlterField would also drop and re-add the foreign key,
# which re-checks every row under an exclusive lock on the members.
INDEX = "loyalty_emailoutbox_membership_id_e066d10a"


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0017_members_leave_room_for_hot_updates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="emailoutbox",
                    name="membership",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="emails",
                        to="loyalty.membership",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "loyalty_emailoutbox" ("membership_id")',
                ),
            ],
        ),
    ]
