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
)
from core.errors import NON_FIELD, ErrorStyle
from core.schema import Body, stamps_schema
from loyalty.ledger import merchant_date
from loyalty.members import membership_find
from loyalty.models import Gender, Membership, Merchant, RegistrationMethod
from loyalty.refusals import LedgerRefusal
from loyalty.registration import Registration, membership_register
from loyalty.selectors import expiration_journals, membership_spendable_stamps


def gender_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=2, allow_null=True, help_text="1 (male), 2 (female) or null."
    )


def iso_date_or_none(day: date | None) -> str | None:
    return day.isoformat() if day else None


def member_ids(membership: Membership) -> list[str]:
    return [membership.member_id] if membership.member_id else []


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

    error_style = ErrorStyle.LEGACY_LIST

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
            "birthday": iso_date_or_none(membership.birthday),
            "address": membership.address,
            "gender": membership.gender,
            "member_ids": member_ids(membership),
            "balance": 0,
        }


NOTHING_OWED = 0  # the ledger never lets a balance go below zero, so no stamps are owed


class PrimaryCard(Body):
    id = serializers.IntegerField()
    number = serializers.CharField()
    is_active = serializers.BooleanField()
    activated_time = serializers.CharField(allow_null=True)


class MembershipState(Body):
    tags = serializers.ListField(child=serializers.CharField(), help_text="The member's labels.")
    level = serializers.IntegerField(help_text="The level's number, e.g. 100.")
    level_text = serializers.CharField(help_text="The level's name, e.g. Blue.")
    member_status = serializers.ChoiceField(choices=["Active", "Blocked"])
    stamps = serializers.IntegerField(help_text="Spendable: lots past their date left out.")
    stamps_owed = serializers.IntegerField(help_text="Always 0: a balance never goes below 0.")
    balance = serializers.IntegerField(help_text="Always 0: no stored value here.")
    is_blocked = serializers.BooleanField()
    referral_code = serializers.CharField()
    start_date = serializers.DateField(help_text="The merchant's date the member joined.")
    created = serializers.DateField(help_text="The same date: the record's creation.")
    allow_newsletters = serializers.BooleanField()
    allow_sms_marketing = serializers.BooleanField()
    allow_whatsapp_marketing = serializers.BooleanField()
    redemption_allowed = serializers.BooleanField(help_text="False while the member is blocked.")
    primary_card = PrimaryCard(allow_null=True, help_text="Always null: no cards here.")


class SiteActivity(Body):
    id = serializers.IntegerField(help_text="The registration's id: the membership's.")
    registration_method = serializers.ChoiceField(choices=RegistrationMethod.values)


class MemberProfile(Body):
    """The person. What this server has no concept of answers with the documented empty
    value: no member logins, PINs, verifications or identity documents."""

    address = serializers.CharField(allow_blank=True)
    birthday = serializers.DateField(allow_null=True)
    email = serializers.EmailField(allow_null=True)
    email_is_verified = serializers.BooleanField(help_text="Always false.")
    gender = serializers.ChoiceField(choices=["male", "female"], allow_null=True)
    has_incorrect_email = serializers.BooleanField(help_text="Always false.")
    has_pin = serializers.BooleanField(help_text="Always false.")
    pin_is_blocked = serializers.BooleanField(help_text="Always false.")
    has_password = serializers.BooleanField(help_text="Always false.")
    id = serializers.CharField(help_text="The membership's id, as a string.")
    id_card_file_name = serializers.CharField(allow_blank=True, help_text='Always "".')
    id_number = serializers.CharField(allow_null=True, help_text="Always null.")
    is_active = serializers.BooleanField()
    is_anonymized = serializers.BooleanField(help_text="Always false.")
    marital_status = serializers.IntegerField(
        allow_null=True, help_text="1 Single, 2 Married, 3 Divorced, 4 Widowed, 5 Others."
    )
    member_ids = serializers.ListField(child=serializers.CharField())
    name = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    phone_is_verified = serializers.BooleanField(help_text="Always false.")
    picture_url = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(allow_blank=True)
    protected_redemption = serializers.BooleanField(help_text="Always false.")
    referral_code = serializers.CharField()
    registration_status = serializers.ChoiceField(choices=["Full", "Partial"])
    religion = serializers.IntegerField(allow_null=True, help_text="The merchant's own code.")
    wedding_date = serializers.DateField(allow_null=True)
    site_activity = SiteActivity()


