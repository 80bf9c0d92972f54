from datetime import UTC
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from loyalty import services
from loyalty.ledger import local_date
from loyalty.models import Award, AwardStatus, Membership, Merchant, StampsDeduction
from stamps_server.api import (
    StampsApiView,
    StampsInput,
    TextField,
    UserField,
    id_field,
    stamps_field,
)
from stamps_server.schema import Body, stamps_schema


class CustomerSummary(Body):
    id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    status = serializers.CharField(help_text="The member's level, e.g. Blue.")


def customer_summary(membership: Membership) -> dict[str, Any]:
    return {"id": membership.pk, "stamps": membership.stamps, "status": membership.level.name}


class AwardSummary(Body):
    id = serializers.IntegerField()
    number_of_stamps = serializers.IntegerField()


def award_summary(award: Award) -> dict[str, Any]:
    return {"id": award.pk, "number_of_stamps": award.number_of_stamps}


class MembershipDetail(Body):
    id = serializers.IntegerField()
    group_id = serializers.IntegerField(help_text="The merchant's id.")
    status = serializers.IntegerField(help_text="The level's number, e.g. 100.")
    status_text = serializers.CharField(help_text="The level's name, e.g. Blue.")
    stamps = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="Always 0: no money balance here.")
    referral_code = serializers.CharField()
    is_blocked = serializers.BooleanField()
    created = serializers.DateField()


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
        "created": local_date(membership.created_at).isoformat(),
    }


class DeductionDetail(Body):
    id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    notes = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField(help_text="UTC, to the second.")
    created_timestamp = serializers.IntegerField(help_text="`created` in Unix seconds.")
    status = serializers.IntegerField()


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


@stamps_schema("Award stamps to a member")
class StampsAddApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField()
        store = id_field()
        number_of_stamps = stamps_field()
        notes = TextField(max_length=255, required=False, allow_blank=True, default="")
        expiration_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
        require_email_notification = serializers.BooleanField(default=True)

    class OutputSerializer(Body):
        customer = CustomerSummary()
        award = AwardSummary()

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        award_request = services.AwardRequest(**self.validated(body))
        award = services.award_create(merchant=merchant, request=award_request, now=timezone.now())
        return {"customer": customer_summary(award.membership), "award": award_summary(award)}


class CanceledAward(AwardSummary):
    status = serializers.CharField(help_text='The award\'s status after the call: "Canceled".')


@stamps_schema("Cancel an award, taking its stamps back")
class StampsCancelApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField()
        id = id_field()

    class OutputSerializer(Body):
        customer = CustomerSummary()
        award = CanceledAward()

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        data = self.validated(body)
        award = services.award_cancel(
            merchant=merchant, user=data["user"], award_id=data["id"], now=timezone.now()
        )
        award_body = award_summary(award) | {"status": AwardStatus(award.status).label}
        return {"customer": customer_summary(award.membership), "award": award_body}


@stamps_schema("Deduct stamps from a member")
class DeductStampsApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField()
        stamps = stamps_field()
        notes = TextField(max_length=255)

    class OutputSerializer(Body):
        membership = MembershipDetail()
        stamps_deduction = DeductionDetail()

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        deduction = services.stamps_deduct(
            merchant=merchant, **self.validated(body), now=timezone.now()
        )
        return {
            "membership": membership_detail(deduction.membership),
            "stamps_deduction": deduction_detail(deduction),
        }
