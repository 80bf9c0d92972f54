"""Cancelling awards, redemptions and purchases from the admin: a reason first, then the API's
cancel services as the staff user; a cashier only at their stores."""

import pytest
from django.urls import reverse

from backoffice.models import Role
from loyalty.checks import ledger_mismatches
from loyalty.models import Award, AwardStatus, LedgerEntry, Membership
from redemptions.models import Redemption, RedemptionStatus
from tests.backoffice.helpers import populate_merchant, staff_client
from tests.factories import award_stamps
from transactions.models import Transaction, TransactionStatus

pytestmark = pytest.mark.django_db


def cancel(client, model, action: str, rows: list, **extra):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": action, "_selected_action": rows, **extra})


class TestCancelWithAReason:
    def test_the_first_step_asks_for_the_reason_and_changes_nothing(self):
        shop = populate_merchant("ZZA")
        award = award_stamps(shop.member, 5, store=shop.store)
        client = staff_client(shop, Role.MANAGER)
        before = LedgerEntry.objects.count()

        response = cancel(client, Award, "cancel_awards", [award.pk])

        assert response.status_code == 200
        assert 'name="reason"' in response.content.decode()
        assert LedgerEntry.objects.count() == before

    def test_an_award_is_cancelled_with_the_reason_and_the_staff_user(self):
        shop = populate_merchant("ZZA")
        award = award_stamps(shop.member, 5, store=shop.store)
        client = staff_client(shop, Role.MANAGER)

        cancel(client, Award, "cancel_awards", [award.pk], reason="wrong member")

        award.refresh_from_db()
        assert award.status == AwardStatus.CANCELED
        assert award.cancel_reason == "wrong member"
        assert award.canceled_by_staff.username.startswith("manager")
        assert list(ledger_mismatches()) == []

    def test_a_redemption_is_cancelled_and_its_stamps_come_back(self):
        shop = populate_merchant("ZZA")
        redemption = Redemption.objects.get(membership=shop.member)
        before = Membership.objects.get(pk=shop.member.pk).stamps
        client = staff_client(shop, Role.CASHIER)

        cancel(client, Redemption, "cancel_redemptions", [redemption.pk], reason="returned")

        redemption.refresh_from_db()
        assert redemption.status == RedemptionStatus.CANCELED
        after = Membership.objects.get(pk=shop.member.pk).stamps
        assert after == before + redemption.stamps_used

    def test_a_purchase_is_cancelled(self):
        shop = populate_merchant("ZZA")
        purchase = Transaction.objects.get(merchant=shop.merchant)
        client = staff_client(shop, Role.OWNER)

        cancel(client, Transaction, "cancel_purchases", [purchase.pk], reason="refund")

        purchase.refresh_from_db()
        assert purchase.status == TransactionStatus.CANCELED
        assert list(ledger_mismatches()) == []

    def test_a_cashier_cannot_cancel_what_another_store_made(self):
        shop = populate_merchant("ZZA")
        award = award_stamps(shop.member, 5, store=shop.other_store)
        client = staff_client(shop, Role.CASHIER)

        cancel(client, Award, "cancel_awards", [award.pk], reason="r")

        assert Award.objects.get(pk=award.pk).status == AwardStatus.ACTIVE
