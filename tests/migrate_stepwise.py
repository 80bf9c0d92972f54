"""Migrates DATABASE_URL one migration at a time, as a database upgraded with every release
would have been: `python tests/migrate_stepwise.py` (tests/test_migrations.py runs it)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stamps_server.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
for migration, _ in plan:
    call_command("migrate", migration.app_label, migration.name, verbosity=0)
print(f"applied {len(plan)} migrations one by one")
