from decimal import Decimal
from urllib.parse import urlencode

import pytest

from loyalty.checks import ledger_mismatches
from loyalty.ledger import SYSTEM
from loyalty.models import Award, AwardStatus, Membership
from redemptions.models import RedemptionStatus
from redemptions.services import redemption_create
from tests.factories import RewardFactory, award_stamps, deduct_stamps, redeemed
from transactions.models import Transaction, TransactionStatus

pytestmark = pytest.mark.django_db
ADD, CANCEL = "/api/transactions/add", "/api/transactions/cancel"
LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"


def purchase(tenant, **overrides):
    return {
        "user": tenant.member.email,
        "store": tenant.store.pk,
        "invoice_number": "INV-1",
        "total_value": 125000,
        "number_of_people": 2,
        "created": "2026-11-22T10:00:00+07:00",
    } | overrides


def stamps_of(member) -> int:
    return Membership.objects.get(pk=member.pk).stamps


class TestTransactionsAdd:
    def test_earns_one_stamp_per_ten_thousand_rounded_down(self, tenant):
        response = tenant.post(ADD, purchase(tenant))

        record = Transaction.objects.get()
        assert response.status_code == 200
        assert response.json() == {
            "customer": {
                "status": "Blue",
                "id": tenant.member.pk,
                "stamps_remaining": 12,
                "balance": 0,
            },
            "transaction": {"stamps_earned": 12, "id": record.pk, "value": 125000},
        }
        assert record.award.number_of_stamps == 12
        assert list(ledger_mismatches()) == []

    def test_follows_the_merchants_rate(self, tenant):
        tenant.merchant.transaction_value_per_stamp = Decimal("5000")
        tenant.merchant.save()

        response = tenant.post(ADD, purchase(tenant, total_value="12500.50"))

        assert response.json()["transaction"]["stamps_earned"] == 2

    def test_an_explicit_stamps_value_overrides_the_rate(self, tenant):
        response = tenant.post(ADD, purchase(tenant, stamps=3))

        assert response.json()["transaction"]["stamps_earned"] == 3
        assert stamps_of(tenant.member) == 3

    def test_an_open_transaction_earns_nothing(self, tenant):
        response = tenant.post(ADD, purchase(tenant, user=""))

        assert response.status_code == 200
        assert response.json()["customer"] is None
        assert response.json()["transaction"]["stamps_earned"] == 0
        assert not Award.objects.exists()

    def test_refuses_a_repeated_invoice_at_the_same_store_on_the_same_day(self, tenant):
        tenant.post(ADD, purchase(tenant))

        repeat = tenant.post(ADD, purchase(tenant, created="2026-11-22T18:00:00+07:00"))

        assert repeat.status_code == 400
        assert repeat.json() == {
            "detail": LEGACY_DETAIL,
            "errors": [
                {"invoice_number": "This invoice number was already used at this store today"}
            ],
        }
        assert stamps_of(tenant.member) == 12

    def test_allows_the_same_invoice_number_on_another_day(self, tenant):
        tenant.post(ADD, purchase(tenant))

        later = tenant.post(ADD, purchase(tenant, created="2026-11-25T10:00:00+07:00"))

        assert later.status_code == 200

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"total_value": -1}, "total_value"),
            ({"total_value": "lots"}, "total_value"),
            ({"number_of_people": 0}, "number_of_people"),
            ({"created": "yesterday"}, "created"),
            ({"invoice_number": ""}, "invoice_number"),
            ({"store": 10**12}, "store"),
            ({"user": "nobody@example.com"}, "user"),
            ({"items": [{"product_name": "Latte", "quantity": 0, "price": 1}]}, "items.0.quantity"),
        ],
    )
    def test_refuses_bad_input_and_writes_nothing(self, tenant, overrides, field):
        response = tenant.post(ADD, purchase(tenant, **overrides))

        assert response.status_code == 400
        body = response.json()
        assert body["detail"] == LEGACY_DETAIL
        assert [name for error in body["errors"] for name in error] == [field]
        assert not Transaction.objects.exists()

    def test_lists_every_field_at_fault_with_its_full_stop(self, tenant):
        response = tenant.post(ADD, {"store": tenant.store.pk, "total_value": 5})

        assert response.status_code == 400
        assert response.json() == {
            "detail": LEGACY_DETAIL,
            "errors": [
                {"invoice_number": "This field is required."},
                {"number_of_people": "This field is required."},
                {"created": "This field is required."},
            ],
        }

    def test_a_value_with_a_fraction_is_answered_as_one(self, tenant):
        response = tenant.post(ADD, purchase(tenant, total_value="12500.50"))

        assert response.json()["transaction"]["value"] == 12500.5


def form_post(tenant, body):
    return tenant.client.post(
        ADD, urlencode(body), content_type="application/x-www-form-urlencoded"
    )


