from datetime import UTC
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request

from loyalty import services
from loyalty.models import Award, AwardStatus, Membership, StampsDeduction
from stamps_server.api import StampsApiView, TextField, UserField, id_field, stamps_field


def customer_summary(membership: Membership) -> dict[str, Any]:
    return {"id": membership.pk, "stamps": membership.stamps, "status": membership.level.name}


def award_summary(award: Award) -> dict[str, Any]:
    return {"id": award.pk, "number_of_stamps": award.number_of_stamps}


def membership_detail(membership: Membership) -> dict[str, Any]:
    return {
        "id": membership.pk,
        "group_id": membership.merchant_id,
        "status": membership.level.number,
        "status_text": membership.level.name,
        "stamps": membership.stamps,
        "balance": 0,
        "referral_code": membership.referral_code,
        "is_blocked": membership.is_blocked,
        "created": timezone.localdate(membership.created_at).isoformat(),
    }


def deduction_detail(deduction: StampsDeduction) -> dict[str, Any]:
    created = deduction.created_at.astimezone(UTC).replace(microsecond=0)
    return {
        "id": deduction.pk,
        "stamps": deduction.stamps,
        "notes": deduction.notes,
        "created": created.isoformat(),
        "created_timestamp": int(created.timestamp()),
        "status": deduction.status,
    }


class StampsAddApi(StampsApiView):
    class InputSerializer(serializers.Serializer):
        user = UserField()
        store = id_field()
        number_of_stamps = stamps_field()
        notes = TextField(max_length=255, required=False, allow_blank=True, default="")
        expiration_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
        require_email_notification = serializers.BooleanField(default=True)

    def apply(self, request: Request) -> dict[str, Any]:
        award_request = services.AwardRequest(**self.validated(request))
        award = services.award_create(
            merchant=self.merchant, request=award_request, now=timezone.now()
        )
        return {"customer": customer_summary(award.membership), "award": award_summary(award)}


class StampsCancelApi(StampsApiView):
    class InputSerializer(serializers.Serializer):
        user = UserField()
        id = id_field()

    def apply(self, request: Request) -> dict[str, Any]:
        data = self.validated(request)
        award = services.award_cancel(
            merchant=self.merchant, user=data["user"], award_id=data["id"], now=timezone.now()
        )
        award_body = award_summary(award) | {"status": AwardStatus(award.status).label}
        return {"customer": customer_summary(award.membership), "award": award_body}


class DeductStampsApi(StampsApiView):
    class InputSerializer(serializers.Serializer):
        user = UserField()
        stamps = stamps_field()
        notes = TextField(max_length=255)

    def apply(self, request: Request) -> dict[str, Any]:
        deduction = services.stamps_deduct(
            merchant=self.merchant, **self.validated(request), now=timezone.now()
        )
        return {
            "membership": membership_detail(deduction.membership),
            "stamps_deduction": deduction_detail(deduction),
        }
