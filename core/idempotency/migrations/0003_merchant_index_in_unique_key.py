from django.db import migrations, models

# The index Django made for the foreign key; the unique (merchant, key) index serves it.
# Dropped as an index alone: AlterField would also drop and re-add the foreign key, which
# re-checks every stored answer under an exclusive lock on the merchants.
INDEX = "idempotency_idempotentresponse_merchant_id_ed08e7f0"


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0002_claim_function"),
        ("loyalty", "0014_row_rules_functions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="idempotentresponse",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="loyalty.merchant",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=(
                        f'CREATE INDEX "{INDEX}" ON "idempotency_idempotentresponse" ("merchant_id")'
                    ),
                ),
            ],
        ),
    ]
