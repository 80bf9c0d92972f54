import datetime

import pytest
from django.utils import timezone

from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import LevelChange
from loyalty.services import award_cancel
from redemptions.services import redemption_create
from tests.factories import RewardFactory, award_stamps, deduct_stamps, redeemed

pytestmark = pytest.mark.django_db
URL = "/api/v3/activities/"


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def created(moment: datetime.datetime) -> dict:
    at = moment.astimezone(datetime.UTC).replace(microsecond=0)
    return {"created": at.isoformat(), "created_timestamp": int(at.timestamp())}


def page(tenant, **params) -> dict:
    response = tenant.client.get(URL, {"user": tenant.member.email} | params)
    assert response.status_code == 200, response.content
    return response.json()


def all_pages(tenant) -> list[list[int]]:
    pages, params = [], {}
    while True:
        body = page(tenant, **params)
        pages.append([activity["id"] for activity in body["activities"]])
        if not body["has_next"]:
            return pages
        params = {"older_than": body["activities"][-1]["created"]}


def awards_at(tenant, moments: list[datetime.datetime]) -> list[int]:
    return [award_stamps(tenant.member, 1, store=tenant.store, now=at).pk for at in moments]


class TestActivities:
    def test_lists_every_kind_of_history_newest_first(self, tenant):
        lapsed = award_stamps(
            tenant.member,
            4,
            store=tenant.store,
            expiration_date=timezone.localdate() - datetime.timedelta(days=6),
            now=ago(days=10),
        )
        stamps_expire_due(now=ago(days=4))
        award = award_stamps(tenant.member, 10, store=tenant.store, now=ago(days=3))
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

        body = page(tenant)

        store = {"id": tenant.store.pk, "name": tenant.store.name}
        assert body == {
            "activities": [
                {
                    "id": redemption.pk,
                    "type": 1,
                    "type_text": "Redemption",
                    "stamps": 5,
                    **created(redemption.created_at),
                    "redemption": {
                        "reward": "Scoop",
                        "reward_id": reward.pk,
                        "stamps": 5,
                        "status": 1,
                        "status_text": "Active",
                    },
                    "store": store,
                },
                {
                    "id": deduction.pk,
                    "type": 10,
                    "type_text": "Deduct Stamps",
                    "stamps": 3,
                    **created(deduction.created_at),
                    "stamps_deduction": {
                        "stamps": 3,
                        "notes": "test",
                        "status": 1,
                        "status_text": "Active",
                    },
                },
                {
                    "id": award.pk,
                    "type": 2,
                    "type_text": "Awarded Stamps",
                    "stamps": 10,
                    **created(award.created_at),
                    "award": {
                        "stamps": 10,
                        "notes": "",
                        "status": 1,
                        "status_text": "Active",
                        "expiration_date": award.expiration_date.isoformat(),
                    },
                    "store": store,
                },
                {
                    "id": lapsed.pk,
                    "type": 15,
                    "type_text": "Stamps Expired",
                    "stamps": 4,
                    **created(lapsed.entries.get(kind=5).created_at),
                    "expired_stamps": 4,
                    "award": {"id": lapsed.pk},
                },
                {
                    "id": lapsed.pk,
                    "type": 2,
                    "type_text": "Awarded Stamps",
                    "stamps": 4,
                    **created(lapsed.created_at),
                    "award": {
                        "stamps": 4,
                        "notes": "",
                        "status": 3,
                        "status_text": "Expired",
                        "expiration_date": lapsed.expiration_date.isoformat(),
                    },
                    "store": store,
                },
            ],
            "has_next": False,
        }

    def test_lists_an_upgrade_above_the_award_that_reached_it(self, tenant):
        award = award_stamps(tenant.member, 50, store=tenant.store, now=ago(days=1))
        upgrade = LevelChange.objects.get(membership=tenant.member)

        activities = page(tenant)["activities"]

        assert [(a["type"], a["id"]) for a in activities] == [(5, upgrade.pk), (2, award.pk)]
        assert activities[0] == {
            "id": upgrade.pk,
            "type": 5,
            "type_text": "Membership Upgrade",
            "stamps": 0,
            **created(upgrade.created_at),
            "membership": {
                "level": 200,
                "level_text": "Silver",
                "previous_level": 100,
                "previous_level_text": "Blue",
            },
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

        activities = page(tenant)["activities"]

        assert [(a["type"], a["id"]) for a in activities[:3]] == [
            (6, downgrade.pk),
            (5, upgrade.pk),
            (2, crossing.pk),
        ]
        assert activities[0] == {
            "id": downgrade.pk,
            "type": 6,
            "type_text": "Membership Downgrade",
            "stamps": 0,
            **created(downgrade.created_at),
            "membership": {
                "level": 100,
                "level_text": "Blue",
                "previous_level": 200,
                "previous_level_text": "Silver",
            },
        }

    def test_pages_level_changes_with_the_rest_of_the_history(self, tenant):
        moments = [ago(minutes=30 - i) for i in range(30)]
        for at in moments:
            award_stamps(tenant.member, 2, store=tenant.store, now=at)
        upgrade = LevelChange.objects.get(membership=tenant.member)

        pages, params = [], {}
        while True:
            body = page(tenant, **params)
            pages.append([(a["type"], a["id"]) for a in body["activities"]])
            if not body["has_next"]:
                break
            params = {"older_than": body["activities"][-1]["created"]}

        assert [len(listed) for listed in pages] == [20, 11]
        assert sum(pages, []).count((5, upgrade.pk)) == 1
        assert upgrade.created_at == moments[24]  # the 25th award of 2 reached 50

    def test_answers_an_empty_history(self, tenant):
        assert page(tenant) == {"activities": [], "has_next": False}

    def test_pages_20_at_a_time_from_the_last_created(self, tenant):
        ids = awards_at(tenant, [ago(minutes=25 - i) for i in range(25)])

        pages = all_pages(tenant)

        assert [len(ids_on_page) for ids_on_page in pages] == [20, 5]
        assert sum(pages, []) == ids[::-1]

    def test_never_splits_one_seconds_activities_across_pages(self, tenant):
        second = ago(hours=1).replace(microsecond=0)
        older = [second - datetime.timedelta(minutes=m) for m in (2, 1)]
        same_second = [second.replace(microsecond=ms) for ms in (100, 200, 300)]
        newer = [second + datetime.timedelta(minutes=m) for m in range(1, 19)]
        ids = awards_at(tenant, older + same_second + newer)

        pages = all_pages(tenant)

        assert [len(ids_on_page) for ids_on_page in pages] == [18, 5]
        assert sum(pages, []) == ids[::-1]

    def test_shows_a_whole_second_when_it_holds_more_than_a_page(self, tenant):
        second = ago(hours=1).replace(microsecond=0)
        ids = awards_at(
            tenant,
            [second - datetime.timedelta(minutes=1)]
            + [second.replace(microsecond=ms) for ms in range(1, 23)],
        )

        pages = all_pages(tenant)

        assert [len(ids_on_page) for ids_on_page in pages] == [22, 1]
        assert sum(pages, []) == ids[::-1]

    def test_takes_older_than_with_an_offset_or_z(self, tenant):
        first, _ = awards_at(tenant, [ago(hours=2), ago(hours=1)])
        cutoff = ago(minutes=90).astimezone(datetime.timezone(datetime.timedelta(hours=7)))

        with_offset = page(tenant, older_than=cutoff.isoformat())
        with_z = page(
            tenant, older_than=cutoff.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )

        assert [a["id"] for a in with_offset["activities"]] == [first]
        assert with_z == with_offset

    def test_refuses_an_older_than_that_is_not_a_datetime(self, tenant):
        response = tenant.client.get(URL, {"user": tenant.member.email, "older_than": "12345"})

        assert response.status_code == 400
        assert response.json()["error_code"] == "invalid"
        assert list(response.json()["errors"]) == ["older_than"]

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
