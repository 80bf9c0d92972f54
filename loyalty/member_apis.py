"""What a till asks about a member: ping, look-up, registration, expiring stamps, history.

GET endpoints take their parameters (and `token`, `merchant`) from the query string.
`merchant` is optional, since the token names the merchant; when sent it must be the token's
merchant, and a different one is refused as 400 `invalid` on the `merchant` field in the
field-map shape (not 403): the till learns which parameter is wrong, and learns nothing about
the other merchant."""

from datetime import UTC, date, datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.members import membership_find
from loyalty.models import Gender, Membership, Merchant
from loyalty.registration import Registration, membership_register
from loyalty.selectors import (
    Activity,
    activities_page,
    expiration_journals,
    membership_spendable_stamps,
)
from stamps_server.api import StampsApiView, StampsInput, TextField, UserField, id_field
from stamps_server.authentication import ApiClient
from stamps_server.errors import DomainError, ErrorStyle
from stamps_server.schema import Body, stamps_schema


class MerchantMismatch(DomainError):
    code = "invalid"
    message = "Does not match the merchant of this token."
    field = "merchant"


def ensure_own_merchant(merchant_id: int | None, merchant: Merchant) -> None:
    if merchant_id is not None and merchant_id != merchant.pk:
        raise MerchantMismatch()


class MerchantQuery(serializers.Serializer):
    """What every GET endpoint takes besides `token`."""

    merchant = id_field(required=False)


class StampsReadView(APIView):
    """A Stamps GET endpoint. Subclasses declare an InputSerializer (a MerchantQuery) for the
    query string and a `read()` that calls selectors and returns the success body; errors
    are rendered in the shape `error_style` names, as for the POST endpoints."""

    http_method_names = ["get", "options"]
    error_style = ErrorStyle.FIELD_MAP
    InputSerializer: type[MerchantQuery]

    @property
    def merchant(self) -> Merchant:
        client = self.request.user
        assert isinstance(client, ApiClient)
        return client.merchant

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = dict(serializer.validated_data)
        ensure_own_merchant(query.pop("merchant", None), self.merchant)
        return Response(self.read(query))


def gender_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=2, allow_null=True, help_text="1 (male), 2 (female) or null."
    )


def moment(value: datetime) -> dict[str, Any]:
    at = value.astimezone(UTC).replace(microsecond=0)
    return {"created": at.isoformat(), "created_timestamp": int(at.timestamp())}


def iso_date_or_none(membership: Membership) -> str | None:
    return membership.birthday.isoformat() if membership.birthday else None


def today() -> date:
    return timezone.localdate()


class Pong(Body):
    merchant = serializers.CharField(help_text="The name of the token's merchant.")
    merchant_id = serializers.IntegerField()


@stamps_schema("Check the key: answers with its merchant")
class PingApi(StampsApiView):
    class InputSerializer(StampsInput):
        merchant = id_field(required=False)

    class OutputSerializer(Body):
        pong = Pong()

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        ensure_own_merchant(self.validated(body).get("merchant"), merchant)
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
            "stamps": membership_spendable_stamps(membership, today=today()),
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
                "stamps": membership_spendable_stamps(membership, today=today()),
                "balance": 0,
                "is_blocked": membership.is_blocked,
                "referral_code": membership.referral_code,
                "start_date": timezone.localdate(membership.created_at).isoformat(),
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

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        data = self.validated(body)
        ensure_own_merchant(data.pop("merchant"), merchant)
        membership = membership_register(
            merchant=merchant, registration=Registration(**data), today=today()
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
        lots = expiration_journals(membership, today=today(), minimum_date=minimum)
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


class StoreBrief(Body):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ActivityAward(Body):
    id = serializers.IntegerField(required=False, help_text="On type 15: the expired lot.")
    stamps = serializers.IntegerField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = serializers.IntegerField(required=False)
    status_text = serializers.CharField(required=False)
    expiration_date = serializers.DateField(required=False)


class ActivityDeduction(Body):
    stamps = serializers.IntegerField()
    notes = serializers.CharField(allow_blank=True)
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityRedemption(Body):
    reward = serializers.CharField(help_text="The reward's name.")
    reward_id = serializers.IntegerField()
    stamps = serializers.IntegerField()
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityTransaction(Body):
    invoice_number = serializers.CharField()
    value = serializers.FloatField(help_text="The purchase's total value.")
    stamps_earned = serializers.IntegerField()
    status = serializers.IntegerField()
    status_text = serializers.CharField()


class ActivityLevelChange(Body):
    level = serializers.IntegerField(help_text="The level reached, e.g. 200.")
    level_text = serializers.CharField(help_text="Its name, e.g. Silver.")
    previous_level = serializers.IntegerField(help_text="The level left, e.g. 100.")
    previous_level_text = serializers.CharField(help_text="Its name, e.g. Blue.")


class ActivityBody(Body):
    """One line of history. Besides the common keys, each type carries its own: `award` and
    `store` (2), `transaction` and `store` (0), `redemption` and `store` (1), `membership`
    (5 and 6, with `stamps` 0), `stamps_deduction` (10), `expired_stamps` and `award` (15)."""

    id = serializers.IntegerField(help_text="The source row's id, unique within a type.")
    type = serializers.IntegerField(
        help_text="0 transaction, 1 redemption, 2 awarded stamps, "
        "5 level upgrade, 6 level downgrade, 10 deduct stamps, 15 stamps expired."
    )
    type_text = serializers.CharField()
    stamps = serializers.IntegerField(help_text="The amount moved; `type` says which way.")
    created = serializers.DateTimeField(help_text="UTC, to the second.")
    created_timestamp = serializers.IntegerField(help_text="`created` in Unix seconds.")
    award = ActivityAward(required=False)
    store = StoreBrief(required=False)
    stamps_deduction = ActivityDeduction(required=False)
    redemption = ActivityRedemption(required=False)
    transaction = ActivityTransaction(required=False)
    membership = ActivityLevelChange(required=False)
    expired_stamps = serializers.IntegerField(required=False)


def activity_body(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "type": int(activity.type),
        "type_text": activity.type.label,
        "stamps": activity.stamps,
        **moment(activity.created_at),
        **activity.details,
    }


@stamps_schema("A member's history, newest first")
class ActivitiesApi(StampsReadView):
    """GET /api/v3/activities/: a member's history, newest first, 20 a page at most.

    `older_than` is an ISO 8601 datetime, not an activity id: ids here are unique only
    within a type (an award's id, a redemption's id...). Pass the `created` of the last
    activity of a page to get the next one (URL-encode it: a `+` in a query string is a
    space); `has_next` says whether there is one. A page never splits one second's
    activities, so it may hold fewer than 20. `stamps` is always the amount moved; `type`
    says which way."""

    class InputSerializer(MerchantQuery):
        user = UserField()
        older_than = serializers.DateTimeField(required=False)

    class OutputSerializer(Body):
        activities = ActivityBody(many=True)
        has_next = serializers.BooleanField()

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        membership = membership_find(merchant=self.merchant, user=query["user"])
        page = activities_page(membership, older_than=query.get("older_than"))
        return {
            "activities": [activity_body(activity) for activity in page.activities],
            "has_next": page.has_next,
        }
