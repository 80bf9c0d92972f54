"""API calls take the lean middleware stack (stamps_server/wsgi.py), the admin the full one;
what the API still needs from middleware keeps working."""

from typing import Any

import orjson
import pytest

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
