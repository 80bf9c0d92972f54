"""One JSON line per request, the same whichever way the request is answered (the lean lane
or Django's request cycle), with the request's id; never the API key nor a member's email."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from core.request_log import JsonFormatter, PlainFormatter, RequestIdFilter
from loyalty.apis import StampsAddApi
from loyalty.models import ApiToken
from tests.conftest import Tenant, make_tenant
from tests.wsgi_call import WsgiAnswer, wsgi_call


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record logged, as the production handler writes it (JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line["logger"] == "stamps.request"]


def award_body(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2, **extra}


def api_key_id(tenant: Tenant) -> int:
    return ApiToken.objects.get(merchant=tenant.merchant).pk


def json_post(path: str, body: dict[str, Any], **meta: Any) -> WsgiAnswer:
    return wsgi_call("POST", path, orjson.dumps(body), "application/json", **meta)


def form_post(path: str, body: dict[str, Any], **meta: Any) -> WsgiAnswer:
    content_type = "application/x-www-form-urlencoded"
    return wsgi_call("POST", path, urlencode(body).encode(), content_type, **meta)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("post", [json_post, form_post], ids=["lane", "django"])
def test_a_request_is_one_line_with_route_status_and_caller(
    post: Any, log_lines: io.StringIO
) -> None:
    tenant = make_tenant()

    answer = post(
        "/api/stamps/add/",
        award_body(tenant),
        HTTP_AUTHORIZATION=f"Token {tenant.key}",
        HTTP_X_REQUEST_ID="till-7:call-42",
    )

    assert answer.status == 200
    assert answer.headers["X-Request-ID"] == "till-7:call-42"
    (line,) = access_lines(log_lines)
    assert line["request_id"] == "till-7:call-42"
    assert line["method"] == "POST"
    assert line["route"] == "api/stamps/add"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["merchant_id"] == tenant.merchant.pk
    assert line["api_key_id"] == api_key_id(tenant)
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db(transaction=True)
def test_a_request_without_a_valid_id_gets_a_new_one(log_lines: io.StringIO) -> None:
    ids = [
        wsgi_call("GET", "/api/ping", **meta).headers["X-Request-ID"]
        for meta in ({}, {"HTTP_X_REQUEST_ID": "x" * 129}, {"HTTP_X_REQUEST_ID": "a b\x07"})
    ]

    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids)
    assert len(set(ids)) == 3
    assert [line["request_id"] for line in access_lines(log_lines)] == ids
    assert {line["route"] for line in access_lines(log_lines)} == {"api/ping"}


@pytest.mark.django_db(transaction=True)
def test_an_unknown_path_is_logged_by_its_pattern_not_as_its_path(log_lines: io.StringIO) -> None:
    wsgi_call("GET", "/api/no/such/alice@example.com")
    wsgi_call("GET", "/no/such/alice@example.com")

    assert [(line["route"], line["status"]) for line in access_lines(log_lines)] == [
        ("api/", 404),  # the catch-all that answers JSON 404s under /api/
        ("unmatched", 404),
    ]
    assert "alice@example.com" not in log_lines.getvalue()


@pytest.mark.django_db(transaction=True)
def test_no_line_holds_the_key_nor_a_members_email_or_phone(log_lines: io.StringIO) -> None:
    tenant = make_tenant()
    email = tenant.member.email
    header = {"HTTP_AUTHORIZATION": f"Token {tenant.key}"}
    details = f"/api/v2/memberships/details?{urlencode({'token': tenant.key, 'user': email})}"
    phone = "+62215600010"
    registration = {
        "merchant": tenant.merchant.pk,
        "name": "Siti",
        "email": "siti@example.com",
        "birthday": "1991-10-19",
        "gender": "female",
        "phone": phone,
        "store": tenant.store.pk,
        "member_id": "123412341234",
    }

    answers = [
        json_post("/api/stamps/add", award_body(tenant), **header),
        json_post("/api/stamps/add", award_body(tenant, token=tenant.key)),
        form_post("/api/stamps/add", award_body(tenant, token=tenant.key)),
        form_post(
            "/api/stamps/add", {**award_body(tenant), "user": "nobody@example.com"}, **header
        ),
        wsgi_call("GET", details.split("?")[0], QUERY_STRING=details.split("?")[1]),
        json_post("/api/stamps/add", award_body(tenant), HTTP_AUTHORIZATION="Token wrong-key"),
        json_post("/api/memberships/register", registration, **header),
        json_post("/api/memberships/register", registration, **header),  # a duplicate
    ]

    assert [answer.status for answer in answers] == [200, 200, 200, 400, 200, 401, 200, 400]
    text = log_lines.getvalue()
    assert len(access_lines(log_lines)) == len(answers)
    assert tenant.key not in text
    assert email not in text
    assert "nobody@example.com" not in text
    assert "siti@example.com" not in text
    assert phone not in text


@pytest.mark.django_db(transaction=True)
def test_an_error_is_logged_with_its_traceback_and_the_request_id(
    log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()

    def broken(self: Any, caller: Any, data: Any) -> Any:
        raise RuntimeError("the ledger broke")

    monkeypatch.setattr(StampsAddApi, "apply", broken)
    answer = json_post(
        "/api/stamps/add",
        award_body(tenant),
        HTTP_AUTHORIZATION=f"Token {tenant.key}",
        HTTP_X_REQUEST_ID="req-500",
    )

    assert answer.status == 500
    error = next(line for line in lines(log_lines) if line["level"] == "ERROR")
    assert error["request_id"] == "req-500"
    assert error["error"] == "RuntimeError"
    assert "RuntimeError: the ledger broke" in error["traceback"]
    (access,) = access_lines(log_lines)
    assert (access["status"], access["request_id"]) == (500, "req-500")


def test_the_plain_format_is_a_readable_line_with_the_request_id() -> None:
    record = logging.LogRecord("stamps.request", logging.INFO, "", 0, "GET api/ping 200", (), None)
    RequestIdFilter().filter(record)

    line = PlainFormatter().format(record)

    assert line.endswith("INFO stamps.request [-] GET api/ping 200")
