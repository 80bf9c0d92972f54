"""The WSGI lane (stamps_server/wsgi_lane.py) must answer exactly what Django's request cycle
answers, headers included, and step aside for everything it is not sure of. Each request is
sent to the lane and to Django's API handler, each in a transaction rolled back afterwards."""

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, reset_queries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.models import Award
from stamps_server import housekeeping, wsgi_lane
from stamps_server.fast_lane import JSON
from stamps_server.wsgi import api_handler, application
from tests.test_fast_lane import (
    ENDPOINTS,
    bodies,
    masked,
    right_values,
    rolled_back,
    till,  # noqa: F401  (a fixture, used by name)
)
from tests.wsgi_call import wsgi_environ

Answer = tuple[str, list[tuple[str, str]], bytes]


@pytest.fixture(autouse=True)
def connection_kept_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As Django's test client does: the test's transaction must outlive each request."""
    monkeypatch.setattr(wsgi_lane, "ON_REQUEST_STARTED", (reset_queries,))
    monkeypatch.setattr(
        wsgi_lane,
        "ON_REQUEST_FINISHED",
        tuple(
            r
            for r in wsgi_lane.ON_REQUEST_FINISHED
            if r is not housekeeping.connections_at_request_finish
        ),
    )
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def environ_for(path: str, raw: bytes, content_type: str = JSON, **extra: Any) -> dict:
    return wsgi_environ("POST", path, raw, content_type, **{"wsgi.url_scheme": "https", **extra})


def through_django(environ: dict) -> Answer:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        started.update(status=status, headers=headers)

    result = api_handler(environ, start_response)
    body = b"".join(result)
    result.close()
    return started["status"], started["headers"], body


def comparable(answer: Answer) -> tuple:
    """Status, headers and body, ids masked; Content-Length checked, as ids vary in length."""
    status, headers, raw = answer
    assert dict(headers)["Content-Length"] == str(len(raw))
    headers = [(name, value) for name, value in headers if name != "Content-Length"]
    try:
        body = masked(json.loads(raw))
    except ValueError:
        body = raw
    return status, sorted(headers), body


def both(path: str, raw: bytes, **extra: Any) -> tuple[Answer | None, Answer]:
    lane = rolled_back(lambda: wsgi_lane.answer(environ_for(path, raw, **extra)))
    return lane, rolled_back(lambda: through_django(environ_for(path, raw, **extra)))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_lane_answers_as_django_does(till: dict[str, Any], path: str) -> None:  # noqa: F811
    auth = {"HTTP_AUTHORIZATION": f"Token {till['tenant'].key}"}
    right = right_values(till, path)
    statuses: set[str] = set()

    def same_answer(body: dict, idempotency_key: str | None) -> None:
        headers = dict(auth)
        if idempotency_key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        lane, django = both(path, json.dumps(body).encode(), **headers)
        if lane is None:  # a body orjson refuses (an escaped lone surrogate): Django's to answer
            return
        assert comparable(lane) == comparable(django)
        statuses.add(lane[0])

    same_answer({name: values[0] for name, values in right.items()}, None)
    assert statuses == {"200 OK"}  # what a till sends when all is well
    settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))(
        given(
            body=bodies(right),
            idempotency_key=st.sampled_from([None, None, "till-3-0001", ""]),
        )(same_answer)
    )()
    assert len(statuses) > 1, statuses  # refusals compared too


def test_an_award_through_the_application_takes_the_lane_and_applies_once(till) -> None:  # noqa: F811
    tenant = till["tenant"]
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
    raw = json.dumps(body).encode()
    environ = environ_for("/api/stamps/add", raw, HTTP_AUTHORIZATION=f"Token {tenant.key}")
    before = Award.objects.count()
    started: dict[str, Any] = {}

    with mock.patch.object(api_handler, "__call__", side_effect=AssertionError("not the lane")):
        result = application(environ, lambda status, headers: started.update(status=status))

    assert started["status"] == "200 OK"
    assert json.loads(b"".join(result))["award"]["number_of_stamps"] == 2
    assert Award.objects.count() == before + 1


STEPS_ASIDE = {
    "no key": {"HTTP_AUTHORIZATION": None},
    "unknown key": {"HTTP_AUTHORIZATION": "Token nope"},
    "another scheme": {"HTTP_AUTHORIZATION": "Basic abc"},
    "key in the query": {"QUERY_STRING": "token=abc"},
    "a GET": {"REQUEST_METHOD": "GET"},
    "a form": {"CONTENT_TYPE": "application/x-www-form-urlencoded"},
    "host not allowed": {"HTTP_HOST": "evil.example"},
    "plain http": {"wsgi.url_scheme": "http"},
    "no length": {"CONTENT_LENGTH": ""},
    "not JSON": {"raw": b'{"user": '},
    "too large": {"raw": b'{"notes": "' + b"x" * 70_000 + b'"}'},
    "an endpoint without a fast lane": {"PATH_INFO": "/api/rewards"},
    "not served": {"PATH_INFO": "/api/nothing-here"},
}


@pytest.mark.parametrize("case", sorted(STEPS_ASIDE))
def test_the_lane_steps_aside_and_django_still_reads_the_body(till, case: str, settings) -> None:  # noqa: F811
    settings.STAMPS_REQUIRE_HTTPS = True
    tenant = till["tenant"]
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}
    extra = {"HTTP_AUTHORIZATION": f"Token {tenant.key}", **STEPS_ASIDE[case]}
    raw = extra.pop("raw", json.dumps(body).encode())
    environ = environ_for("/api/stamps/add", raw, **extra)
    if environ["HTTP_AUTHORIZATION"] is None:
        del environ["HTTP_AUTHORIZATION"]

    assert wsgi_lane.answer(environ) is None
    status, _, answer = through_django(environ)  # the same environ, body already read once
    assert not status.startswith("200") or json.loads(answer)["award"]


def test_a_throttled_key_steps_aside(till, settings) -> None:  # noqa: F811
    tenant = till["tenant"]
    raw = json.dumps({"user": tenant.member.email, "store": tenant.store.pk}).encode()
    environ = environ_for("/api/stamps/add", raw, HTTP_AUTHORIZATION=f"Token {tenant.key}")

    with mock.patch("stamps_server.fast_lane.throttles_allow", return_value=False):
        assert wsgi_lane.answer(environ) is None


def test_an_unexpected_error_gets_djangos_500_and_the_request_still_finishes(
    till,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = till["tenant"]
    raw = json.dumps({"user": tenant.member.email, "store": tenant.store.pk}).encode()
    environ = environ_for("/api/stamps/add", raw, HTTP_AUTHORIZATION=f"Token {tenant.key}")
    finished = mock.Mock()
    monkeypatch.setattr(
        wsgi_lane, "ON_REQUEST_FINISHED", (*wsgi_lane.ON_REQUEST_FINISHED, finished)
    )

    with mock.patch("loyalty.apis.StampsAddApi.respond", side_effect=RuntimeError("boom")):
        status, _, _ = wsgi_lane.answer(environ)

    assert status.startswith("500")
    finished.assert_called_once()


def test_a_refusal_is_logged_as_django_logs_it(till, caplog) -> None:  # noqa: F811
    tenant = till["tenant"]
    raw = json.dumps(
        {"user": "nobody@example.com", "store": tenant.store.pk, "number_of_stamps": 1}
    )
    environ = environ_for("/api/stamps/add", raw.encode(), HTTP_AUTHORIZATION=f"Token {tenant.key}")

    with caplog.at_level("WARNING", logger="django.request"):
        status, _, _ = wsgi_lane.answer(environ)

    assert status.startswith("400")
    assert [r.getMessage() for r in caplog.records] == ["Bad Request: /api/stamps/add"]
