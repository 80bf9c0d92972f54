from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql: the expiry helpers became PL/pgSQL so their plans
    are kept, and an award or spend no longer plans the write-off when nothing is due."""

    dependencies = [("loyalty", "0005_merchant_transaction_value_per_stamp_and_more")]

    operations = [
        migrations.RunPython(ledger_functions.install, migrations.RunPython.noop, elidable=False)
    ]
