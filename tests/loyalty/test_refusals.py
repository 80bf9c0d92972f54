"""One registry of refusals (loyalty/refusals.py) for the ledger's functions and the API:
every code a function PostgreSQL runs can return is in it, and each renders as its entry
says."""

import re

import pytest
from django.db import connection

from loyalty.refusals import REFUSALS, LedgerRefusal

pytestmark = pytest.mark.django_db

# How a ledger function hands out a code: assigned to its refusal, returned from a CASE of a
# *_refusal function, raised as a refusal inside a block, or compared with one it received.
CODE_SITES = [
    r"refusal\s*:=\s*'([a-z_]+)'",
    r"THEN\s+'([a-z_]+)'",
    r"MESSAGE\s*=\s*'([a-z_]+)'",
    r"v_refusal\s*=\s*'([a-z_]+)'",
]
RENAMED_IN_PYTHON = {"customer_not_found", "customer_blocked"}  # redemptions.services.AS_CUSTOMER


def installed_function_sources() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, p.prosrc FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND p.proname LIKE 'stamps\\_%%'"
        )
        return dict(cursor.fetchall())


def codes_in(source: str) -> set[str]:
    return {code for pattern in CODE_SITES for code in re.findall(pattern, source)}


def test_every_code_a_ledger_function_can_return_is_in_the_registry() -> None:
    codes = set().union(*map(codes_in, installed_function_sources().values()))

    assert codes, "no refusal found: the patterns no longer match the functions"
    assert codes - REFUSALS.keys() == set()


def test_every_code_in_the_registry_is_one_the_ledger_returns() -> None:
    codes = set().union(*map(codes_in, installed_function_sources().values()))

    assert REFUSALS.keys() - codes == RENAMED_IN_PYTHON


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_each_refusal_renders_as_its_entry_says(code: str) -> None:
    refusal = LedgerRefusal(code, "Silver")
    entry = REFUSALS[code]

    assert (refusal.code, refusal.field, refusal.status_code) == (
        entry.error_code,
        entry.field,
        entry.status,
    )
    assert refusal.message == entry.message.format(detail="Silver")
    assert "{" not in refusal.message
