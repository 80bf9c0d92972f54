"""The ledger audit behind `manage.py check_ledger`: every cached figure is re-derived
from the append-only entries, and each disagreement is reported."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from loyalty.models import (
    Award,
    AwardStatus,
    DeductionStatus,
    LedgerEntry,
    LevelChange,
    Membership,
    StampsDeduction,
)


@dataclass(frozen=True)
class Mismatch:
    what: str
    pk: int
    cached: int
    derived: int

    def __str__(self) -> str:
        return f"{self.what} {self.pk}: cached {self.cached}, ledger says {self.derived}"


def subtotal(queryset: QuerySet, group: str, expression: object) -> Coalesce:
    rows = queryset.values(group).annotate(total=Sum(expression)).values("total")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def balance_mismatches() -> Iterator[Mismatch]:
    """One pass over the ledger, summed by member and joined to the members: the entries
    have no index by member (models.LedgerEntry.membership) for a look-up per member."""
    members, entries = Membership._meta.db_table, LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.stamps, COALESCE(e.total, 0) FROM {members} m"
            f" LEFT JOIN (SELECT membership_id, SUM(delta) AS total FROM {entries}"
            "  GROUP BY membership_id) e ON e.membership_id = m.id"
            " WHERE m.stamps <> COALESCE(e.total, 0) OR m.stamps < 0 ORDER BY m.id"
        )
        for pk, cached, derived in cursor.fetchall():
            yield Mismatch("membership stamps vs entries", pk, cached, derived)


def membership_mismatches() -> Iterator[Mismatch]:
    """Joined and summed in one pass: lots have no index by member over all of them
    (models.Award.membership) for a look-up per member."""
    yield from balance_mismatches()
    members = Membership.objects.annotate(
        by_lots=Coalesce(
            Sum("awards__stamps_remaining", filter=Q(awards__status=AwardStatus.ACTIVE)), 0
        ),
        by_awards=Coalesce(
            Sum("awards__number_of_stamps", filter=~Q(awards__status=AwardStatus.CANCELED)), 0
        ),
    ).order_by("pk")
    for m in members.filter(~Q(stamps=F("by_lots")) | ~Q(qualifying_stamps=F("by_awards"))):
        if m.stamps != m.by_lots:
            yield Mismatch("membership stamps vs lots", m.pk, m.stamps, m.by_lots)
        if m.qualifying_stamps != m.by_awards:
            yield Mismatch("membership qualifying stamps", m.pk, m.qualifying_stamps, m.by_awards)


def level_mismatches() -> Iterator[Mismatch]:
    """A member's latest level change names the level they hold. A member with no change
    (never moved, or moved only before changes were recorded) has nothing to compare.
    Latest by id, not by time: `now` is the caller's, while a member's changes are written
    under their row lock, so ids follow the order of the moves."""
    latest = LevelChange.objects.filter(membership=OuterRef("pk")).order_by("-pk")
    members = Membership.objects.annotate(
        by_changes=Subquery(latest.values("to_level")[:1])
    ).filter(by_changes__isnull=False)
    for m in members.exclude(level=F("by_changes")):
        yield Mismatch("membership level vs level changes", m.pk, m.level_id, m.by_changes)


def lot_mismatches() -> Iterator[Mismatch]:
    entries = LedgerEntry.objects.filter(award=OuterRef("pk"))
    lots = Award.objects.annotate(by_entries=subtotal(entries, "award", "delta"))
    for lot in lots.exclude(stamps_remaining=F("by_entries")):
        yield Mismatch("award remaining", lot.pk, lot.stamps_remaining, lot.by_entries)


def deduction_mismatches() -> Iterator[Mismatch]:
    entries = LedgerEntry.objects.filter(deduction=OuterRef("pk"))
    spends = StampsDeduction.objects.filter(status=DeductionStatus.ACTIVE).annotate(
        drawn=-subtotal(entries, "deduction", "delta")
    )
    for spend in spends.exclude(stamps=F("drawn")):
        yield Mismatch("deduction drawn from lots", spend.pk, spend.stamps, spend.drawn)


# The totals (loyalty/sql/0024_totals.sql), with the entries past their mark, against sums
# made here: the entries per merchant's day, the lots' stamps per expiration date, and each
# member's latest day of activity.
DAILY_TOTALS_AUDIT = """
WITH kept AS (
    SELECT merchant_id, day, store_id, kind, purpose, stamps FROM loyalty_dailytotal
    UNION ALL
    SELECT merchant_id, day, store_id, kind, purpose, delta FROM stamps_entry_facts_unfolded()
), cached AS (  -- purpose 0: none (a join never matches NULLs)
    SELECT merchant_id, day, store_id, kind, coalesce(purpose, 0) AS purpose,
           sum(stamps)::bigint AS stamps
      FROM kept GROUP BY 1, 2, 3, 4, 5
), derived AS (
    SELECT merchant_id, day, store_id, kind, coalesce(purpose, 0) AS purpose,
           sum(delta)::bigint AS stamps
      FROM stamps_entry_facts GROUP BY 1, 2, 3, 4, 5
)
SELECT format('daily total (merchant %s, %s, kind %s, purpose %s) of store', merchant_id,
              day, kind, purpose),
       store_id, coalesce(c.stamps, 0), coalesce(d.stamps, 0)
  FROM cached c FULL JOIN derived d USING (merchant_id, day, store_id, kind, purpose)
 WHERE coalesce(c.stamps, 0) <> coalesce(d.stamps, 0)
 ORDER BY 1, 2
