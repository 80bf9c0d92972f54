"""The ledger's SQL is frozen with each migration (docs/ledger.md, "Changing the ledger"): a
database migrated one migration at a time, as one upgraded with every release was, ends with
the same functions and constraints as one migrated in one go (the test database), and those
functions are the latest source's."""

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from tests.wire import database_url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SQL_DIRS = [ROOT / "loyalty" / "sql", ROOT / "core" / "idempotency" / "sql"]
FUNCTIONS = (
    "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prosrc"
    " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = current_schema() ORDER BY 1"
)
CONSTRAINTS = (
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"
)


def catalog(cursor: psycopg.Cursor | object, query: str) -> list[tuple]:
    cursor.execute(query)  # type: ignore[attr-defined]
    return list(cursor.fetchall())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def migrated_step_by_step(django_db_blocker: object) -> tuple[list[tuple], list[tuple]]:
    name = f"stamps_stepwise_{os.getpid()}"
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        admin = psycopg.connect(database_url("postgres"), autocommit=True)
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "tests" / "migrate_stepwise.py")],
            env={**os.environ, "DATABASE_URL": database_url(name)},
            check=True,
            capture_output=True,
            timeout=600,
        )
        with psycopg.connect(database_url(name)) as stepwise:
            cursor = stepwise.cursor()
            return catalog(cursor, FUNCTIONS), catalog(cursor, CONSTRAINTS)
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def test_step_by_step_ends_with_the_functions_of_one_go(migrated_step_by_step) -> None:
    functions, _ = migrated_step_by_step
    with connection.cursor() as cursor:
        assert catalog(cursor, FUNCTIONS) == functions


def test_step_by_step_ends_with_the_constraints_of_one_go(migrated_step_by_step) -> None:
    _, constraints = migrated_step_by_step
    with connection.cursor() as cursor:
        assert sorted(catalog(cursor, CONSTRAINTS)) == sorted(constraints)


DEFINITION = re.compile(
    r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", re.DOTALL | re.IGNORECASE
)
DROP = re.compile(r"^DROP FUNCTION (?:IF EXISTS )?(\w+)\(", re.MULTILINE | re.IGNORECASE)


def current_source() -> dict[str, str]:
    """Each function's body as the latest frozen file that defines it has it, less the
    functions a later file drops and does not define again."""
    files = sorted(
        (path for folder in SQL_DIRS for path in folder.glob("*.sql")), key=lambda p: p.name
    )
    bodies: dict[str, str] = {}
    for path in files:
        text = path.read_text()
        defined = dict(DEFINITION.findall(text))
        for name in DROP.findall(text):
            if name not in defined:
                bodies.pop(name, None)
        bodies.update(defined)
    return bodies


def test_the_installed_functions_are_the_latest_source() -> None:
    with connection.cursor() as cursor:
        installed = catalog(cursor, FUNCTIONS)
    names = [signature.split("(")[0] for signature, _ in installed]
    assert len(names) == len(set(names)), "a function has an overload left behind"

    assert {name: body for name, (_, body) in zip(names, installed, strict=True)} == (
        current_source()
    )
