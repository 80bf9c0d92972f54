import pytest
from django.core.cache import cache

from loyalty.models import Award

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


class TestTokenThrottle:
    def test_refuses_requests_over_the_rate_with_429_and_retry_after(self, tenant, settings):
        settings.STAMPS_THROTTLE_RATE = "3/minute"
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}

        answers = [tenant.post("/api/stamps/add", body) for _ in range(4)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert int(answers[-1]["Retry-After"]) > 0
        assert "throttled" in answers[-1].json()["detail"]
        assert Award.objects.count() == 3

    def test_counts_each_token_separately(self, tenant, other_tenant, settings):
        settings.STAMPS_THROTTLE_RATE = "1/minute"
        mine = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}
        theirs = {
            "user": other_tenant.member.email,
            "store": other_tenant.store.pk,
            "number_of_stamps": 1,
        }

        assert tenant.post("/api/stamps/add", mine).status_code == 200
        assert other_tenant.post("/api/stamps/add", theirs).status_code == 200
        assert tenant.post("/api/stamps/add", mine).status_code == 429

    def test_is_off_when_no_rate_is_set(self, tenant, settings):
        settings.STAMPS_THROTTLE_RATE = ""
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}

        answers = [tenant.post("/api/stamps/add", body).status_code for _ in range(5)]

        assert answers == [200] * 5
