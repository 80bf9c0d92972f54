"""What every Stamps endpoint shares: its input fields, the base views for its POSTs and
GETs, and `StampsApiView.answer`, the one place a POST is answered, whichever way it came
in (DRF's request cycle, or the lean lane in front of it: stamps_server/lane.py)."""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import APIView

from core.answers import JSON, Answer
from core.errors import DomainError, ErrorStyle
from core.exception_handler import stamps_exception_handler
from core.idempotency.services import (
    HEADER,
    idempotency_key_check,
    idempotent_call,
    request_fingerprint,
)

MAX_ID = 2**63 - 1
MAX_STAMPS = 1_000_000


class Caller(Protocol):
    """Who is calling: a merchant's API key (loyalty.authentication.ApiClient)."""

    @property
    def merchant(self) -> Any: ...

    @property
    def token_id(self) -> int: ...


class TextField(serializers.CharField):
    """A CharField that refuses lone UTF-16 surrogates, which no database can store, as
    "Not a valid string." (a failed UTF-8 encoding, in place of DRF's validator that walks
    the string character by character). A field given no validators of its own checks its
    length and NUL characters itself, with DRF's messages and codes and in DRF's order,
    rather than through the validator objects CharField adds, which build their message's
    parameters on every call."""

    default_error_messages = {
        "invalid": "Not a valid string.",
        "null_characters_not_allowed": ProhibitNullCharactersValidator.message,
    }

    def __init__(self, **kwargs: Any) -> None:
        self.checks_itself = "validators" not in kwargs
        super().__init__(**kwargs)
        if self.checks_itself:
            self.validators = []
        else:
            self.validators = [
                validator
                for validator in self.validators
                if not isinstance(validator, ProhibitSurrogateCharactersValidator)
            ]

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("invalid")
        if self.checks_itself:
            self.content_check(value)
        return value

    def content_check(self, value: str) -> None:
        if self.max_length is not None and len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if self.min_length is not None and len(value) < self.min_length:
            self.fail("min_length", min_length=self.min_length)
        if "\x00" in value:
            self.fail("null_characters_not_allowed")


class UserField(TextField):
    """A member's email, Member ID (card number) or numeric id; JSON numbers are accepted."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


class BoundedIntegerField(serializers.IntegerField):
    """An integer from min_value to max_value, with DRF's messages and codes. The bounds are
    checked here rather than by the validator objects IntegerField adds, which build their
    message's parameters on every call (a tenth of an award's validation), and a JSON
    integer is taken as it is rather than through DRF's conversion of its text. The JSON
    parser reads integers past 64 bits as floats: those are out of range, not "not an
    integer"."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value  # (the schema reads them)

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            if isinstance(data, float) and data.is_integer():
                self.bounds_check(data)
            data = super().to_internal_value(data)
        self.bounds_check(data)
        return data

    def bounds_check(self, data: float) -> None:
        if data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        if data < self.min_value:
            self.fail("min_value", min_value=self.min_value)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return BoundedIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def stamps_field(**kwargs: Any) -> serializers.IntegerField:
    return BoundedIntegerField(**{"min_value": 1, "max_value": MAX_STAMPS, **kwargs})


class StampsInput(serializers.Serializer):
    """A POST body. An optional field sent as JSON null counts as not given, so its default
    applies: the public Stamps client sends every parameter it knows, null when its caller
    gave none. A required field sent as null is still refused. The schema marks the optional
    fields nullable (core.schema.NullableOptionals).

    A JSON object is validated field by field as DRF's Serializer.to_internal_value does,
    without the generality its fields here do not need (nested sources, HTML form input,
    `validate_<field>` methods, which these serializers may not have): that loop was half of
    an award's validation. Anything else (a form body) goes through DRF's own loop.
    tests/core/test_inputs.py holds the two to the same answers."""

    def to_internal_value(self, data: Any) -> Any:
        if type(data) is not dict:
            if isinstance(data, Mapping):
                data = without_null_optionals(data, self.fields)
            validated = super().to_internal_value(data)
            ensure_lists_read(self.fields, data, validated)
            return validated
        validated: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field in self.fields.items():
            value = data.get(name, empty)
            if value is None and not field.required:
                value = empty
            try:
                validated[name] = field.run_validation(value)
            except serializers.ValidationError as error:
                errors[name] = error.detail
            except DjangoValidationError as error:
                errors[name] = get_error_detail(error)
            except SkipField:
                pass
        if errors:
            raise serializers.ValidationError(errors)
        return validated

    def run_validators(self, value: Any) -> None:
        if self.validators:  # (these serializers have none: no call to make for nothing)
            super().run_validators(value)


def ensure_lists_read(fields: Mapping[str, Any], data: Any, validated: dict[str, Any]) -> None:
    """A form carries a list only as `name[0]field=...` pairs; DRF's form reading passes
    over a list sent as one `name=...` field as if it were absent. Refused, not dropped."""
    for name, field in fields.items():
        unread = name not in validated and data.get(name) not in (None, "")
        if unread and isinstance(field, serializers.ListSerializer | serializers.ListField):
            raise serializers.ValidationError({name: [f"Send the {name} in a JSON body."]})


