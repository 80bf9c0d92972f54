"""The published OpenAPI contract (drf-spectacular): how a caller authenticates, the error
bodies every endpoint may answer, and `stamps_schema`, the one decorator each endpoint wears.

A view declares its request as `InputSerializer` (the body of a POST, the query string of a
GET) and its 200 body as `OutputSerializer`, a `Body`. The views build their answers as dicts,
so these serializers only document them; the schemathesis run (tests/test_schemathesis.py)
fails when a real answer leaves the schema. Importing this module (every documented view
does) registers the extensions below."""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
)
from drf_spectacular.plumbing import append_meta, get_lib_doc_excludes
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.views import APIView

from core.api import StampsApiView, StampsInput, StampsReadView
from core.errors import INFO_KEY, LEGACY_DETAIL, NON_FIELD, ErrorStyle
from core.idempotency.services import KEY_PATTERN

View = TypeVar("View", bound=type[APIView])


class Body(serializers.Serializer):
    """A response body: exactly the keys declared (additionalProperties false), so an answer
    that grows a key the schema does not name fails the contract test. Fields the answer may
    leave out are declared with required=False."""


class ClosedBody(OpenApiSerializerExtension):
    target_class = Body
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class NullableOptionals(OpenApiSerializerExtension):
    """core.api.StampsInput: an optional field may be sent as null (not given)."""

    target_class = StampsInput
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        required = set(schema.get("required", []))
        properties = schema["properties"]
        for name in properties.keys() - required:
            properties[name] = append_meta(properties[name], {"nullable": True})
        return schema


class FieldMapError(Body):
    detail = serializers.CharField(
        help_text='"<field>: <message>", or the message alone when no field is at fault.'
    )
    error_message = serializers.CharField(help_text="The same as `detail`.")
    error_code = serializers.CharField(
        help_text="Stable snake_case code: required, invalid, invalid_data, insufficient_stamps..."
    )
    # DRF's metaclass takes declared fields off the class, so `Serializer.errors` survives.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(),
        help_text=f"One message per field at fault; `{NON_FIELD}` when no field is.",
    )


class LegacyListError(Body):
    detail = serializers.CharField(help_text=f'Always "{LEGACY_DETAIL}".')
    errors = serializers.ListField(  # type: ignore[assignment]
        child=serializers.DictField(child=serializers.CharField()),
        help_text=f"One-key objects {{field: message}}; `{NON_FIELD}` when no field is at fault.",
    )


class InfoError(Body):
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(),
        help_text=f"`{INFO_KEY}` for a refusal, else one message per field at fault.",
    )


class PlainError(Body):
    detail = serializers.CharField()


STYLED_ERRORS = {
    ErrorStyle.FIELD_MAP: FieldMapError,
    ErrorStyle.LEGACY_LIST: LegacyListError,
    ErrorStyle.LEGACY_SENTENCES: LegacyListError,
    ErrorStyle.INFO: InfoError,
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=KEY_PATTERN,
    description=(
        "1 to 255 printable ASCII characters. A retry with the same key and body gets the "
        "first answer back (with `Idempotent-Replayed: true`) instead of applying twice."
    ),
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='"true" when this is the stored answer to an earlier request with the key.',
    response=[200],
)
REFUSAL_HEADERS = [
    OpenApiParameter("WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[401]),
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        description="Seconds to wait before the next request.",
        response=[429],
    ),
]


def error_responses(style: ErrorStyle, *, idempotent: bool) -> dict[int, OpenApiResponse]:
    """Every refusal an endpoint can give: its own style for what the view refuses,
    `{"detail"}` for what DRF or the middleware refuse before the view runs."""
    styled = STYLED_ERRORS[style]
    responses = {
        400: OpenApiResponse(styled, "Invalid input, or a refusal the caller can act on."),
        401: OpenApiResponse(PlainError, "A token was sent and is not valid."),
        403: OpenApiResponse(
            PlainError, "No token was sent, or plain http where https is required."
        ),
        404: OpenApiResponse(
            PlainError if style is ErrorStyle.INFO else styled, "An id this merchant cannot see."
        ),
        405: OpenApiResponse(PlainError, "Another method on this path (see `Allow`)."),
        406: OpenApiResponse(PlainError, "The Accept header excludes application/json."),
        413: OpenApiResponse(PlainError, "The body is larger than the server accepts."),
        415: OpenApiResponse(styled, "The body is neither JSON nor form-encoded."),
        429: OpenApiResponse(PlainError, "Too many requests with this token."),
    }
    if idempotent:
        responses[409] = OpenApiResponse(
            styled, "A request with this Idempotency-Key is still being processed."
        )
        responses[422] = OpenApiResponse(
            styled, "This Idempotency-Key was used with a different request."
        )
    return dict(sorted(responses.items()))


def stamps_schema(summary: str) -> Callable[[View], View]:
    """Documents a Stamps endpoint from what it declares: `InputSerializer`,
    `OutputSerializer`, `error_style`, and whether it answers POST or GET."""

    def document(view: View) -> View:
        declared: Any = view  # the serializers are the subclass's own
        name = view.__name__.removesuffix("Api")
        output = extend_schema_serializer(component_name=f"{name}Response")(
            declared.OutputSerializer
        )
        is_post = hasattr(view, "post")
        responses = {
            200: OpenApiResponse(output, "Success."),
            **error_responses(declared.error_style, idempotent=is_post),
        }
        if is_post:
            body = extend_schema_serializer(component_name=f"{name}Request")(
                declared.InputSerializer
            )
            parameters = [IDEMPOTENCY_KEY, REPLAYED, *REFUSAL_HEADERS]
            annotate = extend_schema(
                summary=summary, request=body, parameters=parameters, responses=responses
            )
        else:
            parameters = [declared.InputSerializer, *REFUSAL_HEADERS]
            annotate = extend_schema(summary=summary, parameters=parameters, responses=responses)
        return annotate(view)

    return document


def lib_doc_excludes() -> list[type]:
    """Classes whose docstrings are for this code's readers, not the API's: the description
    of an endpoint or a body is its own class's docstring, or none."""
    return [*get_lib_doc_excludes(), StampsApiView, StampsInput, StampsReadView, Body]
