from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


def install(apps, schema_editor):
    ledger_functions.install(apps, schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS stamps_due_total(bigint, date)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql: stamps_expire_due no longer asks whether anything
    is due (its callers ask first), and stamps_due_total, which it asked, is dropped."""

    dependencies = [("loyalty", "0012_ledger_checks_short")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
