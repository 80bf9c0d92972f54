"""What a till asks about a member: ping, look-up, registration, expiring stamps.

GET endpoints take their parameters (and `token`, `merchant`) from the query string;
`merchant` is optional, since the token names the merchant (core.api.ensure_own_merchant)."""

from datetime import date
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from core.api import (
    Caller,
    MerchantQuery,
    StampsApiView,
    StampsInput,
    StampsReadView,
    TextField,
    UserField,
    ensure_own_merchant,
    id_field,
    moment,
)
from core.schema import Body, stamps_schema
from loyalty.ledger import merchant_date
from loyalty.members import membership_find
from loyalty.models import Gender, Membership, Merchant
from loyalty.registration import Registration, membership_register
from loyalty.selectors import expiration_journals, membership_spendable_stamps


def gender_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=2, allow_null=True, help_text="1 (male), 2 (female) or null."
    )


def iso_date_or_none(membership: Membership) -> str | None:
    return membership.birthday.isoformat() if membership.birthday else None


def today(merchant: Merchant) -> date:
    return merchant_date(merchant, timezone.now())


class Pong(Body):
    merchant = serializers.CharField(help_text="The name of the token's merchant.")
    merchant_id = serializers.IntegerField()


@stamps_schema("Check the key: answers with its merchant")
class PingApi(StampsApiView):
    class InputSerializer(StampsInput):
        merchant = id_field(required=False)

    class OutputSerializer(Body):
        pong = Pong()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        merchant = caller.merchant
        ensure_own_merchant(data.get("merchant"), merchant)
        return {"pong": {"merchant": merchant.name, "merchant_id": merchant.pk}}


@stamps_schema("Look a member up")
class MembershipStatusApi(StampsReadView):
    """GET /api/memberships/status: `gender` is 1 (male), 2 (female) or null; `stamps`
    leaves out lots past their date; `balance` is always 0 (no money balance here)."""

    class InputSerializer(MerchantQuery):
        user = UserField()

    class OutputSerializer(Body):
        id = serializers.IntegerField()
        stamps = serializers.IntegerField(help_text="Spendable: lots past their date left out.")
        membership_status = serializers.CharField(help_text="The level's name, e.g. Gold.")
        name = serializers.CharField(allow_blank=True)
        phone = serializers.CharField(allow_blank=True)
        birthday = serializers.DateField(allow_null=True)
        address = serializers.CharField(allow_blank=True)
        gender = gender_field()
        member_ids = serializers.ListField(child=serializers.CharField())
        balance = serializers.IntegerField(help_text="Always 0: no money balance here.")

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        return {
            "id": membership.pk,
            "stamps": membership_spendable_stamps(membership, today=today(self.merchant)),
            "membership_status": membership.level.name,
            "name": membership.name,
            "phone": membership.phone,
            "birthday": iso_date_or_none(membership),
            "address": membership.address,
            "gender": membership.gender,
            "member_ids": [membership.member_id] if membership.member_id else [],
            "balance": 0,
        }


class MembershipState(Body):
    level = serializers.IntegerField(help_text="The level's number, e.g. 100.")
    level_text = serializers.CharField(help_text="The level's name, e.g. Blue.")
    member_status = serializers.ChoiceField(choices=["Active", "Blocked"])
    stamps = serializers.IntegerField(help_text="Spendable: lots past their date left out.")
    balance = serializers.IntegerField(help_text="Always 0: no money balance here.")
    is_blocked = serializers.BooleanField()
    referral_code = serializers.CharField()
    start_date = serializers.DateField()
    created = serializers.DateTimeField()


class MemberProfile(Body):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_blank=True)
    birthday = serializers.DateField(allow_null=True)
    gender = gender_field()
    member_id = serializers.CharField(allow_null=True)


