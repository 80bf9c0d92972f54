from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from loyalty.models import Membership, Merchant, Store
from loyalty.tokens import api_token_create, token_cache_clear
from tests.factories import MembershipFactory, MerchantFactory, StoreFactory


def pytest_configure(config: pytest.Config) -> None:
    """The static files' folder, as `collectstatic` leaves it (WhiteNoise warns without it);
    the tests read no static file."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(exist_ok=True)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> None:
    """Each test's database is new; a key cached by an earlier test must not leak in."""
    token_cache_clear()


@pytest.fixture(autouse=True)
def _plain_http_allowed(settings: Any) -> None:
    """Tests speak plain http; tests of the https rules turn them back on."""
    settings.STAMPS_REQUIRE_HTTPS = False
    settings.SECURE_SSL_REDIRECT = False


@dataclass
class Tenant:
    """A merchant with a store, a member and an API key: what a till has."""

    merchant: Merchant
    store: Store
    member: Membership
    key: str
    client: APIClient

    def post(self, path: str, body: Any, **extra: Any) -> Any:
        return self.client.post(path, body, format="json", **extra)


def make_tenant() -> Tenant:
    merchant = MerchantFactory()
    key = api_token_create(merchant=merchant, name="till").key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return Tenant(
        merchant=merchant,
        store=StoreFactory(merchant=merchant),
        member=MembershipFactory(merchant=merchant),
        key=key,
        client=client,
    )


@pytest.fixture
def tenant(db: None) -> Tenant:
    return make_tenant()


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return make_tenant()


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


RefreshFn = Callable[[Membership], Membership]


@pytest.fixture
def refreshed() -> RefreshFn:
    def refresh(membership: Membership) -> Membership:
        membership.refresh_from_db()
        return membership

    return refresh
