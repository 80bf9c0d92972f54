import datetime
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import Level
from redemptions.models import Redemption, Reward
from tests.factories import MembershipFactory, RewardFactory, StoreFactory, award_stamps

pytestmark = pytest.mark.django_db
URL = "/api/rewards/"
REDEEM = "/api/redemptions/add"
LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"


def hours(count: int) -> datetime.timedelta:
    return datetime.timedelta(hours=count)


def listed(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {reward["name"]: reward for reward in response.json()["rewards"]}


def redeemable(tenant, **params) -> dict[str, bool]:
    query = {"store": tenant.store.pk, "user": tenant.member.email} | params
    return {
        name: reward["redeemable"] for name, reward in listed(tenant.client.get(URL, query)).items()
    }


def listed_error(response) -> dict[str, str]:
    """The older list shape the rewards endpoint answers in, as {field: message}."""
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"] == LEGACY_DETAIL
    assert all(len(error) == 1 for error in payload["errors"])
    return {field: message for error in payload["errors"] for field, message in error.items()}


class TestRewardsList:
    def test_answers_with_the_documented_body_without_a_user(self, tenant):
        gold = Level.objects.get(merchant=tenant.merchant, name="Gold")
        reward = RewardFactory(
            merchant=tenant.merchant,
            name="Nasi Lemak",
            code="A003",
            description="With sambal",
            stamps_to_redeem=120,
            minimum_level=gold,
            image_url="https://example.com/nasi.png",
            landscape_url="https://example.com/nasi-wide.png",
            terms="Dine-in only",
            price="25000.00",
            merchant_code="SKU-9",
            extra_data={"SKU": "A003SKU"},
        )

        response = tenant.client.get(URL, {"store": tenant.store.pk})

        assert response.status_code == 200
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response.json() == {
            "rewards": [
                {
                    "stamps_to_redeem": 120,
                    "image_url": "https://example.com/nasi.png",
                    "landscape_url": "https://example.com/nasi-wide.png",
                    "id": reward.pk,
                    "membership": "Gold",
                    "name": "Nasi Lemak",
                    "description": "With sambal",
                    "price": 25000,
                    "extra_data": {"SKU": "A003SKU"},
                    "merchant_code": "SKU-9",
                    "is_visible": True,
                    "terms": "Dine-in only",
                    "code": "A003",
                    "type": 1,
                }
            ],
            "vouchers": [],
        }

    def test_adds_redeemable_and_the_customer_when_a_user_is_given(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant, name="Mee Goreng", stamps_to_redeem=20)

        response = APIClient().get(
            URL,
            {
                "token": tenant.key,
                "merchant": tenant.merchant.pk,
                "store": tenant.store.pk,
                "user": tenant.member.member_id,
            },
        )

        assert response.json() == {
            "rewards": [
                {
                    "stamps_to_redeem": 20,
                    "image_url": "",
                    "landscape_url": None,
                    "id": reward.pk,
                    "membership": "Blue",  # no minimum: the lowest level may redeem it
                    "name": "Mee Goreng",
                    "description": "",
                    "price": None,
                    "extra_data": {},
                    "merchant_code": None,
                    "redeemable": True,
                    "is_visible": True,
                    "terms": "",
                    "code": "",
                    "type": 1,
                }
            ],
            "vouchers": [],
            "customer": {
                "id": tenant.member.pk,
                "stamps": 20,
                "membership_status": "Blue",
                "stamps_remaining": 20,
                "status": "Blue",
            },
        }

    def test_a_price_with_a_fraction_is_a_fractional_number(self, tenant):
        RewardFactory(merchant=tenant.merchant, name="Tea", price="1.50")

        assert listed(tenant.client.get(URL, {"store": tenant.store.pk}))["Tea"]["price"] == 1.5

    def test_pages_after_the_last_reward_given(self, tenant):
        for name, cost in [("A", 5), ("B", 10), ("C", 10), ("D", 20)]:
            RewardFactory(merchant=tenant.merchant, name=name, stamps_to_redeem=cost)
        ids = {reward.name: reward.pk for reward in Reward.objects.all()}

        def page(**params):
            query = {"store": tenant.store.pk, "per_page": 2} | params
            return list(listed(tenant.client.get(URL, query)))

        assert page() == ["A", "B"]
        assert page(last_reward_id=ids["B"]) == ["C", "D"]
        assert page(last_reward_id=ids["D"]) == []

    def test_keeps_to_the_store_when_asked(self, tenant):
        elsewhere = StoreFactory(merchant=tenant.merchant)
        RewardFactory(merchant=tenant.merchant, name="Everywhere")
        RewardFactory(merchant=tenant.merchant, name="Here").stores.add(tenant.store)
        RewardFactory(merchant=tenant.merchant, name="There").stores.add(elsewhere)
        query = {"store": tenant.store.pk}

        every = listed(tenant.client.get(URL, query))
        here = listed(tenant.client.get(URL, query | {"only_redeemable_in_this_store": "true"}))

        assert set(every) == {"Everywhere", "Here", "There"}
        assert set(here) == {"Everywhere", "Here"}

    def test_lists_the_cheapest_first_hidden_ones_included(self, tenant):
        RewardFactory(merchant=tenant.merchant, name="Dear", stamps_to_redeem=30)
        RewardFactory(merchant=tenant.merchant, name="Cheap", stamps_to_redeem=5, is_visible=False)

        rewards = tenant.client.get(URL, {"store": tenant.store.pk}).json()["rewards"]

        assert [(r["name"], r["is_visible"]) for r in rewards] == [("Cheap", False), ("Dear", True)]

    def test_lists_only_active_rewards_inside_their_window(self, tenant):
        now = timezone.now()
        RewardFactory(merchant=tenant.merchant, name="Always")
        RewardFactory(
            merchant=tenant.merchant, name="Open", starts_at=now - hours(1), ends_at=now + hours(1)
        )
        RewardFactory(merchant=tenant.merchant, name="Retired", is_active=False)
        RewardFactory(merchant=tenant.merchant, name="Not yet", starts_at=now + hours(1))
        RewardFactory(merchant=tenant.merchant, name="Over", ends_at=now - hours(1))

        names = listed(tenant.client.get(URL, {"store": tenant.store.pk}))

        assert set(names) == {"Always", "Open"}

    def test_says_which_rewards_the_member_could_redeem_at_the_store(self, tenant):
        award_stamps(tenant.member, 60)  # Silver
        elsewhere = StoreFactory(merchant=tenant.merchant)
        silver = Level.objects.get(merchant=tenant.merchant, name="Silver")
        gold = Level.objects.get(merchant=tenant.merchant, name="Gold")
        RewardFactory(merchant=tenant.merchant, name="Affordable", stamps_to_redeem=60)
        RewardFactory(merchant=tenant.merchant, name="Too dear", stamps_to_redeem=61)
        RewardFactory(merchant=tenant.merchant, name="Silver", minimum_level=silver)
        RewardFactory(merchant=tenant.merchant, name="Gold", minimum_level=gold)
        RewardFactory(merchant=tenant.merchant, name="In stock", stock=1)
        RewardFactory(merchant=tenant.merchant, name="Sold out", stock=0)
        RewardFactory(merchant=tenant.merchant, name="Here").stores.add(tenant.store)
        RewardFactory(merchant=tenant.merchant, name="Elsewhere").stores.add(elsewhere)

        assert redeemable(tenant) == {
            "Affordable": True,
            "Too dear": False,
            "Silver": True,
            "Gold": False,
            "In stock": True,
            "Sold out": False,
            "Here": True,
            "Elsewhere": False,
        }

    def test_does_not_count_stamps_past_their_date(self, tenant):
        award_stamps(tenant.member, 5)
        award_stamps(
            tenant.member,
            10,
            expiration_date=timezone.localdate() - datetime.timedelta(days=1),
            now=timezone.now() - datetime.timedelta(days=3),
        )
        RewardFactory(merchant=tenant.merchant, name="Ten", stamps_to_redeem=10)

        response = tenant.client.get(URL, {"store": tenant.store.pk, "user": tenant.member.email})

        assert response.json()["customer"]["stamps_remaining"] == 5
        assert listed(response)["Ten"]["redeemable"] is False

    def test_a_blocked_member_can_redeem_nothing(self, tenant):
        blocked = MembershipFactory(merchant=tenant.merchant)
        award_stamps(blocked, 50)
        blocked.is_blocked = True
        blocked.save()
        RewardFactory(merchant=tenant.merchant, name="Cheap", stamps_to_redeem=1)

        assert redeemable(tenant, user=blocked.email) == {"Cheap": False}

    def test_what_it_lists_as_redeemable_the_till_can_redeem(self, tenant):
        award_stamps(tenant.member, 10)
        reward = RewardFactory(merchant=tenant.merchant, name="Scoop", stamps_to_redeem=10)
        assert redeemable(tenant) == {"Scoop": True}

        response = tenant.post(
            REDEEM, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200

    def test_never_lists_another_merchants_rewards(self, tenant, other_tenant):
        RewardFactory(merchant=other_tenant.merchant, name="Their secret")

        response = tenant.client.get(URL, {"store": tenant.store.pk})

        assert response.json() == {"rewards": [], "vouchers": []}

    def test_takes_the_store_as_store_id_as_the_python_client_sends_it(self, tenant):
        RewardFactory(merchant=tenant.merchant, name="Cheap", stamps_to_redeem=1)
        award_stamps(tenant.member, 1, store=tenant.store)

        response = tenant.client.get(URL, {"store_id": tenant.store.pk, "user": tenant.member.pk})

        assert listed(response)["Cheap"]["redeemable"] is True

    def test_store_wins_over_store_id(self, tenant, other_tenant):
        query = {"store": tenant.store.pk, "store_id": other_tenant.store.pk}

        assert tenant.client.get(URL, query).status_code == 200

    def test_refuses_another_merchants_member(self, tenant, other_tenant):
        response = tenant.client.get(
            URL, {"store": tenant.store.pk, "user": other_tenant.member.email}
        )

        assert listed_error(response) == {"user": "User not found"}

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({}, {"store": "This field is required"}),
            ({"store": "one"}, {"store": "A valid integer is required"}),
            ({"store": 10**12}, {"store": "Invalid store"}),
            ({"store_id": "one"}, {"store_id": "A valid integer is required"}),
            ({"store_id": 10**12}, {"store": "Invalid store"}),
            (
                {"store": "S", "merchant": 10**12},
                {"merchant": "Does not match the merchant of this token"},
            ),
            ({"store": "S", "user": "nobody@example.com"}, {"user": "User not found"}),
            (
                {"store": "S", "last_reward_id": 10**12},
                {"last_reward_id": "Not a reward of this merchant"},
            ),
            (
                {"store": "S", "per_page": 0},
                {"per_page": "Ensure this value is greater than or equal to 1"},
            ),
            (
                {"store": "S", "channel": 7},
                {"channel": "Ensure this value is less than or equal to 6"},
            ),
        ],
    )
    def test_refuses_bad_input_in_the_documented_list_shape(self, tenant, params, error):
        query = {key: tenant.store.pk if value == "S" else value for key, value in params.items()}

        assert listed_error(tenant.client.get(URL, query)) == error

    def test_refuses_another_merchants_store(self, tenant, other_tenant):
        response = tenant.client.get(URL, {"store": other_tenant.store.pk})

        assert listed_error(response) == {"store": "Invalid store"}

    def test_refuses_a_request_without_credentials(self, tenant, anonymous):
        assert anonymous.get(URL, {"store": tenant.store.pk}).status_code == 403


