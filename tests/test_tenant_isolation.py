"""Merchant A's key never reaches merchant B's members, stores, awards or rewards."""

from dataclasses import dataclass

import pytest

from loyalty.models import Award, AwardStatus, EmailOutbox, LedgerEntry, Membership, StampsDeduction
from redemptions.models import Redemption, Reward
from tests.conftest import Tenant
from tests.factories import MembershipFactory, RewardFactory, award_stamps

pytestmark = pytest.mark.django_db
IDENTIFIERS = ["email", "member_id", "pk"]


@dataclass
class Holdings:
    """What each merchant has that a request could touch."""

    award: Award
    reward: Reward


def holdings(tenant: Tenant) -> Holdings:
    award_stamps(tenant.member, 40, store=tenant.store)
    award = award_stamps(tenant.member, 5, store=tenant.store)
    tenant.store.name = f"{tenant.merchant.name} secret store"
    tenant.store.save()
    reward = RewardFactory(
        merchant=tenant.merchant, name=f"{tenant.merchant.name} secret reward", stamps_to_redeem=2
    )
    return Holdings(award=award, reward=reward)


def written() -> tuple:
    return (
        list(Award.objects.order_by("pk").values_list("status", "stamps_remaining")),
        LedgerEntry.objects.count(),
        StampsDeduction.objects.count(),
        Redemption.objects.count(),
        EmailOutbox.objects.count(),
        list(Membership.objects.order_by("pk").values_list("stamps", "qualifying_stamps")),
        list(Reward.objects.order_by("pk").values_list("stock", flat=True)),
    )


def secrets_of(tenant: Tenant, held: Holdings) -> list[str]:
    member = Membership.objects.get(pk=tenant.member.pk)
    return [
        member.email,
        member.member_id,
        member.name,
        member.referral_code,
        tenant.merchant.name,
        tenant.store.name,
        held.reward.name,
    ]


def assert_refused_without_leaking(response, tenant: Tenant, held: Holdings) -> None:
    assert response.status_code != 200
    assert 400 <= response.status_code < 500
    body = response.content.decode()
    for secret in secrets_of(tenant, held):
        assert secret not in body, secret


def identify(tenant: Tenant, by: str) -> str:
    return str(getattr(tenant.member, by))


class TestAnotherMerchantsMembers:
    @pytest.mark.parametrize("by", IDENTIFIERS)
    def test_cannot_award_stamps_to_them(self, tenant, other_tenant, by):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/stamps/add",
            {"user": identify(other_tenant, by), "store": tenant.store.pk, "number_of_stamps": 5},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    @pytest.mark.parametrize("by", IDENTIFIERS)
    def test_cannot_cancel_their_awards(self, tenant, other_tenant, by):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/stamps/cancel", {"user": identify(other_tenant, by), "id": theirs.award.pk}
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert Award.objects.get(pk=theirs.award.pk).status == AwardStatus.ACTIVE
        assert written() == before

    @pytest.mark.parametrize("by", IDENTIFIERS)
    def test_cannot_deduct_their_stamps(self, tenant, other_tenant, by):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/memberships/deduct-stamps",
            {"user": identify(other_tenant, by), "stamps": 1, "notes": "n"},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    @pytest.mark.parametrize("by", IDENTIFIERS)
    @pytest.mark.parametrize("field", ["customer", "user"])
    def test_cannot_redeem_for_them(self, tenant, other_tenant, by, field):
        mine = holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/redemptions/add",
            {field: identify(other_tenant, by), "store": tenant.store.pk, "reward": mine.reward.pk},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    def test_a_shared_email_reaches_only_the_callers_own_member(self, tenant, other_tenant):
        holdings(tenant)
        twin = MembershipFactory(merchant=other_tenant.merchant, email=tenant.member.email)
        award_stamps(twin, 10)

        response = tenant.post(
            "/api/memberships/deduct-stamps",
            {"user": tenant.member.email, "stamps": 1, "notes": "n"},
        )

        assert response.json()["membership"]["id"] == tenant.member.pk
        assert Membership.objects.get(pk=twin.pk).stamps == 10
        assert not StampsDeduction.objects.filter(membership=twin).exists()

    @pytest.mark.parametrize("theirs_first", [True, False], ids=["theirs-older", "ours-older"])
    def test_a_shared_email_finds_our_member_whichever_joined_first(
        self, tenant, other_tenant, theirs_first
    ):
        def join(merchant):
            return MembershipFactory(merchant=merchant, email="shared@example.com")

        if theirs_first:
            twin, ours = join(other_tenant.merchant), join(tenant.merchant)
        else:
            ours, twin = join(tenant.merchant), join(other_tenant.merchant)

        response = tenant.post(
            "/api/stamps/add",
            {"user": "shared@example.com", "store": tenant.store.pk, "number_of_stamps": 3},
        )

        assert response.status_code == 200, response.content
        assert response.json()["customer"]["id"] == ours.pk
        assert Membership.objects.get(pk=twin.pk).stamps == 0

    def test_a_shared_member_id_reaches_only_the_callers_own_member(self, tenant, other_tenant):
        holdings(tenant)
        twin = MembershipFactory(merchant=other_tenant.merchant, member_id=tenant.member.member_id)
        award_stamps(twin, 10)

        response = tenant.post(
            "/api/stamps/add",
            {"user": tenant.member.member_id, "store": tenant.store.pk, "number_of_stamps": 3},
        )

        assert response.json()["customer"]["id"] == tenant.member.pk
        assert Membership.objects.get(pk=twin.pk).stamps == 10

    def test_their_member_id_that_matches_one_of_our_ids_does_not_reach_them(
        self, tenant, other_tenant
    ):
        holdings(tenant)
        theirs = holdings(other_tenant)
        Membership.objects.filter(pk=other_tenant.member.pk).update(member_id=str(tenant.member.pk))
        before_theirs = Membership.objects.get(pk=other_tenant.member.pk).stamps

        response = tenant.post(
            "/api/memberships/deduct-stamps",
            {"user": str(tenant.member.pk), "stamps": 1, "notes": "n"},
        )

        assert response.json()["membership"]["id"] == tenant.member.pk
        assert Membership.objects.get(pk=other_tenant.member.pk).stamps == before_theirs
        assert theirs.reward.name not in response.content.decode()


