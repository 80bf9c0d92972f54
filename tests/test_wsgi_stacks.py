"""API calls take the lean middleware stack (stamps_server/wsgi.py), the admin the full one;
what the API still needs from middleware keeps working."""

import time
from typing import Any
from unittest import mock

import orjson
import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import get_urlconf

from stamps_server import housekeeping, wsgi_lane
from tests.conftest import Tenant, make_tenant
from tests.wsgi_call import wsgi_call

# Django's request housekeeping drops a connection left outside autocommit, as a test's
# wrapping transaction would be, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant() -> Tenant:
    return make_tenant()


def award(tenant: Tenant, **meta: Any) -> Any:
    body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}
    return wsgi_call(
        "POST",
        "/api/stamps/add",
        orjson.dumps(body),
        "application/json",
        HTTP_AUTHORIZATION=f"Token {tenant.key}",
        **meta,
    )


def test_an_api_call_skips_the_admins_middleware(tenant: Tenant) -> None:
    answer = award(tenant)

    assert answer.status == 200
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware ran
    assert "X-Frame-Options" not in answer.headers  # the admin's clickjacking guard did not
    assert "Set-Cookie" not in answer.headers


def test_the_admin_keeps_sessions_csrf_and_frame_options() -> None:
    answer = wsgi_call("GET", "/admin/login/")

    assert answer.status == 200
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "csrftoken=" in answer.headers["Set-Cookie"]


def test_api_calls_still_get_the_https_rule(tenant: Tenant, settings: Any) -> None:
    settings.STAMPS_REQUIRE_HTTPS = True

    answer = award(tenant)

    assert answer.status == 403
    assert orjson.loads(answer.content) == {"detail": "Please use https instead of http"}


def test_api_calls_still_get_the_body_limit(tenant: Tenant, settings: Any) -> None:
    settings.STAMPS_MAX_BODY_BYTES = 10

    assert award(tenant).status == 413


def test_api_calls_still_check_the_host(tenant: Tenant, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["loyalty.example.com"]

    assert award(tenant).status == 400


def test_the_wsgi_lane_calls_every_receiver_of_the_request_signals() -> None:
    """The lane calls these receivers itself instead of sending the signals; one connected
    later (an error tracker's, say) must be added to its lists, or its requests miss it."""

    def receivers(signal: Any) -> list[Any]:
        sync, asynchronous = signal._live_receivers(WSGIHandler)
        return [*sync, *asynchronous]

    def covered(lane_receivers: tuple[Any, ...]) -> set[Any]:
        return {r for lane in lane_receivers for r in housekeeping.STANDS_IN_FOR.get(lane, [lane])}

    # (as sets: a test that disconnects and reconnects one changes the order, nothing else)
    assert set(receivers(request_started)) == covered(wsgi_lane.ON_REQUEST_STARTED)
    assert set(receivers(request_finished)) == covered(wsgi_lane.ON_REQUEST_FINISHED) | set(
        housekeeping.NOTHING_TO_DO_ON_THE_LANE
    )


def test_neither_stack_leaves_a_urlconf_set(tenant: Tenant) -> None:
    """Why the lane need not reset one (housekeeping.NOTHING_TO_DO_ON_THE_LANE)."""
    assert wsgi_call("GET", "/admin/login/").status == 200  # Django's handler sets one
    assert get_urlconf() is None  # and drops it when the request finishes

    assert award(tenant).status == 200

    assert get_urlconf() is None


def test_an_award_through_the_lane_leaves_the_connection_usable(tenant: Tenant) -> None:
    assert award(tenant).status == 200  # the lane, with Django's real connection housekeeping
    assert award(tenant).status == 200


def test_the_lane_drops_a_connection_past_its_age_and_clears_the_query_log(
    tenant: Tenant,
) -> None:
    assert award(tenant).status == 200
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.queries_log.append({"sql": "SELECT 1", "time": "0.000"})
    wrapper.close_at = time.monotonic() - 1  # CONN_MAX_AGE ran out

    # (spied: SQLite's in-memory test database ignores close())
    with mock.patch.object(wrapper, "close", wraps=wrapper.close) as close:
        housekeeping.connections_at_request_start()

    close.assert_called_once_with()
    assert not wrapper.queries_log
    assert award(tenant).status == 200  # and opens a new one


class ClosingCache(LocMemCache):
    closed = 0

    def close(self, **kwargs: Any) -> None:
        ClosingCache.closed += 1


def test_the_lane_closes_a_cache_whose_backend_closes(tenant: Tenant, settings: Any) -> None:
    assert not housekeeping.some_cache_closes()  # locmem: nothing to close, nothing called
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.ClosingCache"}}
    caches["default"].get("anything")  # close_caches closes the caches in use
    closed_before = ClosingCache.closed

    assert award(tenant).status == 200

    assert ClosingCache.closed == closed_before + 1