@stamps_schema("A member's level, stamps and profile")
class MembershipDetailsApi(StampsReadView):
    """GET /api/v2/memberships/details: `tags` is sent twice, at the top and in
    `membership`, as the Stamps documents do. An unknown `user` is refused under `__all__`.
    `verbose` is accepted and adds nothing: the documents do not show what it adds."""

    class InputSerializer(MerchantQuery):
        user = UserField()
        verbose = serializers.BooleanField(required=False)

    class OutputSerializer(Body):
        membership = MembershipState()
        tags = serializers.ListField(child=serializers.CharField())
        user = MemberProfile()

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        try:
            membership = membership_find(merchant=self.merchant, user=query["user"])
        except LedgerRefusal as unknown:
            unknown.field = NON_FIELD  # as the documents file it for this endpoint
            raise
        joined = merchant_date(self.merchant, membership.created_at).isoformat()
        return {
            "membership": {
                "tags": membership.tags,
                "level": membership.level.number,
                "level_text": membership.level.name,
                "member_status": "Blocked" if membership.is_blocked else "Active",
                "stamps": membership_spendable_stamps(membership, today=today(self.merchant)),
                "stamps_owed": NOTHING_OWED,
                "balance": 0,
                "is_blocked": membership.is_blocked,
                "referral_code": membership.referral_code,
                "start_date": joined,
                "created": joined,
                "allow_newsletters": membership.allow_newsletters,
                "allow_sms_marketing": membership.allow_sms_marketing,
                "allow_whatsapp_marketing": membership.allow_whatsapp_marketing,
                "redemption_allowed": not membership.is_blocked,
                "primary_card": None,
            },
            "tags": membership.tags,
            "user": member_profile(membership),
        }


def member_profile(membership: Membership) -> dict[str, Any]:
    return {
        "address": membership.address,
        "birthday": iso_date_or_none(membership.birthday),
        "email": membership.email,
        "email_is_verified": False,
        "gender": Gender(membership.gender).name.lower() if membership.gender else None,
        "has_incorrect_email": False,
        "has_pin": False,
        "pin_is_blocked": False,
        "has_password": False,
        "id": str(membership.pk),
        "id_card_file_name": "",
        "id_number": None,
        "is_active": True,
        "is_anonymized": False,
        "marital_status": membership.marital_status,
        "member_ids": member_ids(membership),
        "name": membership.name,
        "notes": membership.notes,
        "phone": membership.phone,
        "phone_is_verified": False,
        "picture_url": membership.picture_url,
        "postal_code": membership.postal_code,
        "protected_redemption": False,
        "referral_code": membership.referral_code,
        "registration_status": membership.registration_status,
        "religion": membership.religion,
        "wedding_date": iso_date_or_none(membership.wedding_date),
        "site_activity": {
            "id": membership.pk,
            "registration_method": membership.registration_method,
        },
    }


class GenderField(serializers.ChoiceField):
    """Takes male or female in any case, and gives the text as sent (stripped): the answer
    echoes it. Its error never echoes the input."""

    default_error_messages = {"invalid_choice": 'Must be "male" or "female".'}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=["male", "female"], **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        text = data.strip() if isinstance(data, str) else data
        super().to_internal_value(text.lower() if isinstance(text, str) else text)
        return text


def gender_of(text: str) -> Gender:
    return Gender.MALE if text.lower() == "male" else Gender.FEMALE


def local_phone(phone: str) -> str:
    """An Indonesian number in the local form the register answer shows: +62 becomes 0."""
    return "0" + phone.removeprefix("+62") if phone.startswith("+62") else phone


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
    identifier = serializers.CharField(help_text="What the customer logs in with: the email.")
    member_id = serializers.CharField()
    phone = serializers.CharField(
        allow_blank=True, help_text="In local form: +62215600010 is answered as 0215600010."
    )
    birthday = serializers.DateField()
    gender = serializers.CharField(help_text="As sent: female, Female, male or Male.")


@stamps_schema("Register a member")
class MembershipRegisterApi(StampsApiView):
    """POST /api/memberships/register. Without `member_id` a 12-digit one is issued, which a
    till may send as `user` from then on (as it may the email); `identifier` in the answer is
    the email, what the customer logs in with; `gender` is echoed as sent and `phone` in local
    form, as the Stamps documents show. A Member ID that is another member's numeric id is
    refused: `user` would find the new member by it."""

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
        gender = data.pop("gender")
        registration = Registration(**data, gender=gender_of(gender))
        membership = membership_register(
            merchant=merchant, registration=registration, today=today(merchant)
        )
        return {
            "customer": {
                "id": membership.pk,
                "name": membership.name,
                "email": membership.email,
                "identifier": membership.email,
                "member_id": membership.member_id,
                "phone": local_phone(membership.phone),
                "birthday": iso_date_or_none(membership.birthday),
                "gender": gender,
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
        minimum_expiration_date = serializers.DateField(
            required=False, input_formats=["%Y-%m-%d"], help_text="Also sent as `expiration_date`."
        )
        expiration_date = serializers.DateField(
            required=False, input_formats=["%Y-%m-%d"], help_text="`minimum_expiration_date`."
        )

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
