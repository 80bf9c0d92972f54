from pathlib import Path

from django.db import migrations
from django.db.models import CheckConstraint

SQL = Path(__file__).resolve().parent.parent / "sql" / "0014_row_rules.sql"  # frozen with it
TABLES = {  # (app, model): the CHECK that holds its rules on PostgreSQL, and its function
    ("loyalty", "Membership"): ("membership_rules", "stamps_membership_rules"),
    ("loyalty", "Award"): ("award_rules", "stamps_award_rules"),
    ("loyalty", "LedgerEntry"): ("entry_rules", "stamps_entry_rules"),
    ("loyalty", "StampsDeduction"): ("deduction_rules", "stamps_deduction_rules"),
    ("redemptions", "Redemption"): ("redemption_rules", "stamps_redemption_rules"),
}


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL.read_text())


def uninstall(apps, schema_editor):
    """Back to the checks Django creates from the models as they were at this migration."""
    for (app, name), (constraint, function) in TABLES.items():
        model = apps.get_model(app, name)
        table = schema_editor.quote_name(model._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
        schema_editor.execute(f"DROP FUNCTION {function}")
        for field in model._meta.local_fields:
            check = field.db_parameters(schema_editor.connection)["check"]
            if check:
                name = schema_editor.quote_name(f"{model._meta.db_table}_{field.column}_check")
                schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check})")
        for check in model._meta.constraints:
            if isinstance(check, CheckConstraint):
                schema_editor.add_constraint(model, check)


class Migration(migrations.Migration):
    """Each ledger table's CHECKs become one CHECK calling a function with the same rules
    (loyalty/sql/0014_row_rules.sql says why). Django's state learns of it in migration 0020,
    whose models declare those CHECKs."""

    dependencies = [
        ("loyalty", "0013_ledger_expiry_unguarded"),
        ("redemptions", "0003_refunds"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
