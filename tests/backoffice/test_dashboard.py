"""Every figure of the dashboard agrees with sums over the ledger's own rows."""

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.models import Role
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import (
    Award,
    DeductionPurpose,
    EntryKind,
    LedgerEntry,
    Membership,
)
from loyalty.services import award_cancel
from redemptions.models import Redemption
from redemptions.services import redemption_cancel, redemption_create
from tests.backoffice.helpers import operator_client, populate_merchant, staff_client
from tests.factories import MembershipFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def activity(shop) -> None:
    """Stamps issued, spent, returned, cancelled and expired on several days at two stores."""
    now = timezone.now()
    second = MembershipFactory(merchant=shop.merchant)
    award_stamps(second, 20, store=shop.other_store, now=now - 3 * DAY)
    award_stamps(second, 9, store=shop.store, now=now - 40 * DAY)  # before the period
    late = award_stamps(second, 6, store=shop.store, now=now - 2 * DAY)
    award_cancel(
        merchant=shop.merchant,
        user=None,
        award_id=late.pk,
        now=now - DAY,
        actor=SYSTEM,
        membership_id=second.pk,
    )
    deduct_stamps(second, 4, now=now - DAY)
    redeemed = redemption_create(
        merchant=shop.merchant,
        customer=second.email,
        store_id=shop.store.pk,
        reward_id=shop.reward.pk,
        now=now - DAY,
        actor=SYSTEM,
    )
    redemption_cancel(merchant=shop.merchant, redemption_id=redeemed.id, now=now, actor=SYSTEM)
    award_stamps(
        second, 8, store=shop.store, expiration_date=timezone.localdate() - DAY, now=now - 5 * DAY
    )
    award_stamps(second, 11, store=shop.store, expiration_date=timezone.localdate() + 10 * DAY)
    lapsed = MembershipFactory(merchant=shop.merchant)  # only an expiry in the period
    award_stamps(
        lapsed,
        3,
        store=shop.store,
        expiration_date=timezone.localdate() - 2 * DAY,
        now=now - 40 * DAY,
    )
    stamps_expire_due(now=now)


def from_the_ledger(merchant, first_day: datetime.date) -> dict:
    """The figures computed here from each entry, independently of the dashboard's queries."""
    zone = ZoneInfo(merchant.time_zone)
    totals: Counter = Counter()
    daily: Counter = Counter()
    per_store: Counter = Counter()
    active = set()
    entries = LedgerEntry.objects.filter(membership__merchant=merchant).select_related(
        "award", "deduction"
    )
    for entry in entries:
        day = entry.created_at.astimezone(zone).date()
        if day < first_day:
            continue
        if entry.kind != EntryKind.EXPIRY:  # an expiry is not the member's doing
            active.add(entry.membership_id)
        if entry.kind == EntryKind.SPEND:
            purpose = entry.deduction.purpose
            name = "redeemed" if purpose == DeductionPurpose.REDEMPTION else "deducted"
        else:
            name = {
                EntryKind.AWARD: "issued",
                EntryKind.AWARD_CANCEL: "cancelled",
                EntryKind.EXPIRY: "expired",
                EntryKind.REFUND: "returned",
            }.get(entry.kind)
        if name:
            totals[name] += abs(entry.delta)
            daily[(name, day)] += abs(entry.delta)
            per_store[(entry.award.store_id, name)] += abs(entry.delta)
    return {"totals": totals, "daily": daily, "per_store": per_store, "active": active}


class TestDashboardFigures:
    def test_every_figure_matches_the_ledger(self):
        shop = populate_merchant("ZZA")
        activity(shop)
        populate_merchant("ZZB")  # another merchant's activity counts nowhere
        client = staff_client(shop, Role.OWNER)

        response = client.get(reverse("admin:index"), {"days": 30})

        board = response.context["board"]
        first_day = board.period.first_day
        assert board.period.last_day - first_day == 29 * DAY
        expected = from_the_ledger(shop.merchant, first_day)
        assert board.totals() == {name: expected["totals"][name] for name in board.totals()}
        for name, days in board.daily.items():
            for day, stamps in days.items():
                assert stamps == expected["daily"][(name, day)], (name, day)
        for store_id, figures in board.per_store.items():
            for name, stamps in figures.items():
                assert stamps == expected["per_store"][(store_id, name)], (store_id, name)
        assert board.members_active == len(expected["active"])
        members = Membership.objects.filter(merchant=shop.merchant)
        assert board.members_total == members.count()
        assert board.members_joined == members.count()  # all joined today
        assert board.outstanding == sum(
            e.delta for e in LedgerEntry.objects.filter(membership__merchant=shop.merchant)
        )
        soon = timezone.localdate() + 30 * DAY
        assert board.expiring_soon == sum(
            a.stamps_remaining
            for a in Award.objects.filter(membership__merchant=shop.merchant)
            if a.status == 1 and a.stamps_remaining > 0 and a.expiration_date <= soon
        )
        assert expected["totals"]["expired"] == 8 + 3  # the activity did reach every figure
        assert expected["totals"]["returned"] > 0 and expected["totals"]["cancelled"] == 6

    def test_redemptions_by_reward_count_the_active_ones_in_the_period(self):
        shop = populate_merchant("ZZA")
        activity(shop)
        client = staff_client(shop, Role.MANAGER)

        board = client.get(reverse("admin:index")).context["board"]

        active = Redemption.objects.filter(membership__merchant=shop.merchant, status=1)
        assert board.redemptions_by_reward == [
            {
                "reward__name": shop.reward.name,
                "count": active.count(),
                "stamps": sum(r.stamps_used for r in active),
            }
        ]

    def test_the_page_draws_the_charts_as_svg(self):
        shop = populate_merchant("ZZA")
        client = staff_client(shop, Role.CASHIER)

        body = client.get(reverse("admin:index")).content.decode()

        dashboard = body.split('id="dashboard"')[1].split("By store")[0]
        assert dashboard.count('<svg class="bo-chart"') == 6
        assert "http" not in dashboard  # nothing is loaded from elsewhere


class TestDashboardPeriodAndMerchant:
    def test_a_bad_period_is_a_400_with_the_reason(self):
        client = staff_client(populate_merchant("ZZA"), Role.OWNER)

        response = client.get(reverse("admin:index"), {"days": "0"})

        assert response.status_code == 400
        assert "greater than or equal to 1" in response.content.decode()

    def test_the_operator_switches_between_merchants(self):
        first, second = populate_merchant("ZZA"), populate_merchant("ZZB")
        client = operator_client()

        shown = [
            client.get(reverse("admin:index"), {"merchant": shop.merchant.pk}).context["board"]
            for shop in (first, second)
        ]

        assert [board.merchant for board in shown] == [first.merchant, second.merchant]

    def test_a_shorter_period_counts_fewer_days(self):
        shop = populate_merchant("ZZA")
        activity(shop)
        client = staff_client(shop, Role.OWNER)

        board = client.get(reverse("admin:index"), {"days": 2}).context["board"]

        assert len(board.period.days) == 2
        expected = from_the_ledger(shop.merchant, board.period.first_day)
        assert board.totals()["issued"] == expected["totals"]["issued"]
