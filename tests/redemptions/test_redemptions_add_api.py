import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.checks import ledger_mismatches
from loyalty.models import (
    DeductionPurpose,
    EntryKind,
    LedgerEntry,
    Level,
    Membership,
    StampsDeduction,
)
from redemptions.models import Redemption, RedemptionStatus, Reward
from tests.factories import (
    RewardFactory,
    StoreFactory,
    award_stamps,
    deduct_stamps,
)

pytestmark = pytest.mark.django_db
URL = "/api/redemptions/add"
LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"


def legacy_errors(response):
    """The older shape: a fixed detail and a list of one-key {field: message} dicts."""
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"detail", "errors"}
    assert payload["detail"] == LEGACY_DETAIL
    assert isinstance(payload["errors"], list) and payload["errors"]
    for error in payload["errors"]:
        assert isinstance(error, dict) and len(error) == 1
        assert all(isinstance(message, str) for message in error.values())
    return {field: message for error in payload["errors"] for field, message in error.items()}


def state(member, reward):
    member = Membership.objects.get(pk=member.pk)
    return (
        member.stamps,
        Redemption.objects.count(),
        StampsDeduction.objects.count(),
        LedgerEntry.objects.count(),
        Reward.objects.get(pk=reward.pk).stock,
    )


def body_token_client():
    return APIClient()


