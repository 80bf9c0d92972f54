"""One ledger, in the database: every write that moves stamps is a function of
loyalty/sql/0020_ledger.sql (frozen with this migration). Awards and spends record who made
them (an API key or a staff user) and merchants get a time zone, the day their stamps expire
by. Django's state learns the row-rule CHECKs that migration 0014 put in place of the
models' separate ones (and the `>= 0` checks of their Positive* fields), which the database
already holds."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import loyalty.models

SQL = Path(__file__).resolve().parent.parent / "sql" / "0020_ledger.sql"  # frozen with it


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())  # no parameters: `%ROWTYPE` is not a placeholder


def actor(model, prefix, target, related_name):
    return migrations.AddField(
        model_name=model,
        name=f"{prefix}_by_{'token' if target == 'loyalty.apitoken' else 'staff'}",
        field=models.ForeignKey(
            blank=True,
            db_constraint=False,
            db_index=False,
            null=True,
            on_delete=django.db.models.deletion.PROTECT,
            related_name=related_name,
            to=target,
        ),
    )


def actors(model, plural):
    user = settings.AUTH_USER_MODEL
    return [
        actor(model, "created", "loyalty.apitoken", f"{plural}_created"),
        actor(model, "created", user, f"{plural}_created_by_staff"),
        actor(model, "canceled", "loyalty.apitoken", f"{plural}_canceled"),
        actor(model, "canceled", user, f"{plural}_canceled_by_staff"),
        migrations.AddField(
            model_name=model,
            name="cancel_reason",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]


def rules(function, *columns):
    return models.Func(
        *(models.F(column) for column in columns),
        function=function,
        output_field=models.BooleanField(),
    )


ACTORS = ("created_by_token", "created_by_staff", "canceled_by_token", "canceled_by_staff")

STATE_ONLY = [
    *(
        migrations.RemoveConstraint(model_name=model, name=name)
        for model, name in [
            ("award", "award_size_gt_0"),
            ("award", "award_remaining_within_size"),
            ("award", "award_closed_lots_are_empty"),
            ("ledgerentry", "entry_delta_nonzero"),
            ("ledgerentry", "entry_kind_known"),
            ("ledgerentry", "entry_spends_name_their_deduction"),
            ("ledgerentry", "entry_sign_matches_kind"),
            ("membership", "membership_stamps_gte_0"),
            ("membership", "membership_qualifying_gte_0"),
            ("membership", "membership_email_lowercase"),
            ("stampsdeduction", "deduction_stamps_gt_0"),
        ]
    ),
    migrations.AlterField(
        model_name="award",
        name="status",
        field=models.SmallIntegerField(
            choices=[(1, "Active"), (2, "Canceled"), (3, "Expired")], default=1
        ),
    ),
    migrations.AlterField(
        model_name="membership",
        name="gender",
        field=models.SmallIntegerField(
            blank=True, choices=[(1, "Male"), (2, "Female")], null=True
        ),
    ),
    migrations.AlterField(
        model_name="stampsdeduction",
        name="purpose",
        field=models.SmallIntegerField(choices=[(1, "Deduction"), (2, "Redemption")], default=1),
    ),
    migrations.AlterField(
        model_name="stampsdeduction", name="stamps", field=models.IntegerField()
    ),
    migrations.AlterField(
        model_name="stampsdeduction",
        name="status",
        field=models.SmallIntegerField(choices=[(1, "Active"), (2, "Canceled")], default=1),
    ),
    migrations.AddConstraint(
        model_name="award",
        constraint=models.CheckConstraint(
            condition=rules(
                "stamps_award_rules", "number_of_stamps", "stamps_remaining", "status", *ACTORS
            ),
            name="award_rules",
        ),
    ),
    migrations.AddConstraint(
        model_name="ledgerentry",
        constraint=models.CheckConstraint(
            condition=rules("stamps_entry_rules", "kind", "delta", "deduction"),
            name="entry_rules",
        ),
    ),
    migrations.AddConstraint(
        model_name="membership",
        constraint=models.CheckConstraint(
            condition=rules(
                "stamps_membership_rules", "stamps", "qualifying_stamps", "gender", "email"
            ),
            name="membership_rules",
        ),
    ),
    migrations.AddConstraint(
        model_name="stampsdeduction",
        constraint=models.CheckConstraint(
            condition=rules("stamps_deduction_rules", "stamps", "purpose", "status", *ACTORS),
            name="deduction_rules",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0019_entries_lot_checked_once"),
        ("redemptions", "0003_refunds"),
        ("transactions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *actors("award", "awards"),
        *actors("stampsdeduction", "deductions"),
        migrations.AddField(
            model_name="merchant",
            name="time_zone",
            field=models.CharField(
                default=loyalty.models.default_time_zone,
                help_text="The merchant's day: when stamps expire and which day an invoice "
                "belongs to.",
                max_length=64,
                validators=[loyalty.models.time_zone_known],
            ),
        ),
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(state_operations=STATE_ONLY),
    ]
