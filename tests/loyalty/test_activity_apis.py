import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Channel, LevelChange
from loyalty.services import award_cancel
from redemptions.services import redemption_create
from tests.factories import (
    MembershipFactory,
    RewardFactory,
    award_stamps,
    deduct_stamps,
    redeemed,
)
from transactions.models import Transaction
from transactions.services import Purchase, transaction_create

pytestmark = pytest.mark.django_db
URL = "/api/v3/activities/"


def activity_id(source_id: int, activity_type: int) -> int:
    """The documented rule (README): the source row's id and the type in one integer."""
    return source_id * 16 + activity_type


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def unix(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def page(tenant, **params) -> list[dict]:
    response = tenant.client.get(URL, {"user": tenant.member.email} | params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == ["activities"]
    return body["activities"]


def all_pages(tenant) -> list[list[int]]:
    """Pages as a client walks them: until one holds fewer than 20."""
    pages, params = [], {}
    while True:
        activities = page(tenant, **params)
        pages.append([activity["id"] for activity in activities])
        if len(activities) < 20:
            return pages
        params = {"older_than": activities[-1]["id"]}


def awards_at(tenant, moments: list[datetime.datetime]) -> list[int]:
    awards = [award_stamps(tenant.member, 1, store=tenant.store, now=at) for at in moments]
    return [activity_id(award.pk, 2) for award in awards]


def purchase(tenant, *, now: datetime.datetime) -> Transaction:
    recorded = transaction_create(
        merchant=tenant.merchant,
        purchase=Purchase(
            store=tenant.store.pk,
            invoice_number="INV-17",
            total_value=Decimal(20),
            number_of_people=1,
            created=now,
            user=tenant.member.email,
            stamps=2,
        ),
        now=now,
        actor=SYSTEM,
    )
    return Transaction.objects.get(pk=recorded.id)


class TestActivities:
    def test_lists_every_kind_of_history_newest_first_in_the_documented_shapes(self, tenant):
        tenant.store.name, tenant.store.display_name = "A301", "Ace Karawaci"
        tenant.store.save()
        lapsed = award_stamps(
            tenant.member,
            4,
            store=tenant.store,
            expiration_date=timezone.localdate() - datetime.timedelta(days=6),
            now=ago(days=10),
        )
        stamps_expire_due(now=ago(days=4))
        award = award_stamps(tenant.member, 10, store=tenant.store, now=ago(days=3), notes="Promo")
        deduction = deduct_stamps(tenant.member, 3, now=ago(days=2))
        reward = RewardFactory(merchant=tenant.merchant, name="Scoop", stamps_to_redeem=5)
        redemption = redeemed(
            redemption_create(
                merchant=tenant.merchant,
                customer=tenant.member.email,
                store_id=tenant.store.pk,
                reward_id=reward.pk,
                now=ago(days=1),
                actor=SYSTEM,
            )
        )
        sale = purchase(tenant, now=ago(hours=1))

        activities = page(tenant)

        merchant = {"id": tenant.merchant.pk, "name": tenant.merchant.name}
        store = {"name": "A301", "display_name": "Ace Karawaci"}
        expiry = lapsed.entries.get(kind=5)
        assert activities == [
            {
                "id": activity_id(sale.pk, 0),
                "type": 0,
                "created": unix(sale.recorded_at),
                "notes": "",
                "merchant": merchant,
                "store": store,
                "transaction": {
                    "stamps": 2,
                    "name": f"Transaction #{sale.pk}",
                    "status": 1,
                    "invoice_number": "INV-17",
                    "channel": "POS",
                },
            },
            {
                "id": activity_id(redemption.pk, 1),
                "type": 1,
                "created": unix(redemption.created_at),
                "notes": "",
                "merchant": merchant,
                "store": store,
                "redemption": {"stamps": 5, "name": "Scoop", "status": 1, "channel": "POS"},
            },
            {
                "id": activity_id(deduction.pk, 10),
                "type": 10,
                "created": unix(deduction.created_at),
                "notes": "test",
                "stamps_deduction": {"stamps": 3, "status": 1, "notes": "test"},
            },
            {
                "id": activity_id(award.pk, 2),
                "type": 2,
                "created": unix(award.created_at),
                "notes": "Promo",
                "merchant": merchant,
                "award": {"stamps": 10, "name": "Promo", "status": 1},
            },
            {
                "id": activity_id(lapsed.pk, 15),
                "type": 15,
                "created": unix(expiry.created_at),
                "expired_stamps": 4,
                "notes": "",
            },
            {
                "id": activity_id(lapsed.pk, 2),
                "type": 2,
                "created": unix(lapsed.created_at),
                "notes": "",
                "merchant": merchant,
                "award": {"stamps": 4, "name": "Awarded Stamps", "status": 1},
            },
        ]

    def test_a_store_without_a_display_name_shows_its_name(self, tenant):
        purchase(tenant, now=ago(minutes=1))

        [activity] = page(tenant)

        assert activity["store"] == {"name": tenant.store.name, "display_name": tenant.store.name}

    def test_shows_the_channel_a_purchase_was_made_on(self, tenant):
        sale = purchase(tenant, now=ago(minutes=1))
        Transaction.objects.filter(pk=sale.pk).update(channel=Channel.GOFOOD)

        [activity] = page(tenant)

        assert activity["transaction"]["channel"] == "GoFood"

    def test_shows_cancels_as_status_2(self, tenant):
        award = award_stamps(tenant.member, 5, store=tenant.store, now=ago(days=1))
        award_cancel(
            merchant=tenant.merchant,
            user=tenant.member.email,
            award_id=award.pk,
            now=ago(hours=1),
            actor=SYSTEM,
        )

        [activity] = page(tenant)

        assert activity["award"]["status"] == 2

    def test_lists_an_upgrade_above_the_award_that_reached_it(self, tenant):
        award = award_stamps(tenant.member, 50, store=tenant.store, now=ago(days=1))
        upgrade = LevelChange.objects.get(membership=tenant.member)

        activities = page(tenant)

        assert [a["id"] for a in activities] == [
            activity_id(upgrade.pk, 5),
            activity_id(award.pk, 2),
        ]
        assert activities[0] == {
            "id": activity_id(upgrade.pk, 5),
            "type": 5,
            "created": unix(upgrade.created_at),
            "notes": "Upgraded to Silver",
            "stamps": 0,
        }

    def test_lists_a_downgrade_when_a_cancel_drops_below_the_level(self, tenant):
        award_stamps(tenant.member, 20, store=tenant.store, now=ago(days=3))
        crossing = award_stamps(tenant.member, 40, store=tenant.store, now=ago(days=2))
        award_cancel(
            merchant=tenant.merchant,
            user=tenant.member.email,
            award_id=crossing.pk,
            now=ago(days=1),
            actor=SYSTEM,
        )
        upgrade, downgrade = LevelChange.objects.filter(membership=tenant.member).order_by("pk")

        activities = page(tenant)

        assert [a["id"] for a in activities[:3]] == [
            activity_id(downgrade.pk, 6),
            activity_id(upgrade.pk, 5),
            activity_id(crossing.pk, 2),
        ]
        assert activities[0] == {
            "id": activity_id(downgrade.pk, 6),
            "type": 6,
            "created": unix(downgrade.created_at),
            "notes": "Downgraded to Blue",
        }

    def test_shows_only_this_members_history(self, tenant):
        neighbour = MembershipFactory(merchant=tenant.merchant)
        award_stamps(neighbour, 60, store=tenant.store)  # an award and an upgrade
        deduct_stamps(neighbour, 5)
        mine = award_stamps(tenant.member, 1, store=tenant.store)

        assert [a["id"] for a in page(tenant)] == [activity_id(mine.pk, 2)]

    def test_answers_an_empty_history(self, tenant):
        assert page(tenant) == []

    def test_pages_20_at_a_time_after_the_last_id(self, tenant):
        ids = awards_at(tenant, [ago(minutes=45 - i) for i in range(45)])

        pages = all_pages(tenant)

        assert [len(ids_on_page) for ids_on_page in pages] == [20, 20, 5]
        assert sum(pages, []) == ids[::-1]

    def test_pages_activities_of_one_moment_without_skipping_or_repeating(self, tenant):
        same_moment = ago(hours=1)
        ids = awards_at(tenant, [same_moment] * 23 + [ago(minutes=1)] * 2)

        pages = all_pages(tenant)

        assert [len(ids_on_page) for ids_on_page in pages] == [20, 5]
        assert sorted(sum(pages, [])) == sorted(ids)
        assert sum(pages, [])[:2] == sorted(ids[-2:], reverse=True)

    def test_pages_level_changes_with_the_rest_of_the_history(self, tenant):
        moments = [ago(minutes=30 - i) for i in range(30)]
        for at in moments:
            award_stamps(tenant.member, 2, store=tenant.store, now=at)
        upgrade = LevelChange.objects.get(membership=tenant.member)

        pages = all_pages(tenant)

        assert [len(listed) for listed in pages] == [20, 11]
        assert sum(pages, []).count(activity_id(upgrade.pk, 5)) == 1
        assert upgrade.created_at == moments[24]  # the 25th award of 2 reached 50

    @pytest.mark.parametrize("older_than", ["yesterday", "0", "-3"])
    def test_refuses_an_older_than_that_is_not_an_id(self, tenant, older_than):
        response = tenant.client.get(URL, {"user": tenant.member.email, "older_than": older_than})

        assert response.status_code == 400
        assert response.json()["error_code"] in ("invalid", "min_value")
        assert list(response.json()["errors"]) == ["older_than"]

    def test_refuses_an_older_than_from_another_members_history(self, tenant):
        neighbour = MembershipFactory(merchant=tenant.merchant)
        theirs = award_stamps(neighbour, 1, store=tenant.store)

        response = tenant.client.get(
            URL, {"user": tenant.member.email, "older_than": activity_id(theirs.pk, 2)}
        )

        assert response.status_code == 400
        assert response.json()["errors"] == {"older_than": "Not an activity of this member"}

    def test_refuses_a_missing_user_in_the_field_map_shape(self, tenant):
        response = tenant.client.get(URL)

        assert response.status_code == 400
        assert response.json() == {
            "detail": "user: This field is required.",
            "error_message": "user: This field is required.",
            "error_code": "required",
            "errors": {"user": "This field is required."},
        }

    def test_never_shows_another_merchants_member(self, tenant, other_tenant):
        award_stamps(other_tenant.member, 5)

        response = tenant.client.get(URL, {"user": other_tenant.member.email})

        assert response.status_code == 400
        assert response.json()["error_code"] == "invalid_data"

    def test_refuses_a_merchant_id_other_than_the_tokens(self, tenant, other_tenant):
        response = tenant.client.get(
            URL, {"user": tenant.member.email, "merchant": other_tenant.merchant.pk}
        )

        assert response.status_code == 400
        assert response.json()["errors"] == {
            "merchant": "Does not match the merchant of this token."
        }
