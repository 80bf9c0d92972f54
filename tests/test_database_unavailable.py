"""A database that drops the connection (a restart, a failover), deadlocks or times out is
answered with 503 and Retry-After, never a 500, and the worker's next request reconnects."""

from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from django.db import connection

from loyalty.models import Award
from tests.conftest import Tenant, make_tenant
from tests.wire import side_connection
from tests.wsgi_call import wsgi_call


def award_body(tenant: Tenant) -> dict[str, Any]:
    return {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 1}


def wsgi_post(path: str, body: dict[str, Any], key: str, media_type: str) -> int:
    # JSON takes the lean lane (stamps_server/lane.py), a form Django's request cycle
    json_body = media_type == "application/json"
    raw = orjson.dumps(body) if json_body else urlencode(body).encode()
    return wsgi_call("POST", path, raw, media_type, HTTP_AUTHORIZATION=f"Token {key}").status


MEDIA_TYPES = ["application/json", "application/x-www-form-urlencoded"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_a_lock_that_times_out_is_a_503_to_retry_and_writes_nothing(
    media_type: str, settings: Any
) -> None:
    tenant = make_tenant()
    settings.DATABASES["default"]["OPTIONS"]["options"] = "-c lock_timeout=300"
    connection.close()  # the next request connects with the lock timeout
    body = award_body(tenant)
    with side_connection() as other, other.transaction():  # another request holds the member
        other.execute(
            "SELECT 1 FROM loyalty_membership WHERE id = %s FOR UPDATE", [tenant.member.pk]
        )
        answer = wsgi_call(
            "POST",
            "/api/stamps/add",
            orjson.dumps(body) if media_type == MEDIA_TYPES[0] else urlencode(body).encode(),
            media_type,
            HTTP_AUTHORIZATION=f"Token {tenant.key}",
        )
    after = wsgi_post("/api/stamps/add", body, tenant.key, media_type)

    assert answer.status == 503
    assert orjson.loads(answer.content) == {"detail": "The database is unavailable; retry shortly"}
    assert answer.headers["Retry-After"] == "1"
    assert after == 200
    assert Award.objects.filter(membership=tenant.member).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("media_type", MEDIA_TYPES)
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
