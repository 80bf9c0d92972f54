"""The fast lane (stamps_server/fast_lane.py) must answer exactly what DRF's full path answers.
Each request here is sent down both lanes, each in a transaction rolled back afterwards, and
the answers are compared: status, headers that matter and body (ids and clocks aside)."""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import orjson
import pytest
from django.db import transaction
from django.test import RequestFactory
from django.urls import resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework.views import APIView

from loyalty.models import Award
from redemptions.services import redemption_create
from tests.conftest import Tenant, make_tenant
from tests.factories import RewardFactory, award_stamps
from tests.test_fuzz_endpoints import json_values
from transactions.services import Purchase, transaction_create

# Answers that differ between two runs of the same request by construction: new ids from
# sequences that a rollback does not rewind, issued Member IDs, and the clock.
VARYING = {"id", "created", "created_timestamp", "referral_code", "member_id", "identifier"}


class RolledBack(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def rolled_back(call: Callable[[], Any]) -> Any:
    """What `call` returns, run in a transaction that is then rolled back."""
    try:
        with transaction.atomic():
            raise RolledBack(call())
    except RolledBack as done:
        return done.result


def answer(view: Any, request: Any) -> Any:
    def rendered() -> Any:
        response = view(request)
        if hasattr(response, "render"):  # as Django's handler does for DRF's answers
            response.render()
        return response

    return rolled_back(rendered)


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<varies>" if k in VARYING else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def comparable(response: Any) -> tuple:
    try:
        body = masked(orjson.loads(response.content))
    except orjson.JSONDecodeError:
        body = response.content
    headers = {
        name: response.get(name)
        for name in ("Content-Type", "Allow", "Idempotent-Replayed", "WWW-Authenticate")
    }
    return response.status_code, headers, body


def both_lanes(path: str, raw: bytes, content_type: str, **headers: Any) -> tuple[Any, Any]:
    view = resolve(path).func
    factory = RequestFactory()

    def request() -> Any:
        return factory.post(path, raw, content_type=content_type, **headers)

    return answer(view, request()), answer(view.full_view, request())


@pytest.fixture
def till(db: None) -> dict[str, Any]:
    tenant = make_tenant()
    award = award_stamps(tenant.member, 40, store=tenant.store)
    reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5)
    now = award.created_at
    redemption = redemption_create(
        merchant=tenant.merchant,
        customer=tenant.member.email,
        store_id=tenant.store.pk,
        reward_id=reward.pk,
        now=now,
    )
    purchase = transaction_create(
        merchant=tenant.merchant,
        now=now,
        purchase=Purchase(
            store=tenant.store.pk,
            invoice_number="INV-1",
            total_value=Decimal(50_000),
            number_of_people=1,
            created=now,
            user=tenant.member.email,
        ),
    )
    return {
        "tenant": tenant,
        "award": award,
        "reward": reward,
        "redemption": redemption,
        "purchase": purchase,
    }


def right_values(till: dict[str, Any], path: str) -> dict[str, list[Any]]:
    """What a till sends when all is well, per field of each endpoint."""
    tenant: Tenant = till["tenant"]
    member = tenant.member
    users = [member.email, member.email.upper(), member.member_id, str(member.pk)]
    store, reward = [tenant.store.pk], [till["reward"].pk]
    return {
        "/api/stamps/add": {
            "user": users,
            "store": store,
            "number_of_stamps": [1, 3],
            "notes": ["", "till 3"],
            "expiration_date": ["2040-01-01"],
            "require_email_notification": [True, False],
        },
        "/api/stamps/cancel": {"user": users, "id": [till["award"].pk]},
        "/api/memberships/deduct-stamps": {
            "user": users,
            "stamps": [1, 30],
            "notes": ["till 3"],
        },
        "/api/redemptions/add": {
            "customer": users,
            "store": store,
            "reward": reward,
            "invoice_number": ["", "I-9"],
        },
        "/api/redemptions/cancel": {"id": [till["redemption"].pk]},
        "/api/transactions/add": {
            "user": [*users, None, ""],
            "store": store,
            "invoice_number": ["INV-2"],
            "total_value": [25_000, "12000.50"],
            "number_of_people": [2],
            "created": ["2026-11-22T10:00:00Z"],
        },
        "/api/transactions/cancel": {
            "id": [till["purchase"].pk],
            "cancel_related_redemptions": [True, False],
        },
        "/api/memberships/register": {
            "name": ["Sari"],
            "email": ["new@example.com"],
            "phone": ["+628123456789"],
            "merchant": [tenant.merchant.pk],
            "birthday": ["1990-05-17"],
            "gender": ["Female", "male"],
            "store": store,
        },
        "/api/ping": {"merchant": [tenant.merchant.pk]},
    }[path]


# Wrong in some way for one field or another: unknown, malformed, out of range, the wrong type.
WRONG = (
    st.sampled_from(
        [
            "nobody@example.com",
            "",
            "x" * 300,
            "\ud800",
            "2030-02-30",
            "INV-1",
            "not-an-email",
            0,
            -1,
            41,
            999_999,
            2**70,
            1.5,
            "2",
            None,
            True,
            [],
            {},
        ]
    )
    | json_values
)