class TestRedemptionsAdd:
    def test_answers_with_the_documented_body(self, tenant, refreshed):
        award_stamps(tenant.member, 70)
        reward = RewardFactory(
            merchant=tenant.merchant, name="Free Scoop of Ice Cream", stamps_to_redeem=10
        )

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        redemption = Redemption.objects.get(membership=tenant.member)
        assert response.status_code == 200
        assert response["Allow"] == "POST, OPTIONS"
        assert response.json() == {
            "customer": {"id": tenant.member.pk, "stamps_remaining": 60},
            "redemption": {
                "reward": "Free Scoop of Ice Cream",
                "id": redemption.pk,
                "stamps_used": 10,
            },
        }
        assert refreshed(tenant.member).stamps == 60

    def test_takes_the_token_from_the_json_body_as_the_seed_does(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)

        response = body_token_client().post(
            URL,
            {
                "token": tenant.key,
                "customer": tenant.member.email,
                "store": tenant.store.pk,
                "reward": reward.pk,
            },
            format="json",
        )

        assert response.status_code == 200
        assert response.json()["customer"]["stamps_remaining"] == 10

    def test_matches_the_customer_email_case_insensitively_as_in_the_seed_example(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        shouted = tenant.member.email.capitalize()

        response = tenant.post(
            URL, {"customer": shouted, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200
        assert response.json()["customer"]["id"] == tenant.member.pk

    @pytest.mark.parametrize("field", ["customer", "user"])
    @pytest.mark.parametrize("identify_by", ["email", "member_id", "pk"])
    def test_finds_the_customer_under_either_field_name_by_any_identifier(
        self, tenant, field, identify_by
    ):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)

        response = tenant.post(
            URL,
            {
                field: getattr(tenant.member, identify_by),
                "store": tenant.store.pk,
                "reward": reward.pk,
            },
        )

        assert response.status_code == 200
        assert response.json()["customer"] == {"id": tenant.member.pk, "stamps_remaining": 10}

    def test_spends_through_a_redemption_deduction_on_the_ledger(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=15)

        tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        redemption = Redemption.objects.get()
        assert (redemption.reward, redemption.store) == (reward, tenant.store)
        assert redemption.status == RedemptionStatus.ACTIVE
        assert redemption.stamps_used == 15
        assert redemption.deduction.purpose == DeductionPurpose.REDEMPTION
        assert redemption.deduction.stamps == 15
        spent = LedgerEntry.objects.filter(deduction=redemption.deduction, kind=EntryKind.SPEND)
        assert sum(entry.delta for entry in spent) == -15
        assert list(ledger_mismatches()) == []

    def test_takes_one_from_a_limited_stock(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant, stock=2)

        tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        reward.refresh_from_db()
        assert reward.stock == 1

    def test_redeems_at_a_store_the_reward_is_limited_to(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        reward.stores.add(tenant.store)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200

    def test_redeems_a_levelled_reward_once_the_level_is_reached(self, tenant):
        award_stamps(tenant.member, 60)
        silver = Level.objects.get(merchant=tenant.merchant, name="Silver")
        reward = RewardFactory(merchant=tenant.merchant, minimum_level=silver, stamps_to_redeem=60)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200
        assert response.json()["customer"]["stamps_remaining"] == 0

    def test_a_level_reached_is_kept_after_spending(self, tenant):
        award_stamps(tenant.member, 70)
        deduct_stamps(tenant.member, 60)
        silver = Level.objects.get(merchant=tenant.merchant, name="Silver")
        reward = RewardFactory(merchant=tenant.merchant, minimum_level=silver, stamps_to_redeem=10)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert response.status_code == 200


class TestRedemptionsAddRefusals:
    def test_answers_a_missing_reward_exactly_as_documented(self, tenant):
        award_stamps(tenant.member, 20)

        response = tenant.post(URL, {"customer": tenant.member.email, "store": tenant.store.pk})

        assert response.status_code == 400
        assert response["Allow"] == "POST, OPTIONS"
        assert response.json() == {
            "detail": LEGACY_DETAIL,
            "errors": [{"reward": "This field is required"}],
        }
        assert not Redemption.objects.exists()

    def test_asks_for_the_customer_when_neither_customer_nor_user_is_given(self, tenant):
        reward = RewardFactory(merchant=tenant.merchant)

        response = tenant.post(URL, {"store": tenant.store.pk, "reward": reward.pk})

        assert legacy_errors(response) == {"customer": "This field is required"}

    def test_lists_every_missing_field(self, tenant):
        response = tenant.post(URL, {"customer": tenant.member.email})

        assert legacy_errors(response) == {
            "store": "This field is required",
            "reward": "This field is required",
        }

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"store": "five"}, "store"),
            ({"store": 0}, "store"),
            ({"store": 2**63}, "store"),
            ({"reward": -1}, "reward"),
            ({"reward": 1.5}, "reward"),
            ({"reward": None}, "reward"),
            ({"customer": ""}, "customer"),
            ({"customer": None}, "customer"),
            ({"customer": {"email": "x"}}, "customer"),
            ({"customer": "c" * 255}, "customer"),
            ({"user": ["x"]}, "user"),
        ],
    )
    def test_refuses_malformed_fields_in_the_older_shape(self, tenant, change, field):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        body = {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        before = state(tenant.member, reward)

        response = tenant.post(URL, body | change)

        assert field in legacy_errors(response)
        assert state(tenant.member, reward) == before

    def test_refuses_when_the_customer_has_not_enough_stamps(self, tenant):
        award_stamps(tenant.member, 9)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10, stock=5)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        errors = legacy_errors(response)
        assert list(errors.values()) == ["Membership has insufficient stamps"]
        assert state(tenant.member, reward) == before

    def test_refuses_when_the_only_stamps_that_would_cover_it_have_expired(self, tenant):
        then = timezone.now() - datetime.timedelta(days=30)
        award_stamps(tenant.member, 50, expiration_date=timezone.localdate(then), now=then)
        award_stamps(tenant.member, 5)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert "Membership has insufficient stamps" in legacy_errors(response).values()
        assert state(tenant.member, reward) == before

    def test_refuses_an_inactive_reward(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant, is_active=False)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"reward": "Invalid reward"}
        assert state(tenant.member, reward) == before

    def test_refuses_another_merchants_reward(self, tenant, other_tenant):
        award_stamps(tenant.member, 20)
        theirs = RewardFactory(merchant=other_tenant.merchant, name="Their secret reward")
        before = state(tenant.member, theirs)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": theirs.pk}
        )

        assert legacy_errors(response) == {"reward": "Invalid reward"}
        assert "Their secret reward" not in response.content.decode()
        assert state(tenant.member, theirs) == before

    def test_refuses_an_unknown_reward(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL,
            {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk + 999},
        )

        assert legacy_errors(response) == {"reward": "Invalid reward"}
        assert state(tenant.member, reward) == before

    def test_refuses_another_merchants_store(self, tenant, other_tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL,
            {"customer": tenant.member.email, "store": other_tenant.store.pk, "reward": reward.pk},
        )

        assert legacy_errors(response) == {"store": "Invalid store"}
        assert state(tenant.member, reward) == before

    def test_refuses_an_inactive_store(self, tenant):
        award_stamps(tenant.member, 20)
        closed = StoreFactory(merchant=tenant.merchant, is_active=False)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": closed.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"store": "Invalid store"}
        assert state(tenant.member, reward) == before

    def test_refuses_a_customer_below_the_rewards_minimum_level(self, tenant):
        award_stamps(tenant.member, 49)
        silver = Level.objects.get(merchant=tenant.merchant, name="Silver")
        reward = RewardFactory(merchant=tenant.merchant, minimum_level=silver, stamps_to_redeem=5)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"reward": "This reward needs the Silver level"}
        assert state(tenant.member, reward) == before

    def test_refuses_a_reward_limited_to_other_stores(self, tenant):
        award_stamps(tenant.member, 20)
        elsewhere = StoreFactory(merchant=tenant.merchant)
        reward = RewardFactory(merchant=tenant.merchant)
        reward.stores.add(elsewhere)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"reward": "This reward cannot be redeemed at this store"}
        assert state(tenant.member, reward) == before

    def test_refuses_a_reward_whose_stock_is_exhausted(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant, stock=0)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"reward": "This reward is out of stock"}
        assert state(tenant.member, reward) == before

    def test_the_last_item_of_stock_goes_to_one_redemption_only(self, tenant):
        award_stamps(tenant.member, 50)
        reward = RewardFactory(merchant=tenant.merchant, stock=1)
        body = {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}

        first = tenant.post(URL, body)
        second = tenant.post(URL, body)

        assert first.status_code == 200
        assert legacy_errors(second) == {"reward": "This reward is out of stock"}
        assert Redemption.objects.count() == 1
        assert Reward.objects.get(pk=reward.pk).stock == 0

    def test_refuses_an_unknown_customer(self, tenant):
        reward = RewardFactory(merchant=tenant.merchant)

        response = tenant.post(
            URL, {"customer": "nobody@example.com", "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"customer": "Customer not found"}
        assert not Redemption.objects.exists()

    def test_refuses_another_merchants_customer(self, tenant, other_tenant):
        award_stamps(other_tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(other_tenant.member, reward)

        response = tenant.post(
            URL,
            {"customer": other_tenant.member.email, "store": tenant.store.pk, "reward": reward.pk},
        )

        assert legacy_errors(response) == {"customer": "Customer not found"}
        assert state(other_tenant.member, reward) == before

    def test_refuses_a_blocked_customer(self, tenant):
        award_stamps(tenant.member, 20)
        Membership.objects.filter(pk=tenant.member.pk).update(is_blocked=True)
        reward = RewardFactory(merchant=tenant.merchant, stock=3)
        before = state(tenant.member, reward)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"customer": "This membership is blocked"}
        assert state(tenant.member, reward) == before

    def test_a_blocked_customer_hears_of_the_block_before_the_rewards_level(self, tenant):
        """docs/ledger.md orders the refusals: the member's own state comes first."""
        award_stamps(tenant.member, 20)
        Membership.objects.filter(pk=tenant.member.pk).update(is_blocked=True)
        silver = Level.objects.get(merchant=tenant.merchant, name="Silver")
        reward = RewardFactory(merchant=tenant.merchant, minimum_level=silver, stamps_to_redeem=5)

        response = tenant.post(
            URL, {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk}
        )

        assert list(legacy_errors(response).values()) == ["This membership is blocked"]

    def test_refuses_a_digit_like_customer_without_a_server_error(self, tenant):
        reward = RewardFactory(merchant=tenant.merchant)

        response = tenant.post(
            URL, {"customer": "³", "store": tenant.store.pk, "reward": reward.pk}
        )

        assert legacy_errors(response) == {"customer": "Customer not found"}

    def test_refuses_a_wrong_token_in_the_body(self, tenant):
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(tenant.member, reward)

        response = body_token_client().post(
            URL,
            {
                "token": "not-a-real-token",
                "customer": tenant.member.email,
                "store": tenant.store.pk,
                "reward": reward.pk,
            },
            format="json",
        )

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token"}
        assert state(tenant.member, reward) == before

    def test_refuses_a_request_without_any_token_as_documented(self, tenant):
        reward = RewardFactory(merchant=tenant.merchant)

        response = body_token_client().post(
            URL,
            {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk},
            format="json",
        )

        assert response.status_code == 403
        assert response.json() == {"detail": "Authentication credentials were not provided."}
        assert not Redemption.objects.exists()

    def test_refuses_plain_http_as_documented(self, tenant, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        award_stamps(tenant.member, 20)
        reward = RewardFactory(merchant=tenant.merchant)
        before = state(tenant.member, reward)

        response = body_token_client().post(
            URL,
            {
                "token": tenant.key,
                "customer": tenant.member.email,
                "store": tenant.store.pk,
                "reward": reward.pk,
            },
            format="json",
        )

        assert response.status_code == 403
        assert response.json() == {"detail": "Please use https instead of http"}
        assert state(tenant.member, reward) == before
