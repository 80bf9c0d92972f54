"""The ledger's totals (loyalty/sql/0024_totals.sql): entries per merchant's day, stamps left
per expiration date and each member's last active day, folded from the entries up to a mark.
Each reader adds the entries past the mark in the same statement, so what it reads is exact
whether or not a fold has run."""

from collections import Counter
from datetime import date
from typing import Any, NamedTuple

from django.db import connection, transaction

from core.db import function_value
from loyalty.models import Merchant

FOLD_LIMIT = 500_000  # entries per fold transaction
READER_FOLD_LIMIT = 10_000  # what a page folds before it reads: a fraction of a second


class DayKey(NamedTuple):
    day: date
    store_id: int
    kind: int
    purpose: int | None


def totals_fold(limit: int = FOLD_LIMIT) -> int | None:
    """Folds up to `limit` final entries into the totals: how many it folded, or None when
    another fold is running or when called inside a transaction. Marking entries final
    takes a lock that waits, at most 200 ms, for the tills' writes in flight and holds new
    ones back until its transaction ends: so it runs in a transaction of its own, never in
    a caller's."""
    if connection.in_atomic_block:
        return None
    with transaction.atomic():
        function_value("stamps_entries_final", [])
    with transaction.atomic():
        return function_value("stamps_fold_totals", [limit])


def rows(query: str, arguments: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, arguments)
        return cursor.fetchall()


DAILY = """
SELECT day, store_id, kind, purpose, sum(stamps)::bigint FROM (
    SELECT day, store_id, kind, purpose, stamps FROM loyalty_dailytotal
     WHERE merchant_id = %(merchant)s AND day BETWEEN %(first)s AND %(last)s
    UNION ALL
    SELECT day, store_id, kind, purpose, delta FROM stamps_entry_facts_unfolded()
     WHERE merchant_id = %(merchant)s AND day BETWEEN %(first)s AND %(last)s
) sums GROUP BY day, store_id, kind, purpose
"""


def daily_totals(merchant: Merchant, first_day: date, last_day: date) -> Counter[DayKey]:
    """The merchant's entries summed per day, lot's store, kind and spend purpose."""
    found = rows(DAILY, {"merchant": merchant.pk, "first": first_day, "last": last_day})
    return Counter({DayKey(*key): stamps for *key, stamps in found})


DUE = """
SELECT expiration_date, sum(stamps)::bigint FROM (
    SELECT expiration_date, stamps FROM loyalty_duetotal WHERE merchant_id = %(merchant)s
    UNION ALL
    SELECT expiration_date, delta FROM stamps_entry_facts_unfolded()
     WHERE merchant_id = %(merchant)s
) sums GROUP BY expiration_date
"""


def due_totals(merchant: Merchant) -> Counter[date]:
    """The stamps left in the merchant's lots, per expiration date."""
    return Counter(dict(rows(DUE, {"merchant": merchant.pk})))


# The folded last active days on their index, plus the members past the mark not among them.
ACTIVE = """
SELECT (SELECT count(*) FROM loyalty_memberactivity
         WHERE merchant_id = %(merchant)s AND last_active_on >= %(since)s)
     + (SELECT count(DISTINCT u.membership_id) FROM stamps_entry_facts_unfolded() u
         WHERE u.merchant_id = %(merchant)s AND u.day >= %(since)s AND u.by_member
           AND NOT EXISTS (SELECT 1 FROM loyalty_memberactivity a
                            WHERE a.membership_id = u.membership_id
                              AND a.last_active_on >= %(since)s))
"""


def members_active(merchant: Merchant, since: date) -> int:
    """How many of the merchant's members awarded, spent or cancelled on `since` or later."""
    ((count,),) = rows(ACTIVE, {"merchant": merchant.pk, "since": since})
    return count
