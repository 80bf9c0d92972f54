"""The dashboard's totals (loyalty/sql/0024_totals.sql) against sums made here over the
entries and lots, before a fold, after one, and with entries past the mark. A fold runs
outside any transaction (loyalty/totals.py), so the tests that fold commit for real."""

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connections
from django.db.models import F
from django.utils import timezone

from loyalty.checks import totals_mismatches
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import (
    LOT_SPENDABLE,
    Award,
    DailyTotal,
    DueTotal,
    EntryKind,
    LedgerEntry,
    MemberActivity,
    TotalsMark,
)
from loyalty.services import award_cancel
from loyalty.totals import DayKey, daily_totals, due_totals, members_active, totals_fold
from tests.factories import MembershipFactory, StoreFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db(transaction=True)
DAY = datetime.timedelta(days=1)


def by_entries(merchant) -> Counter:
    zone = ZoneInfo(merchant.time_zone)
    sums: Counter = Counter()
    entries = LedgerEntry.objects.filter(membership__merchant=merchant)
    for entry in entries.select_related("award", "deduction"):
        purpose = entry.deduction.purpose if entry.deduction else None
        day = entry.created_at.astimezone(zone).date()
        sums[DayKey(day, entry.award.store_id, entry.kind, purpose)] += entry.delta
    return sums


def by_lots(merchant) -> Counter:
    sums: Counter = Counter()
    for lot in Award.objects.filter(LOT_SPENDABLE, membership__merchant=merchant):
        sums[lot.expiration_date] += lot.stamps_remaining
    return sums


def nonzero(sums: Counter) -> Counter:
    return Counter({key: value for key, value in sums.items() if value})


@pytest.fixture
def shop(tenant):
    """Lots at two stores over several days, a spend drawing on both, a cancel, an expiry."""
    now, today = timezone.now(), timezone.localdate()
    other_store = StoreFactory(merchant=tenant.merchant)
    member = tenant.member
    award_stamps(member, 5, store=tenant.store, expiration_date=today - DAY, now=now - 9 * DAY)
    award_stamps(member, 4, store=tenant.store, expiration_date=today + 3 * DAY, now=now - 3 * DAY)
    award_stamps(member, 6, store=other_store, expiration_date=today + 8 * DAY, now=now - 2 * DAY)
    cancelled = award_stamps(member, 2, store=other_store, now=now - DAY)
    stamps_expire_due(now=now)
    deduct_stamps(member, 7, now=now)  # 4 from the first store's lot, 3 from the other's
    award_cancel(
        merchant=tenant.merchant,
        user=None,
        award_id=cancelled.pk,
        now=now,
        actor=SYSTEM,
        membership_id=member.pk,
    )
    return tenant


class TestTotalsAgreeWithTheLedger:
    def test_unfolded_and_folded_entries_read_the_same(self, shop):
        first, last = timezone.localdate() - 30 * DAY, timezone.localdate()
        expected = by_entries(shop.merchant)
        assert len({key.store_id for key in expected}) == 2 and len(expected) >= 6

        assert not DailyTotal.objects.exists()
        assert nonzero(daily_totals(shop.merchant, first, last)) == nonzero(expected)
        assert nonzero(due_totals(shop.merchant)) == nonzero(by_lots(shop.merchant))

        assert totals_fold() == LedgerEntry.objects.count()
        assert TotalsMark.objects.get().folded_through == LedgerEntry.objects.latest("pk").pk
        assert nonzero(daily_totals(shop.merchant, first, last)) == nonzero(expected)
        assert nonzero(due_totals(shop.merchant)) == nonzero(by_lots(shop.merchant))
        assert list(totals_mismatches()) == []

    def test_a_fold_adds_to_what_an_earlier_fold_kept(self, shop):
        totals_fold()
        award_stamps(shop.member, 9, store=shop.store)
        assert totals_fold() == 1
        assert totals_fold() == 0

        today = timezone.localdate()
        assert nonzero(daily_totals(shop.merchant, today, today)) == nonzero(
            Counter({k: v for k, v in by_entries(shop.merchant).items() if k.day == today})
        )
        assert list(totals_mismatches()) == []

    def test_a_fold_takes_at_most_its_limit_and_the_next_carries_on(self, shop):
        count = LedgerEntry.objects.count()

        assert totals_fold(limit=2) == 2
        assert list(totals_mismatches()) == []  # half folded, half read past the mark
        assert totals_fold() == count - 2
        assert list(totals_mismatches()) == []

    def test_a_period_reads_only_its_days_and_its_merchant(self, shop, other_tenant):
        award_stamps(other_tenant.member, 50, store=other_tenant.store)
        totals_fold()
        today = timezone.localdate()

        sums = daily_totals(shop.merchant, today - 2 * DAY, today - DAY)

        assert {key.day for key in sums} <= {today - 2 * DAY, today - DAY}
        assert all(key.store_id != other_tenant.store.pk for key in sums)

    def test_a_fold_already_running_leaves_the_entries_to_it(self, shop):
        totals_fold(limit=1)
        holder = connections.create_connection("default")
        try:
            with holder.cursor() as cursor:  # a fold in progress holds the mark
                cursor.execute("BEGIN")
                cursor.execute("SELECT 1 FROM loyalty_totalsmark FOR UPDATE")

                assert totals_fold() is None

            assert TotalsMark.objects.get().folded_through == LedgerEntry.objects.earliest("pk").pk
            assert list(totals_mismatches()) == []
        finally:
            holder.close()

    def test_an_entry_still_being_written_is_not_marked_final(self, shop):
        """The mark waits for a moment with no write in flight; a till's open transaction
        makes that wait give up, and the entries stay past the mark."""
        writer = connections.create_connection("default")
        try:
            with writer.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    "INSERT INTO loyalty_ledgerentry (membership_id, award_id, kind, delta,"
                    " created_at) SELECT membership_id, id, 1, 1, now() FROM loyalty_award"
                    " WHERE membership_id = %s LIMIT 1",
                    [shop.member.pk],
                )

                assert totals_fold() == 0

            assert TotalsMark.objects.get().final_through == 0
        finally:
            writer.close()  # rolled back


