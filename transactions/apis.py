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
    json_number,
    stamps_field,
)
from core.errors import ErrorStyle
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
    """The member as the purchase (or its cancel) left them, as both answers name them:
    `member` when the ledger returned them, else read now."""
    if membership_id is None:
        return None
    if member is not None:
        return {"status": member.level_name, "id": member.id, "stamps_remaining": member.stamps}
    membership = Membership.objects.select_related("level").get(pk=membership_id)
    today = merchant_date(merchant, timezone.now())
    stamps = membership_spendable_stamps(membership, today=today)
    return {"status": membership.level.name, "id": membership.pk, "stamps_remaining": stamps}


def with_balance(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    """A purchase's answer adds the stored-value balance, which this server does not keep."""
    return None if customer is None else customer | {"balance": 0}


def transaction_body(record: services.Recorded | services.PurchaseCanceled) -> dict[str, Any]:
    return {
        "stamps_earned": record.stamps_earned,
        "id": record.id,
        "value": json_number(record.total_value),
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
    error_style = ErrorStyle.LEGACY_SENTENCES

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
        return {"customer": with_balance(customer), "transaction": transaction_body(record)}


@stamps_schema("Cancel a purchase and the stamps it earned")
class TransactionsCancelApi(StampsApiView):
    """A refusal answers `{"errors": {"info": ...}}` and an unknown id a 404, as the Stamps
    documents print them for this endpoint."""

    error_style = ErrorStyle.INFO

    class InputSerializer(StampsInput):
        id = id_field()
        cancel_related_redemptions = serializers.BooleanField(default=False)

    class OutputSerializer(Body):
        transaction = CanceledPurchase()
        customer = CustomerAfterCancel(allow_null=True, help_text="Null for an open purchase.")

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
