from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api import Caller, StampsApiView, StampsInput, TextField, UserField, id_field, with_alias
from core.errors import ErrorStyle
from core.schema import Body, stamps_schema
from loyalty.ledger import Actor
from redemptions.models import RedemptionStatus
from redemptions.services import redemption_cancel, redemption_create


class RedeemingCustomer(Body):
    id = serializers.IntegerField()
    stamps_remaining = serializers.IntegerField()


class RedemptionSummary(Body):
    reward = serializers.CharField(help_text="The reward's name.")
    id = serializers.IntegerField()
    stamps_used = serializers.IntegerField()


@stamps_schema("Redeem a reward for a member's stamps")
class RedemptionsAddApi(StampsApiView):
    error_style = ErrorStyle.LEGACY_LIST

    class InputSerializer(StampsInput):
        customer = UserField(
            required=False, default=None, help_text="Required, as `customer` or `user`."
        )
        user = UserField(  # the stamps endpoints' name for it
            required=False, default=None, help_text="`customer`, under the stamps endpoints' name."
        )
        store = id_field()
        reward = id_field()
        invoice_number = TextField(max_length=64, required=False, allow_blank=True, default="")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            return with_alias(attrs, "customer", "user")

    class OutputSerializer(Body):
        customer = RedeemingCustomer()
        redemption = RedemptionSummary()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        redemption = redemption_create(
            merchant=caller.merchant,
            customer=data["customer"],
            store_id=data["store"],
            reward_id=data["reward"],
            now=timezone.now(),
            actor=Actor(token_id=caller.token_id),
            invoice_number=data["invoice_number"],
        )
        member = redemption.member
        return {
            "customer": {"id": member.id, "stamps_remaining": member.stamps},
            "redemption": {
                "reward": redemption.reward_name,
                "id": redemption.id,
                "stamps_used": redemption.stamps_used,
            },
        }


class CanceledRedemption(Body):
    id = serializers.IntegerField()
    status = serializers.CharField()


class CustomerAfterCancel(Body):
    status = serializers.CharField(help_text="The member's level name.")
    id = serializers.IntegerField()
    stamps_remaining = serializers.IntegerField()


@stamps_schema("Cancel a redemption: its stamps go back to the lots they came from")
class RedemptionsCancelApi(StampsApiView):
    class InputSerializer(StampsInput):
        id = id_field()
        create_replacement_voucher = serializers.BooleanField(
            required=False, help_text="Accepted and checked; this server issues no vouchers."
        )

    class OutputSerializer(Body):
        redemption = CanceledRedemption()
        customer = CustomerAfterCancel()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        redemption = redemption_cancel(
            merchant=caller.merchant,
            redemption_id=data["id"],
            now=timezone.now(),
            actor=Actor(token_id=caller.token_id),
        )
        member = redemption.member
        return {
            "redemption": {"id": redemption.id, "status": RedemptionStatus.CANCELED.label},
            "customer": {
                "status": member.level_name,
                "id": member.id,
                "stamps_remaining": member.stamps,
            },
        }
