"""API calls take the lean middleware stack (stamps_server/wsgi.py), the admin the full one;
what the API still needs from middleware keeps working."""

from typing import Any

import orjson
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started

from stamps_server import wsgi_lane
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

    # (as sets: a test that disconnects and reconnects one changes the order, nothing else)
    assert set(receivers(request_started)) == set(wsgi_lane.ON_REQUEST_STARTED)
    assert set(receivers(request_finished)) == set(wsgi_lane.ON_REQUEST_FINISHED)


def test_an_award_through_the_lane_leaves_the_connection_usable(tenant: Tenant) -> None:
    assert award(tenant).status == 200  # the lane, with Django's real connection housekeeping
    assert award(tenant).status == 200
