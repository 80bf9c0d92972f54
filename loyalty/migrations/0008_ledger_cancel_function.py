from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS stamps_cancel(bigint, text, bigint, date, timestamptz)"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS stamps_level_for(bigint, bigint)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql for stamps_cancel: cancelling a whole lot, the
    usual case, in one round trip."""

    dependencies = [("loyalty", "0007_ledger_redeem_function")]

    operations = [migrations.RunPython(ledger_functions.install, uninstall, elidable=False)]
