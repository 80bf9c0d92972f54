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
    moment,
    stamps_field,
)
from core.schema import Body, stamps_schema
from loyalty import services
from loyalty.ledger import Actor, MemberAfter, merchant_date
from loyalty.models import AwardStatus, DeductionStatus, Merchant


class CustomerSummary(Body):
    id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    status = serializers.CharField(help_text="The member's level, e.g. Blue.")


def customer_summary(member: MemberAfter) -> dict[str, Any]:
    return {"id": member.id, "stamps": member.stamps, "status": member.level_name}


class AwardSummary(Body):
    id = serializers.IntegerField()
    number_of_stamps = serializers.IntegerField()


def award_summary(award: services.Awarded | services.Canceled) -> dict[str, Any]:
    return {"id": award.id, "number_of_stamps": award.number_of_stamps}


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


def membership_detail(merchant: Merchant, deducted: services.Deducted) -> dict[str, Any]:
    member = deducted.member
    return {
        "id": member.id,
        "group_id": merchant.pk,
        "status": member.level_number,
        "status_text": member.level_name,
        "stamps": member.stamps,
        "balance": 0,
        "referral_code": deducted.referral_code,
        "is_blocked": False,  # a blocked member cannot spend
        "created": merchant_date(merchant, deducted.member_since).isoformat(),
    }


class DeductionDetail(Body):
    id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    notes = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField(help_text="UTC, to the second.")
    created_timestamp = serializers.IntegerField(help_text="`created` in Unix seconds.")
    status = serializers.IntegerField()


def deduction_detail(deduction: services.Deducted) -> dict[str, Any]:
    return {
        "id": deduction.id,
        "stamps": deduction.stamps,
        "notes": deduction.notes,
        **moment(deduction.created_at),
        "status": int(DeductionStatus.ACTIVE),
    }


def actor(caller: Caller) -> Actor:
    return Actor(token_id=caller.token_id)


@stamps_schema("Award stamps to a member")
class StampsAddApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField()
        store = id_field()
        number_of_stamps = stamps_field()
        notes = TextField(max_length=255, required=False, allow_blank=True, default="")
        expiration_date = serializers.DateField(
            required=False, default=None, input_formats=["%Y-%m-%d"]
        )
        require_email_notification = serializers.BooleanField(default=True)

    class OutputSerializer(Body):
        customer = CustomerSummary()
        award = AwardSummary()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        award = services.award_create(
            merchant=caller.merchant,
            request=services.AwardRequest(**data),
            now=timezone.now(),
            actor=actor(caller),
        )
        return {"customer": customer_summary(award.member), "award": award_summary(award)}


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

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        award = services.award_cancel(
            merchant=caller.merchant,
            user=data["user"],
            award_id=data["id"],
            now=timezone.now(),
            actor=actor(caller),
        )
        award_body = award_summary(award) | {"status": AwardStatus.CANCELED.label}
        return {"customer": customer_summary(award.member), "award": award_body}


@stamps_schema("Deduct stamps from a member")
class DeductStampsApi(StampsApiView):
    class InputSerializer(StampsInput):
        user = UserField()
        stamps = stamps_field()
        notes = TextField(max_length=255)

    class OutputSerializer(Body):
        membership = MembershipDetail()
        stamps_deduction = DeductionDetail()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        deduction = services.stamps_deduct(
            merchant=caller.merchant, **data, now=timezone.now(), actor=actor(caller)
        )
        return {
            "membership": membership_detail(caller.merchant, deduction),
            "stamps_deduction": deduction_detail(deduction),
        }
