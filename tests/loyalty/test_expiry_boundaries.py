"""One rule, tested at its edges on every path that reads or writes it: a lot's stamps can be
spent through its expiration date, in the merchant's time zone, and expire when that day is
over (docs/ledger.md). Each path is checked the day before, on the day and the day after,
for a merchant in UTC and one in Pacific/Kiritimati (UTC+14), where each moment below falls
on the next UTC date's morning in local time: a rule that read the server's UTC date would
be a day off there."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from loyalty.expiry import stamps_expire_due
from loyalty.models import Award, AwardStatus, EntryKind, LedgerEntry, Membership
from tests.conftest import Tenant
from tests.factories import RewardFactory, award_stamps

pytestmark = pytest.mark.django_db

EXPIRES = datetime.date(2031, 3, 10)
DAYS = {"before": -1, "on": 0, "after": 1}
ZONES = ["UTC", "Pacific/Kiritimati"]


def local_morning(zone: str, day: datetime.date) -> datetime.datetime:
    """09:00 on `day` in `zone`: in Kiritimati that is 19:00 UTC the day before."""
    return datetime.datetime.combine(day, datetime.time(9), tzinfo=ZoneInfo(zone))


@contextmanager
def clock(moment: datetime.datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture(params=ZONES)
def shop(request: pytest.FixtureRequest, tenant: Tenant) -> Tenant:
    tenant.merchant.time_zone = request.param
    tenant.merchant.save(update_fields=["time_zone"])
    return tenant


@pytest.fixture
def lot(shop: Tenant) -> Award:
    """10 stamps expiring on EXPIRES, given well before."""
    zone = shop.merchant.time_zone
    start = local_morning(zone, EXPIRES - datetime.timedelta(days=30))
    return award_stamps(shop.member, 10, store=shop.store, expiration_date=EXPIRES, now=start)


def moment(shop: Tenant, when: str) -> datetime.datetime:
    return local_morning(shop.merchant.time_zone, EXPIRES + datetime.timedelta(days=DAYS[when]))


def spendable_then(when: str) -> bool:
    return when != "after"


@pytest.mark.parametrize("when", DAYS)
class TestEveryPathAtTheBoundary:
    def test_a_deduction_can_spend_the_lot(self, shop: Tenant, lot: Award, when: str) -> None:
        with clock(moment(shop, when)):
            response = shop.post(
                "/api/memberships/deduct-stamps",
                {"user": shop.member.email, "stamps": 10, "notes": "n"},
            )

        assert (response.status_code == 200) == spendable_then(when), response.content

    def test_a_redemption_can_spend_the_lot(self, shop: Tenant, lot: Award, when: str) -> None:
        reward = RewardFactory(merchant=shop.merchant, stamps_to_redeem=10)

        with clock(moment(shop, when)):
            response = shop.post(
                "/api/redemptions/add",
                {"customer": shop.member.email, "store": shop.store.pk, "reward": reward.pk},
            )

        assert (response.status_code == 200) == spendable_then(when), response.content

    @pytest.mark.parametrize("spent", [4, 10], ids=["part", "all"])
    def test_a_cancelled_redemption_refunds_the_lot(
        self, shop: Tenant, lot: Award, when: str, spent: int
    ) -> None:
        """A lot the redemption emptied stays open with nothing left, so no write-off closes
        it first: the refund itself must know the lot's day is over."""
        reward = RewardFactory(merchant=shop.merchant, stamps_to_redeem=spent)
        with clock(moment(shop, "before")):
            redemption = shop.post(
                "/api/redemptions/add",
                {"customer": shop.member.email, "store": shop.store.pk, "reward": reward.pk},
            ).json()["redemption"]

        with clock(moment(shop, when)):
            response = shop.post("/api/redemptions/cancel", {"id": redemption["id"]})

        assert response.status_code == 200, response.content
        refunded = 10 if spendable_then(when) else 0
        assert Award.objects.get(pk=lot.pk).stamps_remaining == refunded
        assert response.json()["customer"]["stamps_remaining"] == refunded
        assert Membership.objects.get(pk=shop.member.pk).stamps == refunded

    def test_any_write_writes_the_lot_off_only_once_its_day_is_over(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        with clock(moment(shop, when)):
            response = shop.post(
                "/api/stamps/add",
                {"user": shop.member.email, "store": shop.store.pk, "number_of_stamps": 1},
            )

        assert response.status_code == 200
        expired = LedgerEntry.objects.filter(award=lot, kind=EntryKind.EXPIRY).exists()
        assert expired == (not spendable_then(when))
        assert response.json()["customer"]["stamps"] == (11 if spendable_then(when) else 1)

    def test_the_sweep_expires_the_lot_only_once_its_day_is_over(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        expired = stamps_expire_due(now=moment(shop, when))

        assert expired == (0 if spendable_then(when) else 10)
        status = Award.objects.get(pk=lot.pk).status
        assert status == (AwardStatus.ACTIVE if spendable_then(when) else AwardStatus.EXPIRED)
        assert Membership.objects.get(pk=shop.member.pk).stamps == (10 if status == 1 else 0)

    def test_a_write_off_beside_it_leaves_the_lot_through_its_day(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        """A member whose other lot is a day past its date is visited by the sweep on the
        lot's day; only the overdue lot goes."""
        zone = shop.merchant.time_zone
        older = award_stamps(
            shop.member,
            3,
            store=shop.store,
            expiration_date=EXPIRES + datetime.timedelta(days=DAYS[when] - 1),
            now=local_morning(zone, EXPIRES - datetime.timedelta(days=30)),
        )

        expired = stamps_expire_due(now=moment(shop, when))

        assert expired == (3 if spendable_then(when) else 13)
        assert Award.objects.get(pk=older.pk).status == AwardStatus.EXPIRED
        status = Award.objects.get(pk=lot.pk).status
        assert status == (AwardStatus.ACTIVE if spendable_then(when) else AwardStatus.EXPIRED)
        assert Membership.objects.get(pk=shop.member.pk).stamps == (10 if status == 1 else 0)

    def test_a_cancel_of_the_award_is_refused_once_its_day_is_over(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        with clock(moment(shop, when)):
            response = shop.post("/api/stamps/cancel", {"user": shop.member.email, "id": lot.pk})

        if spendable_then(when):
            assert response.status_code == 200, response.content
        else:
            assert response.json()["errors"] == {"id": "Award has expired"}

    @pytest.mark.parametrize(
        "path, read",
        [
            ("/api/memberships/status", lambda body: body["stamps"]),
            ("/api/v2/memberships/details", lambda body: body["membership"]["stamps"]),
            ("/api/rewards/", lambda body: body["customer"]["stamps_remaining"]),
        ],
    )
    def test_every_read_counts_the_lot_through_its_day(
        self, shop: Tenant, lot: Award, when: str, path: str, read
    ) -> None:
        with clock(moment(shop, when)):
            response = shop.client.get(path, {"user": shop.member.email, "store": shop.store.pk})

        assert response.status_code == 200, response.content
        assert read(response.json()) == (10 if spendable_then(when) else 0)

    def test_the_rewards_say_redeemable_through_the_lots_day(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        RewardFactory(merchant=shop.merchant, stamps_to_redeem=10)

        with clock(moment(shop, when)):
            body = shop.client.get(
                "/api/rewards/", {"user": shop.member.email, "store": shop.store.pk}
            ).json()

        assert [reward["redeemable"] for reward in body["rewards"]] == [spendable_then(when)]

    def test_the_expiration_journal_lists_the_lot_through_its_day(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        with clock(moment(shop, when)):
            body = shop.client.get(
                "/api/v2/expiration-journals/", {"user": shop.member.email}
            ).json()

        listed = [(row["id"], row["stamps_to_expire"]) for row in body["expiration_journals"]]
        assert listed == ([(lot.pk, 10)] if spendable_then(when) else [])

    def test_the_activities_show_the_expiry_only_once_the_day_is_over(
        self, shop: Tenant, lot: Award, when: str
    ) -> None:
        stamps_expire_due(now=moment(shop, when))

        with clock(moment(shop, when)):
            body = shop.client.get("/api/v3/activities/", {"user": shop.member.email}).json()

        expiries = [row for row in body["activities"] if row["type"] == 15]
        if spendable_then(when):
            assert expiries == []
        else:
            assert [(row["id"], row["expired_stamps"]) for row in expiries] == [
                (lot.pk * 16 + 15, 10)  # the lot's id and the type, as the README says
            ]


class TestTheDefaultExpirationDate:
    @pytest.mark.parametrize("zone", ZONES)
    def test_is_the_merchants_date_today_plus_its_validity(self, tenant: Tenant, zone: str) -> None:
        tenant.merchant.time_zone = zone
        tenant.merchant.stamps_validity_days = 30
        tenant.merchant.save(update_fields=["time_zone", "stamps_validity_days"])
        today = datetime.date(2031, 3, 10)

        with clock(local_morning(zone, today)):
            response = tenant.post(
                "/api/stamps/add",
                {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1},
            )

        award = Award.objects.get(pk=response.json()["award"]["id"])
        assert award.expiration_date == today + datetime.timedelta(days=30)
