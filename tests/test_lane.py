"""The lean lane (stamps_server/lane.py) answers exactly what Django's request cycle answers,
headers included, steps aside for whatever it is not sure of, and is really taken by a
well-formed till request in the shipped configuration.

Each request goes to the lane and to Django's own application, each in a transaction rolled
back afterwards, and the answers are compared (ids from sequences, which a rollback does not
rewind, and clocks aside)."""

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction

from loyalty.models import Award
from stamps_server import lane, wsgi
from stamps_server.lane import Lane
from tests.conftest import Tenant
from tests.factories import RewardFactory, award_stamps
from tests.wsgi_call import wsgi_environ

Answer = tuple[str, list[tuple[str, str]], bytes]
VARYING = {"id", "created", "created_timestamp", "referral_code", "member_id", "identifier"}


@pytest.fixture(autouse=True)
def connection_kept_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As Django's test client does: the test's transaction must outlive each request (both
    ways close a connection left outside autocommit)."""
    monkeypatch.setattr(lane, "connections_tidy", lambda databases: None)
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


class RolledBack(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def rolled_back(call: Callable[[], Any]) -> Any:
    try:
        with transaction.atomic():
            raise RolledBack(call())
    except RolledBack as done:
        return done.result


def call(application: Callable[..., Any], environ: dict[str, Any]) -> Answer:
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks = application(environ, lambda status, headers, *_: started.append((status, headers)))
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return started[0][0], started[0][1], content


def masked(content: bytes) -> Any:
    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<varies>" if k in VARYING else mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(item) for item in value]
        return value

    try:
        return mask(json.loads(content))
    except ValueError:
        return content


def both_ways(environ: dict[str, Any]) -> tuple[Answer, Answer]:
    """The lane's answer and Django's to the same request, each rolled back."""
    body = environ["wsgi.input"].read()

    def fresh() -> dict[str, Any]:
        return {**environ, "wsgi.input": io.BytesIO(body)}

    lane = rolled_back(lambda: call(wsgi.lane, fresh()))
    django = rolled_back(lambda: call(wsgi.django_application, fresh()))
    return lane, django


def assert_same_answer(lane: Answer, django: Answer) -> None:
    lane_status, lane_headers, lane_body = lane
    django_status, django_headers, django_body = django
    assert lane_status == django_status
    assert sorted(lane_headers) == sorted(django_headers)
    assert masked(lane_body) == masked(django_body)


def post(path: str, body: Any, tenant: Tenant | None = None, **meta: Any) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    if tenant is not None:
        meta.setdefault("HTTP_AUTHORIZATION", f"Token {tenant.key}")
    return wsgi_environ("POST", path, raw, "application/json", **meta)


@pytest.fixture
def till(tenant: Tenant) -> Tenant:
    award_stamps(tenant.member, 100, store=tenant.store)
    return tenant


def cases(t: Tenant) -> list[tuple[str, Any, dict[str, Any]]]:
    """(path, body, extra WSGI keys): successes, refusals and bad input on every endpoint."""
    user, store = t.member.email, t.store.pk
    reward = RewardFactory(merchant=t.merchant, stamps_to_redeem=5).pk
    award = Award.objects.filter(membership=t.member).first()
    return [
        ("/api/stamps/add", {"user": user, "store": store, "number_of_stamps": 3}, {}),
        ("/api/stamps/add/", {"user": user, "store": store, "number_of_stamps": 3}, {}),
        ("/api/stamps/add", {"user": user, "store": store, "number_of_stamps": "3"}, {}),
        ("/api/stamps/add", {"user": user, "store": store, "number_of_stamps": 0}, {}),
        (
            "/api/stamps/add",
            {"user": "nobody@example.com", "store": store, "number_of_stamps": 1},
            {},
        ),
        ("/api/stamps/add", {"user": user, "store": 999999, "number_of_stamps": 1}, {}),
        ("/api/stamps/add", {"user": user, "store": store}, {}),
        ("/api/stamps/add", [1, 2], {}),
        (
            "/api/stamps/add",
            {"user": user, "store": store, "number_of_stamps": 2, "token": t.key},
            {},
        ),
        (
            "/api/stamps/add",
            {"user": user, "store": store, "number_of_stamps": 2},
            {"HTTP_IDEMPOTENCY_KEY": "k-1"},
        ),
        (
            "/api/stamps/add",
            {"user": user, "store": store, "number_of_stamps": 2},
            {"HTTP_IDEMPOTENCY_KEY": "\u00e9"},
        ),
        ("/api/stamps/cancel", {"user": user, "id": award.pk}, {}),
        ("/api/stamps/cancel", {"user": user, "id": 999999}, {}),
        ("/api/memberships/deduct-stamps", {"user": user, "stamps": 5, "notes": "n"}, {}),
        ("/api/memberships/deduct-stamps", {"user": user, "stamps": 5000, "notes": "n"}, {}),
        ("/api/memberships/deduct-stamps", {"user": user, "stamps": 5}, {}),
        ("/api/redemptions/add", {"customer": user, "store": store, "reward": reward}, {}),
        ("/api/redemptions/add", {"user": user, "store": store, "reward": reward}, {}),
        ("/api/redemptions/add", {"customer": user, "store": store, "reward": 999999}, {}),
        ("/api/redemptions/add", {"store": store, "reward": reward}, {}),
        ("/api/redemptions/cancel", {"id": 999999}, {}),
        (
            "/api/transactions/add",
            {
                "user": user,
                "store": store,
                "invoice_number": "INV-1",
                "total_value": 125000,
                "number_of_people": 2,
                "created": "2026-11-22T10:00:00+07:00",
                "items": [{"product_name": "Latte", "quantity": 2, "price": 62500}],
            },
            {},
        ),
        ("/api/transactions/cancel", {"id": 999999}, {}),
        ("/api/ping", {}, {}),
        ("/api/ping", {"merchant": t.merchant.pk + 1}, {}),
    ]


@pytest.mark.django_db
class TestTheLaneAnswersAsDjangoDoes:
    def test_every_case_gets_the_same_answer_both_ways(self, till: Tenant) -> None:
        for path, body, meta in cases(till):
            lane, django = both_ways(post(path, body, till, **meta))
            assert_same_answer(lane, django)

    def test_a_request_it_steps_aside_for_gets_djangos_answer(self, till: Tenant) -> None:
        body = {"user": till.member.email, "store": till.store.pk, "number_of_stamps": 1}
        for environ in [
            post("/api/stamps/add", body, HTTP_AUTHORIZATION="Token wrong-key"),
            post("/api/stamps/add", body, HTTP_AUTHORIZATION="Basic abc"),
            post("/api/stamps/add", body),  # no key at all
            post("/api/stamps/add", b"{not json", till),
            post("/api/stamps/add", body, till, HTTP_HOST="evil.example.com"),
            post("/api/stamps/add", body, till, QUERY_STRING=f"token={till.key}"),
        ]:
            raw = environ["wsgi.input"].getvalue()
            assert wsgi.lane.take({**environ, "wsgi.input": io.BytesIO(raw)}) is None
            lane_answer, django_answer = both_ways(environ)
            assert_same_answer(lane_answer, django_answer)


@pytest.mark.django_db
class TestTheLaneIsTaken:
    """In the shipped configuration (https required, a TLS proxy's header trusted or the
    request over https itself), a till's well-formed call never reaches Django's handler."""

    @pytest.fixture
    def shipped(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        settings.STAMPS_REQUIRE_HTTPS = True
        settings.DEBUG = False

        def django_must_not_answer(environ: dict[str, Any], start_response: Any) -> Any:
            raise AssertionError(f"Django answered {environ['PATH_INFO']}")

        monkeypatch.setattr(wsgi.lane, "django_application", django_must_not_answer)

    def test_a_till_award_is_answered_by_the_lane(self, till: Tenant, shipped: None) -> None:
        body = {"user": till.member.email, "store": till.store.pk, "number_of_stamps": 2}
        environ = post("/api/stamps/add", body, till, **{"wsgi.url_scheme": "https"})

        status, headers, content = call(wsgi.application, environ)

        assert status == "200 OK"
        assert orjson.loads(content)["customer"]["stamps"] == 102
        assert dict(headers)["Content-Type"] == "application/json"

    def test_every_call_of_the_pos_mix_is_answered_by_the_lane(
        self, till: Tenant, shipped: None
    ) -> None:
        reward = RewardFactory(merchant=till.merchant, stamps_to_redeem=5)
        user, store = till.member.email, till.store.pk
        award = award_stamps(till.member, 3, store=till.store)
        calls = [
            ("/api/memberships/deduct-stamps", {"user": user, "stamps": 1, "notes": "n"}),
            ("/api/redemptions/add", {"customer": user, "store": store, "reward": reward.pk}),
            ("/api/stamps/cancel", {"user": user, "id": award.pk}),
        ]

        for path, body in calls:
            environ = post(path, body, till, **{"wsgi.url_scheme": "https"})
            status, _, content = call(wsgi.application, environ)
            assert status == "200 OK", content

    def test_plain_http_is_left_to_django_which_refuses_it(
        self, till: Tenant, shipped: None
    ) -> None:
        body = {"user": till.member.email, "store": till.store.pk, "number_of_stamps": 2}
        in_front = Lane(lambda environ, start_response: [b"django"])

        assert in_front.take(post("/api/stamps/add", body, till)) is None