class TestRedeemingOutsideTheWindow:
    @pytest.mark.parametrize(
        ("window", "message"),
        [
            ({"starts_at": hours(1)}, "This reward is not available yet"),
            ({"ends_at": hours(-1)}, "This reward is no longer available"),
        ],
    )
    def test_is_refused(self, tenant, window, message):
        award_stamps(tenant.member, 50)
        now = timezone.now()
        reward = RewardFactory(
            merchant=tenant.merchant, **{key: now + delta for key, delta in window.items()}
        )

        response = tenant.post(
            REDEEM, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 400
        assert response.json() == {"detail": LEGACY_DETAIL, "errors": [{"reward": message}]}
        assert not Redemption.objects.exists()

    @pytest.mark.parametrize(
        ("edge", "listed_then"), [("starts_at", True), ("ends_at", False)], ids=["start", "end"]
    )
    def test_opens_at_its_start_and_closes_at_its_end(self, tenant, edge, listed_then):
        """The window is [starts_at, ends_at): at the very moment it ends it is over."""
        award_stamps(tenant.member, 50)
        at = timezone.now() + hours(2)
        reward = RewardFactory(merchant=tenant.merchant, name="Edge", **{edge: at})

        with mock.patch("django.utils.timezone.now", return_value=at):
            names = listed(tenant.client.get(URL, {"store": tenant.store.pk}))
            response = tenant.post(
                REDEEM,
                {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk},
            )

        assert ("Edge" in names) == listed_then
        assert (response.status_code == 200) == listed_then, response.content
        assert Redemption.objects.exists() == listed_then

    def test_is_allowed_inside_it(self, tenant):
        award_stamps(tenant.member, 50)
        now = timezone.now()
        reward = RewardFactory(
            merchant=tenant.merchant, starts_at=now - hours(1), ends_at=now + hours(1)
        )

        response = tenant.post(
            REDEEM, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200
