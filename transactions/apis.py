from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api import (
    Caller,
    StampsApiView,
    StampsInput,
    TextField,
    UserField,
    id_field,
    stamps_field,
)
from core.schema import Body, stamps_schema
from loyalty.ledger import Actor, MemberAfter, merchant_date
from loyalty.models import Membership, Merchant
from loyalty.selectors import membership_spendable_stamps
from redemptions.apis import CustomerAfterCancel
from transactions import services
from transactions.models import TransactionStatus

MONEY = {"max_digits": 16, "decimal_places": 2}


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, min_value=Decimal(0), **kwargs)


class ItemSerializer(serializers.Serializer):
    product_name = TextField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    price = money()


def customer_after(
    merchant: Merchant, membership_id: int | None, member: MemberAfter | None
) -> dict[str, Any] | None:
    """The member as the purchase (or its cancel) left them: `member` when the ledger
    returned them, else read now."""
    if membership_id is None:
        return None
    if member is not None:
        return customer_body(member.id, member.level_name, member.stamps)
    membership = Membership.objects.select_related("level").get(pk=membership_id)
    today = merchant_date(merchant, timezone.now())
    stamps = membership_spendable_stamps(membership, today=today)
    return customer_body(membership.pk, membership.level.name, stamps)


def customer_body(membership_id: int, level_name: str, stamps: int) -> dict[str, Any]:
    return {"status": level_name, "id": membership_id, "stamps_remaining": stamps, "balance": 0}


def transaction_body(record: services.Recorded | services.PurchaseCanceled) -> dict[str, Any]:
    return {
        "stamps_earned": record.stamps_earned,
        "id": record.id,
        "value": float(record.total_value),
    }


class PurchaseCustomer(CustomerAfterCancel):
    balance = serializers.IntegerField(help_text="Stored value: not implemented, always 0.")


class PurchaseSummary(Body):
    stamps_earned = serializers.IntegerField()
    id = serializers.IntegerField()
    value = serializers.FloatField(help_text="The purchase's total value.")


class CanceledPurchase(PurchaseSummary):
    status = serializers.CharField()


@stamps_schema("Record a purchase; a member earns stamps at the merchant's rate")
class TransactionsAddApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField(required=False, allow_blank=True, allow_null=True)
        store = id_field()
        invoice_number = TextField(max_length=64)
        total_value = money()
        number_of_people = serializers.IntegerField(min_value=1, max_value=10_000)
        created = serializers.DateTimeField()
        stamps = stamps_field(required=False, min_value=0)
        subtotal = money(required=False, allow_null=True)
        discount = money(required=False, allow_null=True)
        service_charge = money(required=False, allow_null=True)
        tax = money(required=False, allow_null=True)
        items = ItemSerializer(many=True, required=False)

    class OutputSerializer(Body):
        customer = PurchaseCustomer(allow_null=True, help_text="Null for an open purchase.")
        transaction = PurchaseSummary()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        data["items"] = [{**item, "price": str(item["price"])} for item in data.get("items", [])]
        record = services.transaction_create(
            merchant=caller.merchant,
            purchase=services.Purchase(**data),
            now=timezone.now(),
            actor=Actor(token_id=caller.token_id),
        )
        customer = customer_after(caller.merchant, record.membership_id, record.member)
        return {"customer": customer, "transaction": transaction_body(record)}


@stamps_schema("Cancel a purchase and the stamps it earned")
class TransactionsCancelApi(StampsApiView):
    class InputSerializer(StampsInput):
        id = id_field()
        cancel_related_redemptions = serializers.BooleanField(default=False)

    class OutputSerializer(Body):
        transaction = CanceledPurchase()
        customer = PurchaseCustomer(allow_null=True, help_text="Null for an open purchase.")

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        record = services.transaction_cancel(
            merchant=caller.merchant,
            transaction_id=data["id"],
            cancel_related_redemptions=data["cancel_related_redemptions"],
            now=timezone.now(),
            actor=Actor(token_id=caller.token_id),
        )
        body = transaction_body(record) | {"status": TransactionStatus.CANCELED.label}
        customer = customer_after(caller.merchant, record.membership_id, None)
        return {"transaction": body, "customer": customer}