class TestMembersActive:
    def test_the_latest_day_of_a_members_own_entries(self, tenant):
        now, today = timezone.now(), timezone.localdate()
        award_stamps(tenant.member, 3, store=tenant.store, now=now - 5 * DAY)
        assert members_active(tenant.merchant, today) == 0
        award_stamps(tenant.member, 3, store=tenant.store, now=now)
        award_stamps(tenant.member, 3, store=tenant.store, now=now - 9 * DAY)  # written late

        assert members_active(tenant.merchant, today) == 1  # past the mark
        totals_fold()
        assert members_active(tenant.merchant, today) == 1  # folded
        assert MemberActivity.objects.get(membership=tenant.member).last_active_on == today

    def test_folded_members_and_those_past_the_mark_are_counted_once_each(self, tenant):
        other = MembershipFactory(merchant=tenant.merchant)
        award_stamps(tenant.member, 3, store=tenant.store)
        totals_fold()
        award_stamps(tenant.member, 1, store=tenant.store)  # past the mark, already counted
        award_stamps(other, 1, store=tenant.store)  # past the mark, not yet

        assert members_active(tenant.merchant, timezone.localdate()) == 2

    def test_an_expiry_is_not_activity(self, tenant):
        lapsed = MembershipFactory(merchant=tenant.merchant)
        award_stamps(
            lapsed,
            2,
            store=tenant.store,
            expiration_date=timezone.localdate() - 2 * DAY,
            now=timezone.now() - 10 * DAY,
        )

        stamps_expire_due(now=timezone.now())

        assert LedgerEntry.objects.filter(membership=lapsed, kind=EntryKind.EXPIRY).exists()
        assert members_active(tenant.merchant, timezone.localdate() - 9 * DAY) == 0
        assert members_active(tenant.merchant, timezone.localdate() - 10 * DAY) == 1


class TestTotalsKeys:
    @pytest.mark.parametrize(
        "change", [{"expiration_date": datetime.date(2040, 1, 1)}, {"store": "other"}]
    )
    def test_a_lots_store_and_expiration_date_never_change(self, tenant, change):
        lot = award_stamps(tenant.member, 3, store=tenant.store)
        if change.get("store") == "other":
            change = {"store": StoreFactory(merchant=tenant.merchant)}

        with pytest.raises(IntegrityError, match="never change"):
            Award.objects.filter(pk=lot.pk).update(**change)


class TestTheAuditFindsAnyDrift:
    def test_a_daily_total_off_by_one(self, shop):
        totals_fold()
        DailyTotal.objects.filter(pk=DailyTotal.objects.earliest("pk").pk).update(stamps=99)

        (mismatch,) = totals_mismatches()
        assert mismatch.what.startswith("daily total") and mismatch.cached == 99

    def test_a_due_total_off(self, shop):
        totals_fold()
        row = DueTotal.objects.filter(stamps__gt=0).earliest("pk")
        DueTotal.objects.filter(pk=row.pk).update(stamps=row.stamps + 1)

        (mismatch,) = totals_mismatches()
        assert mismatch.what.startswith("due total") and mismatch.derived == row.stamps

    def test_an_entry_folded_twice(self, shop):
        totals_fold()
        TotalsMark.objects.update(folded_through=F("folded_through") - 1)

        kinds = {m.what.split(" (")[0] for m in totals_mismatches()}
        assert kinds == {"daily total", "due total"}

    def test_a_wrong_last_active_day(self, shop):
        totals_fold()
        MemberActivity.objects.filter(membership=shop.member).update(
            last_active_on=datetime.date(2001, 1, 1)
        )

        (mismatch,) = totals_mismatches()
        assert mismatch.what.startswith("membership last active") and mismatch.pk == shop.member.pk
