"""The ledger's running totals (loyalty/sql/0024_totals.sql): entries per merchant's day,
and stamps left per expiration date. A reader sums the folded totals and what is still
pending, so what it reads is exact whether or not a fold has run."""

from collections import Counter
from datetime import date
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Sum

from core.db import function_value
from loyalty.models import DailyTotal, DueTotal, Merchant, PendingTotal


class DayKey(NamedTuple):
    day: date
    store_id: int
    kind: int
    purpose: int | None


def totals_fold() -> int | None:
    """Moves the pending sums into the totals: how many it moved, or None when another fold
    is running (that one moves them)."""
    with transaction.atomic():  # the fold's advisory lock ends with it
        return function_value("stamps_fold_totals", [])


def daily_totals(merchant: Merchant, first_day: date, last_day: date) -> Counter[DayKey]:
    """The merchant's entries summed per day, lot's store, kind and spend purpose."""
    key = ("day", "store", "kind", "purpose")
    in_period = {"merchant": merchant, "day__gte": first_day, "day__lte": last_day}
    sums: Counter[DayKey] = Counter()
    for model in (DailyTotal, PendingTotal):
        rows = model.objects.filter(**in_period).values_list(*key).annotate(Sum("stamps"))
        for day, store_id, kind, purpose, stamps in rows.order_by():
            sums[DayKey(day, store_id, kind, purpose)] += stamps
    return sums


def members_active(merchant: Merchant, since: date) -> int:
    """How many of the merchant's members awarded, spent or cancelled on `since` or later."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBERS_ACTIVE, {"merchant": merchant.pk, "since": since})
        return cursor.fetchone()[0]


# The folded last active days on their index, plus the pending members not among them.
MEMBERS_ACTIVE = """
SELECT (SELECT count(*) FROM loyalty_memberactivity
         WHERE merchant_id = %(merchant)s AND last_active_on >= %(since)s)
     + (SELECT count(DISTINCT p.membership_id) FROM loyalty_pendingtotal p
         WHERE p.merchant_id = %(merchant)s AND p.day >= %(since)s
           AND p.membership_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM loyalty_memberactivity a
                            WHERE a.membership_id = p.membership_id
                              AND a.last_active_on >= %(since)s))
"""


def due_totals(merchant: Merchant) -> Counter[date]:
    """The stamps left in the merchant's lots, per expiration date."""
    sums: Counter[date] = Counter()
    for model in (DueTotal, PendingTotal):
        rows = model.objects.filter(merchant=merchant).values_list("expiration_date")
        for expiration_date, stamps in rows.annotate(Sum("stamps")).order_by():
            sums[expiration_date] += stamps
    return sums