"""
DUE_TOTALS_AUDIT = """
WITH kept AS (
    SELECT merchant_id, store_id, expiration_date, stamps FROM loyalty_duetotal
    UNION ALL
    SELECT merchant_id, store_id, expiration_date, delta FROM stamps_entry_facts_unfolded()
), cached AS (
    SELECT merchant_id, store_id, expiration_date, sum(stamps)::bigint AS stamps FROM kept
     GROUP BY merchant_id, store_id, expiration_date
), derived AS (
    SELECT m.merchant_id, a.store_id, a.expiration_date, sum(a.stamps_remaining)::bigint AS stamps
      FROM loyalty_award a JOIN loyalty_membership m ON m.id = a.membership_id
     GROUP BY m.merchant_id, a.store_id, a.expiration_date
)
SELECT format('due total (merchant %s, expiring %s) of store', merchant_id, expiration_date),
       store_id, coalesce(c.stamps, 0), coalesce(d.stamps, 0)
  FROM cached c FULL JOIN derived d USING (merchant_id, store_id, expiration_date)
 WHERE coalesce(c.stamps, 0) <> coalesce(d.stamps, 0)
 ORDER BY 1, 2
"""
ACTIVITY_AUDIT = """
WITH kept AS (
    SELECT membership_id, last_active_on AS day FROM loyalty_memberactivity
    UNION ALL
    SELECT membership_id, day FROM stamps_entry_facts_unfolded() WHERE by_member
), cached AS (
    SELECT membership_id, max(day) AS day FROM kept GROUP BY membership_id
), derived AS (
    SELECT membership_id, max(day) AS day FROM stamps_entry_facts WHERE by_member
     GROUP BY membership_id
)
SELECT 'membership last active on (days since 2000-01-01, -1: never)', membership_id,
       coalesce(c.day - date '2000-01-01', -1), coalesce(d.day - date '2000-01-01', -1)
  FROM cached c FULL JOIN derived d USING (membership_id)
 WHERE c.day IS DISTINCT FROM d.day
 ORDER BY membership_id
"""


def totals_mismatches() -> Iterator[Mismatch]:
    with connection.cursor() as cursor:
        for audit in (DAILY_TOTALS_AUDIT, DUE_TOTALS_AUDIT, ACTIVITY_AUDIT):
            cursor.execute(audit)
            for what, pk, cached, derived in cursor.fetchall():
                yield Mismatch(what, pk, cached, derived)


def ledger_mismatches() -> Iterator[Mismatch]:
    yield from membership_mismatches()
    yield from level_mismatches()
    yield from lot_mismatches()
    yield from deduction_mismatches()
    yield from totals_mismatches()
