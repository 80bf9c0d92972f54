"""The fast lane of the Stamps POST endpoints.

A well-formed JSON POST from a known key (the request every till sends all day) skips DRF's
request cycle, about half of an award's Python time, and goes straight to the endpoint's
`respond()`. Anything else (another method or media type, a body that is not JSON, a missing,
malformed or unknown key, a key in the query string, a throttled caller) takes DRF's full path,
which stays the one place those answers are made. Both lanes share the key lookup, the
throttle, validation, idempotency and the exception handler, and tests/test_fast_lane.py
sends the same requests down both and compares the bytes."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer

from stamps_server.authentication import (
    ApiClient,
    api_client_for_key,
    key_from_body,
    key_from_header,
)
from stamps_server.errors import InvalidToken
from stamps_server.exception_handler import stamps_exception_handler

if TYPE_CHECKING:
    from stamps_server.api import StampsApiView

JSON = "application/json"
IDEMPOTENCY_KEY_META = "HTTP_IDEMPOTENCY_KEY"


@dataclass(frozen=True)
class Caller:
    """What DRF's throttles read of a request: who is calling."""

    user: ApiClient


def view_with_fast_lane(
    view_class: "type[StampsApiView]", full_view: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    endpoint = view_class()

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        entry = fast_lane_entry(request, endpoint)
        if entry is None:
            return full_view(request, *args, **kwargs)
        client, body = entry
        return fast_answer(endpoint, client, body, request.path, request.META)

    # DRF's tooling (drf-spectacular's schema among it) finds the view class through these.
    view.cls = full_view.cls  # type: ignore[attr-defined]
    view.initkwargs = full_view.initkwargs  # type: ignore[attr-defined]
    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.full_view = full_view  # type: ignore[attr-defined]
    view.endpoint = endpoint  # type: ignore[attr-defined]  (stamps_server.wsgi_lane)
    return view


def fast_answer(
    endpoint: "StampsApiView", client: ApiClient, body: Any, path: str, meta: Mapping[str, Any]
) -> HttpResponse:
    """The answer, success or refusal, to a request a fast lane took."""
    try:
        response = endpoint.respond(
            merchant=client.merchant,
            body=body,
            path=path,
            idempotency_key=meta.get(IDEMPOTENCY_KEY_META),
        )
    except Exception as error:
        response = error_response(error, endpoint)
    response["Allow"] = endpoint.allow_header  # as DRF sets it on every answer
    return response


def fast_lane_entry(
    request: HttpRequest, endpoint: "StampsApiView"
) -> tuple[ApiClient, Any] | None:
    """The caller and the parsed body when the request may take the fast lane, else None."""
    if request.method != "POST" or request.content_type != JSON:
        return None
    return fast_lane_caller(
        endpoint, request.body, request.META, query_token="token" in request.GET
    )


def fast_lane_caller(
    endpoint: "StampsApiView", raw: bytes, meta: Mapping[str, Any], *, query_token: bool
) -> tuple[ApiClient, Any] | None:
    """The caller and the parsed body of a JSON POST, both lanes' test: None unless the body
    is JSON, the key (header, else body, unless the query names one) is known and the
    caller's throttles let it through."""
    try:
        body = orjson.loads(raw)
        key = key_from_header(meta)
    except (orjson.JSONDecodeError, InvalidToken):
        return None
    if key is None:
        key = None if query_token else key_from_body(body)
        if not isinstance(key, str) or not key:
            return None
    client = api_client_for_key(key)
    if client is None or not throttles_allow(endpoint, client):
        return None
    return client, body


def throttles_allow(endpoint: "StampsApiView", client: ApiClient) -> bool:
    caller: Any = Caller(user=client)
    return all(throttle().allow_request(caller, endpoint) for throttle in endpoint.throttle_classes)


def error_response(error: Exception, endpoint: "StampsApiView") -> HttpResponse:
    """The answer DRF's exception handling would give, rendered as DRF renders it."""
    response = stamps_exception_handler(error, {"view": endpoint})
    if response is None:
        raise error
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSON
    response.renderer_context = {"view": endpoint}  # type: ignore[attr-defined]
    response.render()
    return response
