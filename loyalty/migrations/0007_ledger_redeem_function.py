from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS stamps_redeem(bigint, text, bigint, bigint, text, date,"
            " timestamptz)"
        )


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql for stamps_redeem: a redemption's store, reward,
    window and store checks in the same round trip as the spend."""

    dependencies = [("loyalty", "0006_ledger_functions_plan_cached")]

    operations = [migrations.RunPython(ledger_functions.install, uninstall, elidable=False)]