def bodies(right: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly right values with a wrong one here and there, so that both successes and every
    kind of refusal come up."""
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.integers(0, 4).flatmap(
                lambda dice, values=values: WRONG if dice == 0 else st.sampled_from(values)
            )
            for name, values in right.items()
        },
    ).filter(lambda body: len(body) >= len(right) - 1)


ENDPOINTS = [
    "/api/memberships/deduct-stamps",
    "/api/memberships/register",
    "/api/ping",
    "/api/redemptions/add",
    "/api/redemptions/cancel",
    "/api/stamps/add",
    "/api/stamps/cancel",
    "/api/transactions/add",
    "/api/transactions/cancel",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_both_lanes_answer_alike(till: dict[str, Any], path: str) -> None:
    key = till["tenant"].key
    right = right_values(till, path)
    statuses: set[int] = set()

    def same_answer(body: dict, idempotency_key: str | None, key_in_body: bool) -> None:
        headers = {} if key_in_body else {"HTTP_AUTHORIZATION": f"Token {key}"}
        if key_in_body:
            body = {**body, "token": key}
        if idempotency_key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        raw = json.dumps(body).encode()  # escapes lone surrogates, as a careless client might
        fast, full = both_lanes(path, raw, "application/json", **headers)
        assert comparable(fast) == comparable(full)
        statuses.add(fast.status_code)

    same_answer({name: values[0] for name, values in right.items()}, None, False)
    assert statuses == {200}  # what a till sends when all is well
    settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))(
        given(
            body=bodies(right),
            idempotency_key=st.sampled_from([None, None, "till-3-0001", "", "\u00e9"]),
            key_in_body=st.booleans(),
        )(same_answer)
    )()
    assert len(statuses) > 1, statuses  # refusals compared too


@pytest.mark.parametrize(
    ("raw", "content_type", "headers"),
    [
        (b'{"user": "a@b.c"}', "application/x-www-form-urlencoded", {"auth": True}),
        (b"user=a%40b.c&store=1", "application/x-www-form-urlencoded", {"auth": True}),
        (b'{"user": ', "application/json", {"auth": True}),
        (b"[1, 2]", "application/json", {"auth": True}),
        (b"{}", "application/json", {}),
        (b'{"token": 7}', "application/json", {}),
        (b'{"token": "not-a-key"}', "application/json", {}),
        (b"{}", "application/json", {"HTTP_AUTHORIZATION": "Basic abc"}),
        (b"{}", "application/json", {"HTTP_AUTHORIZATION": "Token nope"}),
        (b"{}", "text/plain", {"auth": True}),
    ],
)
def test_odd_requests_answer_alike(
    till: dict[str, Any], raw: bytes, content_type: str, headers: dict[str, Any]
) -> None:
    if headers.pop("auth", False):
        headers["HTTP_AUTHORIZATION"] = f"Token {till['tenant'].key}"
    for path in ENDPOINTS:
        fast, full = both_lanes(path, raw, content_type, **headers)
        assert comparable(fast) == comparable(full)


def test_a_tills_json_post_skips_drfs_request_cycle(till: dict[str, Any]) -> None:
    tenant: Tenant = till["tenant"]
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
    with mock.patch.object(APIView, "initial", side_effect=AssertionError("took DRF's path")):
        by_header = tenant.post("/api/stamps/add", body)
        by_body_key = APIClient().post(
            "/api/stamps/add", {**body, "token": tenant.key}, format="json"
        )
    assert by_header.status_code == by_body_key.status_code == 200
    assert Award.objects.filter(membership=tenant.member, number_of_stamps=2).count() == 2


@pytest.mark.parametrize(
    "how",
    ["form", "query_key", "no_key", "bad_key", "not_json", "throttled"],
)
def test_everything_else_takes_the_full_path(till: dict[str, Any], how: str, settings: Any) -> None:
    tenant: Tenant = till["tenant"]
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
    post, anonymous_post = tenant.client.post, APIClient().post
    requests = {
        "form": lambda: post(
            "/api/stamps/add", urlencode(body), content_type="application/x-www-form-urlencoded"
        ),
        "query_key": lambda: anonymous_post(
            f"/api/stamps/add?token={tenant.key}", body, format="json"
        ),
        "no_key": lambda: anonymous_post("/api/stamps/add", body, format="json"),
        "bad_key": lambda: anonymous_post(
            "/api/stamps/add", body, format="json", HTTP_AUTHORIZATION="Token wrong"
        ),
        "not_json": lambda: post("/api/stamps/add", b"{", content_type="application/json"),
        "throttled": lambda: [tenant.post("/api/stamps/add", body) for _ in range(3)][-1],
    }
    settings.STAMPS_THROTTLE_RATE = "2/minute" if how == "throttled" else ""
    with mock.patch.object(APIView, "initial", autospec=True, side_effect=APIView.initial) as full:
        response = requests[how]()
    assert full.called
    assert (
        response.status_code
        == {
            "form": 200,
            "query_key": 200,
            "no_key": 403,
            "bad_key": 401,
            "not_json": 400,
            "throttled": 429,
        }[how]
    )
