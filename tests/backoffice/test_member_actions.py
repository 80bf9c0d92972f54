"""Award, deduct and redeem from a member's page: the API's services, made by the staff user."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice.models import Role
from loyalty.checks import ledger_mismatches
from loyalty.models import Award, LedgerEntry, Membership, StampsDeduction
from redemptions.models import Redemption
from tests.backoffice.helpers import populate_merchant, staff_client

pytestmark = pytest.mark.django_db


def action_url(member, action: str) -> str:
    return reverse(f"admin:loyalty_membership_{action}", args=[member.pk])


def stamps_of(member) -> int:
    return Membership.objects.get(pk=member.pk).stamps


def user_of(client: Client):
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


@pytest.fixture
def shop():
    return populate_merchant("ZZA")


class TestAward:
    def test_awards_through_the_ledger_as_the_staff_user_with_the_reason(self, shop):
        client = staff_client(shop, Role.MANAGER)
        before = stamps_of(shop.member)

        response = client.post(
            action_url(shop.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 7, "reason": "birthday"},
        )

        assert response.status_code == 302
        assert stamps_of(shop.member) == before + 7
        award = Award.objects.of_member(shop.member).order_by("-pk").first()
        assert (award.number_of_stamps, award.notes) == (7, "birthday")
        assert award.created_by_staff == user_of(client)
        assert list(ledger_mismatches()) == []

    def test_the_expiry_defaults_as_the_api_does(self, shop):
        client = staff_client(shop, Role.OWNER)
        expected = timezone.localdate() + datetime.timedelta(
            days=shop.merchant.stamps_validity_days
        )

        page = client.get(action_url(shop.member, "award"))
        client.post(
            action_url(shop.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 2, "reason": "r"},
        )

        assert page.context["form"]["expiration_date"].value() == expected
        award = Award.objects.of_member(shop.member).order_by("-pk").first()
        assert award.expiration_date == expected

    def test_a_reason_is_required_and_nothing_changes_without_it(self, shop):
        client = staff_client(shop, Role.OWNER)
        before = stamps_of(shop.member), LedgerEntry.objects.count()

        response = client.post(
            action_url(shop.member, "award"), {"store": shop.store.pk, "number_of_stamps": 2}
        )

        assert response.status_code == 400
        assert "reason" in response.context["form"].errors
        assert (stamps_of(shop.member), LedgerEntry.objects.count()) == before

    def test_a_cashier_awards_at_their_store_only(self, shop):
        client = staff_client(shop, Role.CASHIER)
        before = stamps_of(shop.member)

        elsewhere = client.post(
            action_url(shop.member, "award"),
            {"store": shop.other_store.pk, "number_of_stamps": 5, "reason": "r"},
        )
        here = client.post(
            action_url(shop.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 5, "reason": "r"},
        )

        assert elsewhere.status_code == 400
        assert "store" in elsewhere.context["form"].errors
        assert here.status_code == 302
        assert stamps_of(shop.member) == before + 5

    def test_an_award_over_the_merchants_cap_is_refused_on_the_form(self, shop):
        client = staff_client(shop, Role.OWNER)
        before = stamps_of(shop.member)

        response = client.post(
            action_url(shop.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 10**6, "reason": "r"},
        )

        assert response.status_code == 400
        assert response.context["form"].non_field_errors()
        assert stamps_of(shop.member) == before


class TestDeductAndRedeem:
    def test_deducts_as_the_staff_user(self, shop):
        client = staff_client(shop, Role.CASHIER)
        before = stamps_of(shop.member)

        response = client.post(action_url(shop.member, "deduct"), {"stamps": 4, "reason": "fix"})

        assert response.status_code == 302
        assert stamps_of(shop.member) == before - 4
        deduction = StampsDeduction.objects.order_by("-pk").first()
        assert (deduction.notes, deduction.created_by_staff) == ("fix", user_of(client))
        assert list(ledger_mismatches()) == []

    def test_deducting_more_than_held_is_refused_and_changes_nothing(self, shop):
        client = staff_client(shop, Role.OWNER)
        before = stamps_of(shop.member), LedgerEntry.objects.count()

        response = client.post(
            action_url(shop.member, "deduct"), {"stamps": 10**5, "reason": "fix"}
        )

        assert response.status_code == 400
        assert response.context["form"].non_field_errors()
        assert (stamps_of(shop.member), LedgerEntry.objects.count()) == before

    def test_redeems_a_reward_at_the_cashiers_store(self, shop):
        client = staff_client(shop, Role.CASHIER)
        before = stamps_of(shop.member)

        response = client.post(
            action_url(shop.member, "redeem"), {"store": shop.store.pk, "reward": shop.reward.pk}
        )

        assert response.status_code == 302
        assert stamps_of(shop.member) == before - shop.reward.stamps_to_redeem
        redemption = Redemption.objects.order_by("-pk").first()
        assert redemption.deduction.created_by_staff == user_of(client)


class TestWhoMayAct:
    def test_another_merchants_member_is_not_found_and_unchanged(self, shop):
        other = populate_merchant("ZZB")
        client = staff_client(shop, Role.OWNER)
        before = stamps_of(other.member)

        response = client.post(
            action_url(other.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 5, "reason": "r"},
        )

        assert response.status_code == 404
        assert stamps_of(other.member) == before

    def test_a_staff_user_without_a_role_is_refused(self, shop):
        user = get_user_model().objects.create_user("nobody", password="x" * 20, is_staff=True)
        client = Client()
        client.force_login(user)

        response = client.get(action_url(shop.member, "award"))

        assert response.status_code == 403

    def test_the_members_page_links_the_actions_and_shows_who_awarded(self, shop):
        client = staff_client(shop, Role.MANAGER)
        client.post(
            action_url(shop.member, "award"),
            {"store": shop.store.pk, "number_of_stamps": 3, "reason": "r"},
        )

        page = client.get(reverse("admin:loyalty_membership_change", args=[shop.member.pk]))

        body = page.content.decode()
        for action in ("award", "deduct", "redeem"):
            assert action_url(shop.member, action) in body
        assert user_of(client).username in body
