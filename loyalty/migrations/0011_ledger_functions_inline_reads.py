from importlib import import_module

from django.db import migrations

ledger_functions = import_module("loyalty.migrations.0002_ledger_functions")


def install(apps, schema_editor):
    ledger_functions.install(apps, schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS stamps_member_view(loyalty_membership)")
        schema_editor.execute("DROP FUNCTION IF EXISTS stamps_level_for(bigint, bigint)")


class Migration(migrations.Migration):
    """Reinstalls loyalty/sql/ledger.sql: the award, spend and cancel functions read the
    member into their results and pick the level inline, instead of through
    stamps_member_view and stamps_level_for, now dropped; a nested PL/pgSQL call costs as
    much as the query it wraps."""

    dependencies = [("loyalty", "0010_award_uses_level_for")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
