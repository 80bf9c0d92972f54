from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from loyalty.models import Membership, Merchant
from loyalty.selectors import membership_spendable_stamps
from redemptions.apis import CustomerAfterCancel
from stamps_server.api import (
    StampsApiView,
    StampsInput,
    TextField,
    UserField,
    id_field,
    stamps_field,
)
from stamps_server.schema import Body, stamps_schema
from transactions import services
from transactions.models import Transaction, TransactionStatus

MONEY = {"max_digits": 16, "decimal_places": 2}


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, min_value=Decimal(0), **kwargs)


class ItemSerializer(serializers.Serializer):
    product_name = TextField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    price = money()


def customer_after(record: Transaction) -> dict[str, Any] | None:
    if record.membership_id is None:
        return None
    if record.award is None:  # nothing was written for the member: lots may be overdue
        membership = Membership.objects.select_related("level").get(pk=record.membership_id)
        stamps = membership_spendable_stamps(membership, today=timezone.localdate())
    else:  # the award (or its cancel) has just written off the member's overdue lots
        membership = record.award.membership
        stamps = membership.stamps
    return {
        "status": membership.level.name,
        "id": membership.pk,
        "stamps_remaining": stamps,
        "balance": 0,
    }


def transaction_body(record: Transaction) -> dict[str, Any]:
    return {
        "stamps_earned": record.stamps_earned,
        "id": record.pk,
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

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        data = self.validated(body)
        data["items"] = [{**item, "price": str(item["price"])} for item in data.get("items", [])]
        record = services.transaction_create(
            merchant=merchant, purchase=services.Purchase(**data), now=timezone.now()
        )
        return {"customer": customer_after(record), "transaction": transaction_body(record)}


@stamps_schema("Cancel a purchase and the stamps it earned")
class TransactionsCancelApi(StampsApiView):
    class InputSerializer(StampsInput):
        id = id_field()
        cancel_related_redemptions = serializers.BooleanField(default=False)

    class OutputSerializer(Body):
        transaction = CanceledPurchase()
        customer = PurchaseCustomer(allow_null=True, help_text="Null for an open purchase.")

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        data = self.validated(body)
        record = services.transaction_cancel(
            merchant=merchant,
            transaction_id=data["id"],
            cancel_related_redemptions=data["cancel_related_redemptions"],
            now=timezone.now(),
        )
        body = transaction_body(record) | {"status": TransactionStatus(record.status).label}
        return {"transaction": body, "customer": customer_after(record)}
