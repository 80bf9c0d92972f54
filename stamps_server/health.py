"""`GET /healthz` and `GET /readyz`: what a load balancer and an orchestrator probe.

/healthz says the process answers and touches nothing else. /readyz says this process can
serve a till: the database answers, every migration this code ships is applied, and the
database functions the code calls are installed. Both are answered by the WSGI front
(stamps_server/front.py) before Django's request cycle, so they need no API key, no https
and no allowed Host (probes use the server's address), and cost /readyz one query."""

from functools import cache
from typing import NamedTuple

from django.db import DatabaseError, close_old_connections, connection
from django.db.migrations.loader import MigrationLoader

# Every database function the code calls by name (core/db.py's callers and the Func
# expressions of queries); tests/test_health.py fails when a call names one this list lacks.
REQUIRED_FUNCTIONS = (
    "idempotency_claim",
    "stamps_award",
    "stamps_cancel",
    "stamps_expire_member",
    "stamps_entries_final",
    "stamps_find_member",
    "stamps_fold_totals",
    "stamps_lot_overdue",
    "stamps_member_refusal",
    "stamps_purchase",
    "stamps_purchase_cancel",
    "stamps_redeem",
    "stamps_redemption_cancel",
    "stamps_reward_store_refusal",
    "stamps_reward_window_refusal",
    "stamps_spend",
    "stamps_spendable",
)
MAX_NAMED = 5  # names listed in a reason; the rest are counted

READINESS_QUERY = """
SELECT
    (SELECT array_agg(app || '.' || name) FROM django_migrations),
    (SELECT array_agg(DISTINCT proname::text) FROM pg_proc WHERE proname = ANY(%s))
"""


class Readiness(NamedTuple):
    ready: bool
    reason: str | None = None


@cache
def shipped_migrations() -> frozenset[str]:
    """The migrations on disk, as `app.name`: fixed for the process's life, read once."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return frozenset(f"{app}.{name}" for app, name in graph.nodes)


def readiness() -> Readiness:
    close_old_connections()  # a connection the database dropped is replaced, not reported
    try:
        with connection.cursor() as cursor:
            cursor.execute(READINESS_QUERY, [list(REQUIRED_FUNCTIONS)])
            applied, installed = cursor.fetchone()
    except DatabaseError as error:
        return Readiness(False, f"database unavailable: {type(error).__name__}")
    finally:
        close_old_connections()
    return readiness_of(set(applied or ()), set(installed or ()))


def readiness_of(applied: set[str], installed: set[str]) -> Readiness:
    unapplied = sorted(shipped_migrations() - applied)
    if unapplied:
        return Readiness(False, f"migrations not applied: {named(unapplied)}")
    missing = sorted(set(REQUIRED_FUNCTIONS) - installed)
    if missing:
        return Readiness(False, f"database functions missing: {named(missing)}")
    return Readiness(True)


def named(names: list[str]) -> str:
    listed = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return f"{listed} and {more} more" if more > 0 else listed
