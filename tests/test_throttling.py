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


class CallerOf:
    """What the throttle reads of a request: its caller's key id."""

    def __init__(self, token_id: int) -> None:
        self.user = type("Caller", (), {"token_id": token_id})()


def admitted_at_once(calls: int, threads: int = 8) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from core.throttling import TokenRateThrottle

    with ThreadPoolExecutor(threads) as pool:
        answers = pool.map(
            lambda _: TokenRateThrottle().allow_request(CallerOf(7), None), range(calls)
        )
        return sum(answers)


def redis_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


class TestTokenThrottleUnderConcurrency:
    def test_calls_made_at_once_are_each_counted(self, settings):
        settings.STAMPS_THROTTLE_RATE = "50/minute"

        assert admitted_at_once(200) == 50

    @pytest.mark.skipif(not redis_reachable(), reason="no Redis on 127.0.0.1:6379")
    def test_calls_made_at_once_are_each_counted_in_redis(self, settings):
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:6379/15",
                "KEY_PREFIX": f"throttle-test-{id(settings)}",
            }
        }
        settings.STAMPS_THROTTLE_RATE = "50/minute"
        cache.clear()

        assert admitted_at_once(200) == 50

    def test_a_cache_that_fails_lets_calls_through(self, tenant, settings, monkeypatch):
        settings.STAMPS_THROTTLE_RATE = "1/minute"

        def unreachable(*args, **kwargs):
            raise ConnectionError("the cache server is down")

        monkeypatch.setattr(cache, "incr", unreachable)
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}

        answers = [tenant.post("/api/stamps/add", body).status_code for _ in range(3)]

        assert answers == [200, 200, 200]
        assert Award.objects.count() == 3
