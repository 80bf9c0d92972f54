from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql: stamps_award picks the level through
    stamps_level_for, as stamps_cancel does, instead of its own copy of that query."""

    dependencies = [("loyalty", "0009_levelchange")]

    operations = [
        migrations.RunPython(ledger_functions.install, migrations.RunPython.noop, elidable=False)
    ]