@stamps_schema("A member's level, stamps and profile")
class MembershipDetailsApi(StampsReadView):
    """GET /api/v2/memberships/details: `start_date` is the local date the member joined,
    `created` the moment, in UTC."""

    class InputSerializer(MerchantQuery):
        user = UserField()

    class OutputSerializer(Body):
        membership = MembershipState()
        user = MemberProfile()

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        return {
            "membership": {
                "level": membership.level.number,
                "level_text": membership.level.name,
                "member_status": "Blocked" if membership.is_blocked else "Active",
                "stamps": membership_spendable_stamps(membership, today=today(self.merchant)),
                "balance": 0,
                "is_blocked": membership.is_blocked,
                "referral_code": membership.referral_code,
                "start_date": merchant_date(self.merchant, membership.created_at).isoformat(),
                "created": moment(membership.created_at)["created"],
            },
            "user": {
                "id": membership.pk,
                "name": membership.name,
                "email": membership.email,
                "phone": membership.phone,
                "birthday": iso_date_or_none(membership),
                "gender": membership.gender,
                "member_id": membership.member_id,
            },
        }


class GenderField(serializers.ChoiceField):
    """Takes male or female in any case; its error never echoes the input."""

    default_error_messages = {"invalid_choice": 'Must be "male" or "female".'}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=["male", "female"], **kwargs)

    def to_internal_value(self, data: Any) -> Any:  # a Gender, where ChoiceField gives a str
        text = data.strip().lower() if isinstance(data, str) else data
        return Gender.MALE if super().to_internal_value(text) == "male" else Gender.FEMALE


phone_number = RegexValidator(
    r"^\+?[0-9]{6,20}\Z", message="Enter 6 to 20 digits, optionally after a +.", code="invalid"
)
# Written as what a Member ID may be, not as "@" inverted: the OpenAPI schema publishes the
# pattern and cannot say "does not match".
no_at_sign = RegexValidator(r"^[^@]*$", message="A Member ID cannot contain @.", code="invalid")


class RegisteredCustomer(Body):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    identifier = serializers.CharField(help_text="The Member ID: what a till sends as `user`.")
    member_id = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    birthday = serializers.DateField()
    gender = serializers.CharField(help_text='"Male" or "Female".')


@stamps_schema("Register a member")
class MembershipRegisterApi(StampsApiView):
    """POST /api/memberships/register. Without `member_id` a 12-digit one is issued;
    `identifier` in the answer is the Member ID, what a till sends as `user` from then on;
    `gender` is echoed as "Male" or "Female", as the Stamps service does here."""

    class InputSerializer(StampsInput):
        merchant = id_field()
        name = TextField(max_length=120)
        email = serializers.EmailField(max_length=254)
        birthday = serializers.DateField(input_formats=["%Y-%m-%d"])
        gender = GenderField()
        store = id_field()
        member_id = TextField(
            max_length=64, required=False, allow_blank=True, validators=[no_at_sign]
        )
        phone = TextField(required=False, allow_blank=True, validators=[phone_number])
        address = TextField(max_length=255, required=False, allow_blank=True)

    class OutputSerializer(Body):
        customer = RegisteredCustomer()

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        merchant = caller.merchant
        ensure_own_merchant(data.pop("merchant"), merchant)
        membership = membership_register(
            merchant=merchant, registration=Registration(**data), today=today(merchant)
        )
        return {
            "customer": {
                "id": membership.pk,
                "name": membership.name,
                "email": membership.email,
                "identifier": membership.member_id,
                "member_id": membership.member_id,
                "phone": membership.phone,
                "birthday": iso_date_or_none(membership),
                "gender": Gender(membership.gender).label if membership.gender else None,
            }
        }


class ExpirationJournal(Body):
    id = serializers.IntegerField(help_text="The lot's award id.")
    stamps_to_expire = serializers.IntegerField()
    expiration_date = serializers.DateField()


@stamps_schema("A member's stamps that will expire, soonest first")
class ExpirationJournalsApi(StampsReadView):
    """GET /api/v2/expiration-journals/: one row per lot that still holds stamps, soonest
    first; `id` is the lot's award id. `minimum_expiration_date` (or `expiration_date`, its
    older name) defaults to today, and a past date counts as today."""

    class InputSerializer(MerchantQuery):
        user = UserField()
        minimum_expiration_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
        expiration_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])

    class OutputSerializer(Body):
        expiration_journals = ExpirationJournal(many=True)

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        minimum = query.get("minimum_expiration_date") or query.get("expiration_date")
        lots = expiration_journals(membership, today=today(self.merchant), minimum_date=minimum)
        return {
            "expiration_journals": [
                {
                    "id": lot.pk,
                    "stamps_to_expire": lot.stamps_remaining,
                    "expiration_date": lot.expiration_date.isoformat(),
                }
                for lot in lots
            ]
        }
