"""A database that drops the connection (a restart, a failover), deadlocks or times out is
answered with 503 and Retry-After, never a 500, and the worker's next request reconnects."""

from typing import Any
from unittest import mock
from urllib.parse import urlencode

import orjson
import pytest
from django.db import OperationalError, connection

from loyalty.models import Award
from tests.conftest import Tenant, make_tenant
from tests.wire import side_connection
from tests.wsgi_call import wsgi_call


def award_body(tenant: Tenant) -> dict[str, Any]:
    return {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}


@pytest.mark.parametrize("lane", ["fast", "full"])
def test_a_database_error_is_a_503_to_retry(tenant: Tenant, lane: str) -> None:
    body = award_body(tenant)
    lost = OperationalError("server closed the connection unexpectedly")
    with mock.patch("loyalty.services.award_create", side_effect=lost):
        if lane == "fast":
            response = tenant.post("/api/stamps/add", body)
        else:  # a form body takes DRF's full path
            response = tenant.client.post(
                "/api/stamps/add", urlencode(body), content_type="application/x-www-form-urlencoded"
            )

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; retry shortly"}
    assert response["Retry-After"] == "1"
    assert not Award.objects.exists()


def wsgi_post(path: str, body: dict[str, Any], key: str, media_type: str) -> int:
    # JSON takes the WSGI lane (stamps_server/wsgi_lane.py), a form Django's request cycle
    json_body = media_type == "application/json"
    raw = orjson.dumps(body) if json_body else urlencode(body).encode()
    return wsgi_call("POST", path, raw, media_type, HTTP_AUTHORIZATION=f"Token {key}").status


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("media_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_connection_the_server_dropped_fails_one_request_then_reconnects(
    media_type: str,
) -> None:
    tenant = make_tenant()
    body = award_body(tenant)
    assert wsgi_post("/api/stamps/add", body, tenant.key, media_type) == 200
    backend_pid = connection.connection.info.backend_pid
    with side_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    dropped = wsgi_post("/api/stamps/add", body, tenant.key, media_type)
    after = wsgi_post("/api/stamps/add", body, tenant.key, media_type)

    assert (dropped, after) == (503, 200)
    assert Award.objects.filter(membership=tenant.member).count() == 2