class TestFormEncodedPurchases:
    def test_items_as_form_fields_are_kept(self, tenant):
        body = purchase(tenant) | {
            "items[0]product_name": "Latte",
            "items[0]quantity": "2",
            "items[0]price": "62500",
        }

        response = form_post(tenant, body)

        assert response.status_code == 200, response.content
        stored = Transaction.objects.get(pk=response.json()["transaction"]["id"])
        assert [item["product_name"] for item in stored.items] == ["Latte"]

    @pytest.mark.parametrize("items", ['[{"product_name": "Latte"}]', "abc"])
    def test_items_a_form_cannot_carry_are_refused_not_dropped(self, tenant, items):
        response = form_post(tenant, purchase(tenant) | {"items": items})

        assert response.status_code == 400
        assert response.json() == {
            "detail": LEGACY_DETAIL,
            "errors": [{"items": "Send the items in a JSON body."}],
        }
        assert not Transaction.objects.exists()


class TestTransactionsCancel:
    def test_takes_back_the_earned_stamps(self, tenant):
        record_id = tenant.post(ADD, purchase(tenant)).json()["transaction"]["id"]

        response = tenant.post(CANCEL, {"id": record_id})

        assert response.status_code == 200
        assert response.json()["transaction"]["status"] == "Canceled"
        assert response.json()["customer"]["stamps_remaining"] == 0
        assert Award.objects.get().status == AwardStatus.CANCELED
        assert list(ledger_mismatches()) == []

    def test_refuses_when_the_customer_no_longer_holds_the_stamps(self, tenant):
        record_id = tenant.post(ADD, purchase(tenant)).json()["transaction"]["id"]
        deduct_stamps(tenant.member, 5)

        response = tenant.post(CANCEL, {"id": record_id})

        assert response.status_code == 400
        assert response.json() == {
            "errors": {"info": "Transaction can't be canceled due to insufficient Stamps"}
        }
        assert Transaction.objects.get().status == TransactionStatus.ACTIVE
        assert stamps_of(tenant.member) == 7

    def test_cancels_related_redemptions_first_when_asked(self, tenant):
        record_id = tenant.post(ADD, purchase(tenant)).json()["transaction"]["id"]
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)
        redemption = redeemed(
            redemption_create(
                merchant=tenant.merchant,
                customer=tenant.member.email,
                store_id=tenant.store.pk,
                reward_id=reward.pk,
                now=Transaction.objects.get().recorded_at,
                invoice_number="INV-1",
                actor=SYSTEM,
            )
        )

        response = tenant.post(CANCEL, {"id": record_id, "cancel_related_redemptions": True})

        redemption.refresh_from_db()
        assert response.status_code == 200
        assert redemption.status == RedemptionStatus.CANCELED
        assert stamps_of(tenant.member) == 0
        assert list(ledger_mismatches()) == []

    def test_refuses_a_second_cancel_and_another_merchants_transaction(self, tenant, other_tenant):
        record_id = tenant.post(ADD, purchase(tenant)).json()["transaction"]["id"]
        tenant.post(CANCEL, {"id": record_id})

        again = tenant.post(CANCEL, {"id": record_id})
        foreign = other_tenant.post(CANCEL, {"id": record_id})

        assert again.status_code == 400
        assert again.json() == {"errors": {"info": "Transaction is already canceled"}}
        assert foreign.status_code == 404
        assert foreign.json() == {"detail": "Not found."}

    def test_answers_the_documented_body(self, tenant):
        record_id = tenant.post(ADD, purchase(tenant)).json()["transaction"]["id"]

        response = tenant.post(CANCEL, {"id": record_id})

        assert response.json() == {
            "transaction": {
                "stamps_earned": 12,
                "id": record_id,
                "value": 125000,
                "status": "Canceled",
            },
            "customer": {"status": "Blue", "id": tenant.member.pk, "stamps_remaining": 0},
        }

    def test_refuses_a_missing_id_under_its_name(self, tenant):
        response = tenant.post(CANCEL, {})

        assert response.status_code == 400
        assert response.json() == {"errors": {"id": "This field is required."}}


class TestOpenTransactionsCancel:
    def test_an_open_transaction_cancels_with_no_customer(self, tenant):
        award_stamps(tenant.member, 1)
        record_id = tenant.post(ADD, purchase(tenant, user=None)).json()["transaction"]["id"]

        response = tenant.post(CANCEL, {"id": record_id})

        assert response.status_code == 200
        assert response.json()["customer"] is None


class TestPurchasesInHistory:
    def test_a_purchase_is_one_transaction_activity_not_also_an_award(self, tenant):
        tenant.post(ADD, purchase(tenant))

        response = tenant.client.get("/api/v3/activities/", {"user": tenant.member.email})

        activities = response.json()["activities"]
        assert [(a["type"], a["transaction"]["stamps"]) for a in activities] == [(0, 12)]
