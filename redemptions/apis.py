from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request

from redemptions.services import redemption_create
from stamps_server.api import StampsApiView, UserField, id_field
from stamps_server.errors import ErrorStyle


class RedemptionsAddApi(StampsApiView):
    error_style = ErrorStyle.LEGACY_LIST

    class InputSerializer(serializers.Serializer):
        customer = UserField(required=False)
        user = UserField(required=False)  # what the stamps endpoints call the same thing
        store = id_field()
        reward = id_field()

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "customer" not in attrs and "user" not in attrs:
                required = ErrorDetail("This field is required.", code="required")
                raise serializers.ValidationError({"customer": [required]})
            return attrs

    def apply(self, request: Request) -> dict[str, Any]:
        data = self.validated(request)
        redemption = redemption_create(
            merchant=self.merchant,
            customer=data.get("customer", data.get("user")),
            store_id=data["store"],
            reward_id=data["reward"],
            now=timezone.now(),
        )
        membership = redemption.membership
        return {
            "customer": {"id": membership.pk, "stamps_remaining": membership.stamps},
            "redemption": {
                "reward": redemption.reward.name,
                "id": redemption.pk,
                "stamps_used": redemption.stamps_used,
            },
        }
