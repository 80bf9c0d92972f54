"""Schemathesis drives the live app through the schema it publishes at /api/schema/: a bounded
run over every operation, valid and invalid requests alike. No answer may be a server error or
leave the schema, and no operation may do anything for a request that lacks a valid key but
refuse it (403 without a key, 401 with a bad one)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from redemptions.services import redemption_cancel, redemption_create
from tests.conftest import Tenant, make_tenant
from tests.factories import RewardFactory, award_stamps, deduct_stamps, redeemed
from transactions.services import Purchase, transaction_create

# Loaded over https so that it loads whatever STAMPS_REQUIRE_HTTPS says; the tests themselves
# run with it off (tests/conftest.py).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", get_wsgi_application(), base_url="https://localhost"
)
BOUNDED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,  # a request that succeeded is repeated without a key, and with a bad one
]


def realistic_values() -> dict[str, st.SearchStrategy[Any]]:
    """Values a till would send for fields whose random values are nearly always refused
    (an award over the merchant's limit, a date in the past, a malformed amount)."""
    today = timezone.localdate()
    return {
        "number_of_stamps": st.integers(1, 100),
        "stamps": st.integers(1, 20),
        "total_value": st.sampled_from(["120000", "35000.50", "0"]),
        "number_of_people": st.integers(1, 8),
        "created": st.just(timezone.now().isoformat()),
        "expiration_date": st.just((today + timedelta(days=90)).isoformat()),
        "birthday": st.just("1990-05-17"),
    }


@dataclass
class Scene:
    """A member with history of every kind, so reads answer with full bodies, and rows that
    writes can name, so they can succeed."""

    tenant: Tenant
    reward_ids: list[int]
    cancelable: dict[str, list[int]]  # by the first part of the path: stamps, redemptions...

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.tenant.key}"}

    def realistic(self, name: str, case: schemathesis.Case) -> st.SearchStrategy[Any] | None:
        """What a till would send as this field of this case; None for a field left random."""
        member, store = self.tenant.member, self.tenant.store
        if name == "id":
            resource = case.path.removeprefix("/api/").split("/")[0]
            ids = self.cancelable.get(resource)
            return st.sampled_from(ids) if ids else None
        rows = {
            "user": st.sampled_from([member.email, member.member_id, str(member.pk)]),
            "customer": st.sampled_from([member.email, member.member_id]),
            "store": st.just(store.pk),
            "merchant": st.just(self.tenant.merchant.pk),
            "reward": st.sampled_from(self.reward_ids),
        }
        return rows[name] if name in rows else realistic_values().get(name)

    def make_realistic(self, case: schemathesis.Case, data: st.DataObject) -> None:
        """Random users, ids and amounts are nearly always refused. Replace all of them with
        what a till would send in half the cases, and each one on its own in half the rest,
        so the run reaches the answers of successful calls as well as of each refusal."""
        all_realistic = data.draw(st.booleans(), label="all fields realistic")
        for values in (case.query, case.body):
            if not isinstance(values, dict):
                continue
            for name in list(values):
                realistic = self.realistic(name, case)
                if realistic is not None and (
                    all_realistic or data.draw(st.booleans(), label=name)
                ):
                    values[name] = data.draw(realistic, label=f"realistic {name}")


@pytest.fixture
def _connection_kept_open() -> Iterator[None]:
    """Django closes a connection that is inside a transaction at the end of each request:
    the test's own transaction, since schemathesis calls the real WSGI handler. Django's test
    client avoids that by disconnecting the same handler."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def scene(db: None, _connection_kept_open: None) -> Scene:
    tenant = make_tenant()
    member, store = tenant.member, tenant.store
    bill = {"store": store.pk, "total_value": Decimal(120_000), "number_of_people": 2}
    long_ago = timezone.now() - timedelta(days=400)
    award_stamps(
        member,
        2,
        store=store,
        expiration_date=timezone.localdate() - timedelta(days=30),
        now=long_ago,
    )
    stamps_expire_due(now=timezone.now())
    awards = [award_stamps(member, 500, store=store) for _ in range(10)]
    deduct_stamps(member, 3)
    rewards = [RewardFactory(merchant=tenant.merchant, stamps_to_redeem=n) for n in (1, 10_000)]
    redemptions = [
        redeemed(
            redemption_create(
                merchant=tenant.merchant,
                customer=member.email,
                store_id=store.pk,
                reward_id=rewards[0].pk,
                now=timezone.now(),
                actor=SYSTEM,
            )
        )
        for _ in range(10)
    ]
    redemption_cancel(
        merchant=tenant.merchant, redemption_id=redemptions[0].pk, now=timezone.now(), actor=SYSTEM
    )
    purchases = [
        transaction_create(
            merchant=tenant.merchant,
            purchase=Purchase(**bill, invoice_number=invoice, user=user, created=timezone.now()),
            now=timezone.now(),
            actor=SYSTEM,
        )
        for invoice, user in [*((f"INV-{n}", member.email) for n in range(9)), ("OPEN", None)]
    ]
    return Scene(
        tenant=tenant,
        reward_ids=[reward.pk for reward in rewards],
        cancelable={
            "stamps": [award.pk for award in awards],
            "redemptions": [redemption.pk for redemption in redemptions],
            "transactions": [purchase.id for purchase in purchases],
        },
    )


@schema.parametrize()
@schema.given(data=st.data())
@BOUNDED
def test_every_answer_is_in_the_schema(
    case: schemathesis.Case, data: st.DataObject, scene: Scene
) -> None:
    scene.make_realistic(case, data)

    case.call_and_validate(headers=scene.auth, checks=CONFORMANCE)


@dataclass(frozen=True)
class BadCredentials:
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    status: int = 401

    def fit(self, case: schemathesis.Case) -> bool:
        return not self.body or (case.method == "POST" and isinstance(case.body, dict))

    def put_into(self, case: schemathesis.Case) -> None:
        """Replaces whatever credentials the case was generated with by these."""
        headers = case.headers or {}
        case.headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        case.headers |= self.headers
        case.query = {k: v for k, v in (case.query or {}).items() if k != "token"} | self.query
        if isinstance(case.body, dict):
            case.body = {k: v for k, v in case.body.items() if k != "token"} | self.body


NO_KEY = BadCredentials(status=403)
BAD_CREDENTIALS = {
    "no key": NO_KEY,
    "unknown key in the header": BadCredentials(headers={"Authorization": "Token not-a-key"}),
    "unknown bearer key": BadCredentials(headers={"Authorization": "Bearer not-a-key"}),
    "another scheme": BadCredentials(headers={"Authorization": "Basic bm90OmFrZXk="}),
    "unknown key in the query": BadCredentials(query={"token": "not-a-key"}),
    "unknown key in the body": BadCredentials(body={"token": "not-a-key"}),
}


@schema.parametrize()
@schema.given(data=st.data())
@settings(BOUNDED, max_examples=10)
def test_no_operation_answers_without_a_valid_key(
    case: schemathesis.Case, data: st.DataObject, scene: Scene
) -> None:
    scene.make_realistic(case, data)
    fitting = [name for name, credentials in BAD_CREDENTIALS.items() if credentials.fit(case)]
    credentials = BAD_CREDENTIALS[data.draw(st.sampled_from(fitting), label="credentials")]
    credentials.put_into(case)

    response = case.call()

    if credentials is NO_KEY and response.status_code == 400:
        # With no key in the header or the query, a POST's body is read for one: a body
        # that does not parse is refused as such, before the missing key is noticed.
        assert "JSON parse error" in response.text
    else:
        assert response.status_code == credentials.status, response.text
        assert set(response.json()) == {"detail"}
