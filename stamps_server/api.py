"""What every Stamps endpoint shares: merchant auth, input validation, error style."""

import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.views import APIView

from idempotency import services as idempotency
from loyalty.models import Merchant
from stamps_server import fast_lane
from stamps_server.authentication import ApiClient
from stamps_server.errors import ErrorStyle
from stamps_server.quick_validation import quick_validated

MAX_ID = 2**63 - 1
MAX_STAMPS = 1_000_000


class TextField(serializers.CharField):
    """A CharField that also refuses lone UTF-16 surrogates, which no database can store."""

    quick_value_type = str  # stamps_server.quick_validation: a clean str comes back unchanged

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("invalid")
        return value

    default_error_messages = {"invalid": "Not a valid string."}


class UserField(TextField):
    """A member's email, Member ID (card number) or numeric id; JSON numbers are accepted."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


class BoundedIntegerField(serializers.IntegerField):
    """The JSON parser reads integers past 64 bits as floats; report those as out of range
    rather than as "not an integer"."""

    quick_value_type = int  # an int comes back unchanged (stamps_server.quick_validation)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            if self.max_value is not None and data > self.max_value:
                self.fail("max_value", max_value=self.max_value)
            if self.min_value is not None and data < self.min_value:
                self.fail("min_value", min_value=self.min_value)
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return BoundedIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def stamps_field(**kwargs: Any) -> serializers.IntegerField:
    return BoundedIntegerField(**{"min_value": 1, "max_value": MAX_STAMPS, **kwargs})


class StampsInput(serializers.Serializer):
    """A POST body. An optional field sent as JSON null counts as not given, so its default
    applies: the public Stamps client sends every parameter it knows, null when its caller
    gave none. A required field sent as null is still refused. The schema marks the optional
    fields nullable (stamps_server.schema.NullableOptionals)."""

    null_means_absent = True  # for stamps_server.quick_validation

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = without_null_optionals(data, self.fields)
        return super().to_internal_value(data)


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
    if name not in attrs:
        if value is None:
            required = ErrorDetail("This field is required.", code="required")
            raise serializers.ValidationError({name: [required]})
        attrs[name] = value
    return attrs


class StampsApiView(APIView):
    """A Stamps POST endpoint. Subclasses declare an InputSerializer, an `apply()` that
    validates the body, calls one service and returns the success body, and, if they answer
    errors in the older shape, `error_style`. Every endpoint honours an Idempotency-Key.

    `apply()` sees only the caller's merchant and the body, never the request, so one
    instance serves the fast lane (stamps_server.fast_lane) for every request."""

    error_style = ErrorStyle.FIELD_MAP
    InputSerializer: type[serializers.Serializer]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:  # type: ignore[override]
        return fast_lane.view_with_fast_lane(cls, super().as_view(**initkwargs))

    def apply(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        raise NotImplementedError

    @cached_property
    def allow_header(self) -> str:
        return ", ".join(self.allowed_methods)

    def post(self, request: Request) -> HttpResponse:
        client = request.user
        assert isinstance(client, ApiClient)
        return self.respond(
            merchant=client.merchant,
            body=request.data,
            path=request.path,
            idempotency_key=request.headers.get(idempotency.HEADER),
        )

    def respond(
        self, *, merchant: Merchant, body: Any, path: str, idempotency_key: str | None
    ) -> HttpResponse:
        """What both lanes run once the caller is known; errors are raised, not rendered."""
        if idempotency_key is None:
            return self.success_response(merchant, body)
        return idempotency.idempotent_call(
            merchant=merchant,
            key=idempotency.idempotency_key_check(idempotency_key),
            fingerprint=idempotency.request_fingerprint(path=path, data=body),
            now=timezone.now(),
            call=lambda: self.success_response(merchant, body),
            refusal_answer=lambda refusal: fast_lane.error_response(refusal, self),
        )

    def success_response(self, merchant: Merchant, body: Any) -> HttpResponse:
        return HttpResponse(orjson.dumps(self.apply(merchant, body)), content_type=fast_lane.JSON)

    def validated(self, body: Any) -> dict[str, Any]:
        serializer = reusable_serializer(self.InputSerializer)
        quick = quick_validated(serializer, body)
        if quick is not None:
            return quick
        serializer.initial_data = body
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


_serializers = threading.local()


def reusable_serializer(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One input serializer per class and thread, its results cleared for each request.
    Building a DRF serializer deep-copies every declared field: about a third of the hot
    path's Python time. Validation keeps nothing between requests but these cleared results."""
    cache = _serializers.__dict__
    serializer = cache.get(serializer_class)
    if serializer is None:
        serializer = cache[serializer_class] = serializer_class(data={})
    for result in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(result, None)
    return serializer