class TestAnotherMerchantsStoresAwardsAndRewards:
    def test_cannot_award_stamps_at_their_store(self, tenant, other_tenant):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/stamps/add",
            {"user": tenant.member.email, "store": other_tenant.store.pk, "number_of_stamps": 5},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert response.json()["error_code"] == "invalid_store"
        assert written() == before

    def test_cannot_cancel_their_award_in_our_members_name(self, tenant, other_tenant):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/stamps/cancel", {"user": tenant.member.email, "id": theirs.award.pk}
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert response.status_code == 404
        assert written() == before

    def test_cannot_redeem_at_their_store(self, tenant, other_tenant):
        mine = holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/redemptions/add",
            {
                "customer": tenant.member.email,
                "store": other_tenant.store.pk,
                "reward": mine.reward.pk,
            },
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    def test_cannot_redeem_their_reward(self, tenant, other_tenant):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/redemptions/add",
            {"customer": tenant.member.email, "store": tenant.store.pk, "reward": theirs.reward.pk},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    def test_cannot_redeem_their_reward_even_when_it_lists_our_store(self, tenant, other_tenant):
        holdings(tenant)
        theirs = holdings(other_tenant)
        theirs.reward.stores.add(tenant.store)
        before = written()

        response = tenant.post(
            "/api/redemptions/add",
            {"customer": tenant.member.email, "store": tenant.store.pk, "reward": theirs.reward.pk},
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    def test_everything_of_theirs_at_once_is_refused(self, tenant, other_tenant):
        holdings(tenant)
        theirs = holdings(other_tenant)
        before = written()

        response = tenant.post(
            "/api/redemptions/add",
            {
                "customer": other_tenant.member.email,
                "store": other_tenant.store.pk,
                "reward": theirs.reward.pk,
            },
        )

        assert_refused_without_leaking(response, other_tenant, theirs)
        assert written() == before

    def test_their_own_key_still_works_on_the_same_requests(self, tenant, other_tenant):
        """The refusals above come from the key's merchant, not from the requests."""
        holdings(tenant)
        theirs = holdings(other_tenant)

        responses = [
            other_tenant.post(
                "/api/stamps/add",
                {
                    "user": other_tenant.member.email,
                    "store": other_tenant.store.pk,
                    "number_of_stamps": 5,
                },
            ),
            other_tenant.post(
                "/api/memberships/deduct-stamps",
                {"user": other_tenant.member.member_id, "stamps": 1, "notes": "n"},
            ),
            other_tenant.post(
                "/api/redemptions/add",
                {
                    "customer": str(other_tenant.member.pk),
                    "store": other_tenant.store.pk,
                    "reward": theirs.reward.pk,
                },
            ),
            other_tenant.post(
                "/api/stamps/cancel", {"user": other_tenant.member.email, "id": theirs.award.pk}
            ),
        ]

        assert [response.status_code for response in responses] == [200, 200, 200, 200]
