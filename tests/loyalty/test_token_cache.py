"""A process trusts a key look-up for STAMPS_TOKEN_CACHE_SECONDS: a key revoked by another
process (another worker, another app server, the admin) stops working once that time has
passed, with the cache on as shipped."""

import pytest
from django.utils import timezone

from loyalty import tokens
from loyalty.models import ApiToken
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000.0]
    monkeypatch.setattr(tokens, "monotonic", lambda: now[0])
    return now


def ping(tenant: Tenant) -> int:
    return tenant.post("/api/ping", {}).status_code


def revoked_elsewhere(tenant: Tenant) -> None:
    """As another process revokes it: this process's cache is not told."""
    ApiToken.objects.filter(merchant=tenant.merchant).update(revoked_at=timezone.now())


class TestARevokedKey:
    def test_keeps_working_while_its_look_up_is_trusted(self, tenant, settings, clock) -> None:
        settings.STAMPS_TOKEN_CACHE_SECONDS = 10
        assert ping(tenant) == 200

        revoked_elsewhere(tenant)
        clock[0] += 9

        assert ping(tenant) == 200

    def test_stops_working_once_the_cache_time_has_passed(self, tenant, settings, clock) -> None:
        settings.STAMPS_TOKEN_CACHE_SECONDS = 10
        assert ping(tenant) == 200

        revoked_elsewhere(tenant)
        clock[0] += 10.5

        assert ping(tenant) == 401

    def test_stops_at_once_with_the_cache_off(self, tenant, settings, clock) -> None:
        settings.STAMPS_TOKEN_CACHE_SECONDS = 0
        assert ping(tenant) == 200

        revoked_elsewhere(tenant)

        assert ping(tenant) == 401

    def test_a_merchant_setting_changed_elsewhere_applies_once_the_time_has_passed(
        self, tenant, settings, clock
    ) -> None:
        settings.STAMPS_TOKEN_CACHE_SECONDS = 10
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 8}
        assert tenant.post("/api/stamps/add", body).status_code == 200

        type(tenant.merchant).objects.filter(pk=tenant.merchant.pk).update(max_stamps_per_award=5)
        clock[0] += 11

        assert tenant.post("/api/stamps/add", body).json()["error_code"] == "max_value"
