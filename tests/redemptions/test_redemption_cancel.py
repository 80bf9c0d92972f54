import datetime

import pytest
from django.utils import timezone

from core.errors import DomainError
from loyalty.checks import ledger_mismatches
from loyalty.ledger import SYSTEM
from loyalty.models import Award, Membership
from loyalty.refusals import LedgerRefusal
from redemptions.models import RedemptionStatus, Reward
from redemptions.services import redemption_cancel, redemption_create
from tests.factories import RewardFactory, award_stamps, redeemed

pytestmark = pytest.mark.django_db


def redeem(tenant, reward, now=None):
    return redeemed(
        redemption_create(
            merchant=tenant.merchant,
            customer=tenant.member.email,
            store_id=tenant.store.pk,
            reward_id=reward.pk,
            now=now or timezone.now(),
            actor=SYSTEM,
        )
    )


class TestRedemptionCancel:
    def test_gives_the_stamps_back_to_the_lots_they_came_from(self, tenant):
        first = award_stamps(tenant.member, 4, store=tenant.store)
        second = award_stamps(
            tenant.member,
            10,
            store=tenant.store,
            expiration_date=timezone.localdate() + datetime.timedelta(days=900),
        )
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=6))

        redemption_cancel(
            merchant=tenant.merchant, redemption_id=redemption.pk, now=timezone.now(), actor=SYSTEM
        )

        assert Award.objects.get(pk=first.pk).stamps_remaining == 4
        assert Award.objects.get(pk=second.pk).stamps_remaining == 10
        assert Membership.objects.get(pk=tenant.member.pk).stamps == 14
        assert list(ledger_mismatches()) == []

    def test_an_already_expired_lot_stays_expired(self, tenant):
        today = timezone.localdate()
        expiring = award_stamps(tenant.member, 5, store=tenant.store, expiration_date=today)
        award_stamps(
            tenant.member,
            5,
            store=tenant.store,
            expiration_date=today + datetime.timedelta(days=30),
        )
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=8))
        two_days_later = timezone.now() + datetime.timedelta(days=2)

        redemption_cancel(
            merchant=tenant.merchant, redemption_id=redemption.pk, now=two_days_later, actor=SYSTEM
        )

        assert Membership.objects.get(pk=tenant.member.pk).stamps == 5
        assert Award.objects.get(pk=expiring.pk).stamps_remaining == 0
        assert list(ledger_mismatches()) == []

    def test_returns_the_reward_to_a_limited_stock(self, tenant):
        award_stamps(tenant.member, 10, store=tenant.store)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5, stock=1)
        redemption = redeem(tenant, reward)

        redemption_cancel(
            merchant=tenant.merchant, redemption_id=redemption.pk, now=timezone.now(), actor=SYSTEM
        )

        assert Reward.objects.get(pk=reward.pk).stock == 1

    def test_refuses_a_second_cancel(self, tenant):
        award_stamps(tenant.member, 10, store=tenant.store)
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5))
        redemption_cancel(
            merchant=tenant.merchant, redemption_id=redemption.pk, now=timezone.now(), actor=SYSTEM
        )

        with pytest.raises(DomainError, match="already canceled"):
            redemption_cancel(
                merchant=tenant.merchant,
                redemption_id=redemption.pk,
                now=timezone.now(),
                actor=SYSTEM,
            )

        assert Membership.objects.get(pk=tenant.member.pk).stamps == 10
        assert redemption.__class__.objects.get(pk=redemption.pk).status == (
            RedemptionStatus.CANCELED
        )

    def test_cannot_see_another_merchants_redemption(self, tenant, other_tenant):
        award_stamps(tenant.member, 10, store=tenant.store)
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5))

        with pytest.raises(LedgerRefusal, check=lambda error: error.status_code == 404):
            redemption_cancel(
                merchant=other_tenant.merchant,
                redemption_id=redemption.pk,
                now=timezone.now(),
                actor=SYSTEM,
            )


class TestRedemptionsCancelApi:
    def test_answers_in_the_documented_shape(self, tenant):
        award_stamps(tenant.member, 12, store=tenant.store)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5)
        redemption_id = tenant.post(
            "/api/redemptions/add",
            {"customer": tenant.member.email, "store": tenant.store.pk, "reward": reward.pk},
        ).json()["redemption"]["id"]

        response = tenant.post("/api/redemptions/cancel", {"id": redemption_id})

        assert response.status_code == 200
        assert response.json() == {
            "redemption": {"id": redemption_id, "status": "Canceled"},
            "customer": {"status": "Blue", "id": tenant.member.pk, "stamps_remaining": 12},
        }

    @pytest.mark.parametrize("flag", [True, False, "true"])
    def test_takes_create_replacement_voucher_as_a_boolean(self, tenant, flag):
        award_stamps(tenant.member, 12, store=tenant.store)
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5))

        response = tenant.post(
            "/api/redemptions/cancel", {"id": redemption.pk, "create_replacement_voucher": flag}
        )

        assert response.status_code == 200
        redemption.refresh_from_db()
        assert redemption.status == RedemptionStatus.CANCELED

    def test_refuses_a_create_replacement_voucher_that_is_no_boolean(self, tenant):
        award_stamps(tenant.member, 12, store=tenant.store)
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5))

        response = tenant.post(
            "/api/redemptions/cancel", {"id": redemption.pk, "create_replacement_voucher": "maybe"}
        )

        assert response.status_code == 400
        assert response.json()["errors"] == {
            "create_replacement_voucher": "Must be a valid boolean."
        }
        redemption.refresh_from_db()
        assert redemption.status != RedemptionStatus.CANCELED

    def test_an_unknown_id_is_404_and_a_second_cancel_400(self, tenant):
        award_stamps(tenant.member, 12, store=tenant.store)
        redemption = redeem(tenant, RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5))
        tenant.post("/api/redemptions/cancel", {"id": redemption.pk})

        unknown = tenant.post("/api/redemptions/cancel", {"id": redemption.pk + 1000})
        again = tenant.post("/api/redemptions/cancel", {"id": redemption.pk})

        assert unknown.status_code == 404
        assert again.status_code == 400
        assert again.json()["error_code"] == "invalid_redemption"
        assert Membership.objects.get(pk=tenant.member.pk).stamps == 12
