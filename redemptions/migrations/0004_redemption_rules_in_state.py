"""Django's state learns the row-rule CHECK that loyalty's migration 0014 put in place of
the redemption's separate ones; the database already holds it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("redemptions", "0003_refunds"),
        ("loyalty", "0020_one_ledger"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="redemption", name="redemption_cost_gt_0"),
                migrations.AlterField(
                    model_name="redemption", name="stamps_used", field=models.IntegerField()
                ),
                migrations.AlterField(
                    model_name="redemption",
                    name="status",
                    field=models.SmallIntegerField(
                        choices=[(1, "Active"), (2, "Canceled")], default=1
                    ),
                ),
                migrations.AddConstraint(
                    model_name="redemption",
                    constraint=models.CheckConstraint(
                        condition=models.Func(
                            models.F("stamps_used"),
                            models.F("status"),
                            function="stamps_redemption_rules",
                            output_field=models.BooleanField(),
                        ),
                        name="redemption_rules",
                    ),
                ),
            ]
        )
    ]