def without_null_optionals(data: Mapping[str, Any], fields: Mapping[str, Any]) -> Mapping[str, Any]:
    def optional(name: str) -> bool:
        return name in fields and not fields[name].required

    nulls = [name for name, value in data.items() if value is None and optional(name)]
    if not nulls:  # a form body (never null) stays a QueryDict, as its fields expect
        return data
    return {name: value for name, value in data.items() if name not in nulls}


def with_alias(attrs: dict[str, Any], name: str, alias: str) -> dict[str, Any]:
    """Folds `alias`, another name clients send for `name`, into `name`; `name` wins when
    both are sent, and neither is refused as `name` being required."""
    value = attrs.pop(alias, None)
    if attrs.get(name) is None:
        if value is None:
            required = ErrorDetail("This field is required.", code="required")
            raise serializers.ValidationError({name: [required]})
        attrs[name] = value
    return attrs


def json_number(value: Decimal | None) -> int | float | None:
    """A money amount as the Stamps examples print one: a whole amount without a fraction."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def moment(value: datetime) -> dict[str, Any]:
    """A moment as the Stamps answers give it: `created` in UTC to the second, and the same
    as Unix seconds in `created_timestamp`."""
    seconds = int(value.timestamp())
    at = datetime.fromtimestamp(seconds, UTC)
    return {"created": at.isoformat(), "created_timestamp": seconds}


@cache
def input_serializer(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One serializer per input class, shared by every request: building one deep-copies
    each declared field, a third of a request's Python. `run_validation` keeps nothing on
    the serializer between requests; its fields are bound here, before threads share it."""
    serializer = serializer_class()
    for name, field in serializer.fields.items():
        lean = (
            field.source_attrs == [name]
            and not field.read_only
            and not hasattr(serializer, f"validate_{name}")
        )
        assert lean, f"{serializer_class.__qualname__}.{name}: see StampsInput"
    return serializer


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """What `serializer_class(data=data)` validates `data` to; its ValidationError if not."""
    return dict(input_serializer(serializer_class).run_validation(data))


def rendered(response: Response, view: APIView) -> Response:
    """A DRF Response rendered as DRF's view would render it."""
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSON
    response.renderer_context = {"view": view}
    response.render()
    return response


class StampsApiView(APIView):
    """A Stamps POST endpoint. Subclasses declare an InputSerializer, an `apply()` that
    calls one service with the validated body and returns the success body, and, if they
    answer errors in the older shape, `error_style`. Every endpoint honours an
    Idempotency-Key. A view instance holds nothing of a request, so the lane keeps one."""

    error_style = ErrorStyle.FIELD_MAP
    InputSerializer: type[serializers.Serializer]

    def apply(self, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def post(self, request: Request) -> HttpResponse:
        answer = self.answer(
            caller=request.user,  # type: ignore[arg-type]  (HasMerchantToken let it in)
            body=request.data,
            path=request.path,
            idempotency_key=request.headers.get(HEADER),
        )
        return answer.as_response()

    def answer(
        self, *, caller: Caller, body: Any, path: str, idempotency_key: str | None
    ) -> Answer:
        """The answer, success or refusal, once the caller is known."""
        try:
            if idempotency_key is None:
                return self.success(caller, body)
            return idempotent_call(
                merchant=caller.merchant,
                key=idempotency_key_check(idempotency_key),
                fingerprint=request_fingerprint(path=path, data=body),
                now=timezone.now(),
                call=lambda: self.success(caller, body),
                refusal_answer=self.refusal,
            )
        except Exception as error:
            return self.refusal(error)

    def success(self, caller: Caller, body: Any) -> Answer:
        answer = self.apply(caller, validated(self.InputSerializer, body))
        return Answer(200, orjson.dumps(answer))

    def refusal(self, error: Exception) -> Answer:
        """The answer DRF's exception handling gives; an error it has none for is raised."""
        response = stamps_exception_handler(error, {"view": self})
        if response is None:
            raise error
        return Answer.of(rendered(response, self))


class MerchantQuery(serializers.Serializer):
    """What every GET endpoint takes besides `token`."""

    merchant = id_field(required=False)


class StampsReadView(APIView):
    """A Stamps GET endpoint. Subclasses declare an InputSerializer (a MerchantQuery) for the
    query string and a `read()` that calls selectors and returns the success body; errors
    are rendered in the shape `error_style` names, as for the POST endpoints."""

    http_method_names = ["get", "head", "options"]
    error_style = ErrorStyle.FIELD_MAP
    InputSerializer: type[MerchantQuery]

    @property
    def merchant(self) -> Any:
        caller: Caller = self.request.user  # type: ignore[assignment]
        return caller.merchant

    def read(self, query: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        query = validated(self.InputSerializer, request.query_params)
        ensure_own_merchant(query.pop("merchant", None), self.merchant)
        return Response(self.read(query))


class MerchantMismatch(DomainError):
    """`merchant`, which older clients send, must be the key's own when it is sent: a
    different one is refused as 400 `invalid` on `merchant`, so the till learns which
    parameter is wrong and nothing about the other merchant."""

    code = "invalid"
    message = "Does not match the merchant of this token."
    field = "merchant"


def ensure_own_merchant(merchant_id: int | None, merchant: Any) -> None:
    if merchant_id is not None and merchant_id != merchant.pk:
        raise MerchantMismatch()
