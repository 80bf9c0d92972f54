"""GET /metrics: Prometheus' text, for loopback clients, listed networks or a bearer token;
counts requests, ledger calls and refusals, replays and database failures; sums the counts
of several worker processes."""

import http.client
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.exception_handler import stamps_exception_handler
from tests.conftest import make_tenant
from tests.live_server import HOST, live_server
from tests.wsgi_call import WsgiAnswer, wsgi_call

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(**meta: Any) -> WsgiAnswer:
    return wsgi_call("GET", "/metrics", **meta)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
def test_a_loopback_client_reads_the_counts_in_prometheus_text() -> None:
    before = value("stamps_http_requests_total", route="api/ping", method="GET", status="403")
    wsgi_call("GET", "/api/ping")

    answer = scrape(**LOOPBACK)

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    read = samples(answer.content)
    key = (("method", "GET"), ("route", "api/ping"), ("status", "403"))
    assert read[("stamps_http_requests_total", key)] == before + 1
    assert ("stamps_http_request_duration_seconds_count", key[:1] + key[1:2]) in read


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("meta", "status"),
    [
        (ELSEWHERE, 404),
        ({"REMOTE_ADDR": "::1"}, 200),
        ({"REMOTE_ADDR": "198.51.100.7"}, 200),  # in STAMPS_METRICS_ALLOW
        ({**ELSEWHERE, "HTTP_AUTHORIZATION": "Bearer scrape-secret"}, 200),
        ({**ELSEWHERE, "HTTP_AUTHORIZATION": "Bearer wrong"}, 404),
        ({**ELSEWHERE, "HTTP_AUTHORIZATION": "Token scrape-secret"}, 404),
    ],
)
def test_others_are_told_404(meta: dict[str, str], status: int, settings: Any) -> None:
    settings.STAMPS_METRICS_ALLOW = ["198.51.100.0/24"]
    settings.STAMPS_METRICS_TOKEN = "scrape-secret"

    assert scrape(**meta).status == status


@pytest.mark.django_db(transaction=True)
def test_metrics_turned_off_count_nothing_and_answer_nobody(settings: Any) -> None:
    settings.STAMPS_METRICS = False
    labels = {"route": "api/ping", "method": "GET", "status": "403"}
    before = value("stamps_http_requests_total", **labels)

    wsgi_call("GET", "/api/ping")

    assert value("stamps_http_requests_total", **labels) == before
    assert scrape(**LOOPBACK).status == 404


def post(path: str, body: dict[str, Any], key: str, **meta: Any) -> WsgiAnswer:
    return wsgi_call(
        "POST",
        path,
        orjson.dumps(body),
        "application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
        **meta,
    )


@pytest.mark.django_db(transaction=True)
def test_ledger_calls_refusals_replays_and_the_outbox_are_counted() -> None:
    tenant = make_tenant()
    award = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
    deduct = {"user": tenant.member.email, "stamps": 999, "notes": "too many"}
    applied = value("stamps_ledger_operations_total", function="stamps_award", outcome="applied")
    refused = value("stamps_ledger_refusals_total", code="insufficient_stamps")
    replays = value("stamps_idempotent_replays_total")

    for _ in range(2):
        post("/api/stamps/add", award, tenant.key, HTTP_IDEMPOTENCY_KEY="once")
    post("/api/memberships/deduct-stamps", deduct, tenant.key)
    read = samples(scrape(**LOOPBACK).content)

    assert value("stamps_ledger_operations_total", function="stamps_award", outcome="applied") == (
        applied + 1
    )
    assert value("stamps_ledger_refusals_total", code="insufficient_stamps") == refused + 1
    assert value("stamps_idempotent_replays_total") == replays + 1
    assert read[("stamps_email_outbox_pending", ())] == 1
    assert read[("stamps_email_outbox_oldest_pending_seconds", ())] >= 0


def test_a_database_failure_answered_503_is_counted() -> None:
    before = value("stamps_database_unavailable_total")

    response = stamps_exception_handler(OperationalError("server closed the connection"), {})

    assert response is not None and response.status_code == 503
    assert value("stamps_database_unavailable_total") == before + 1


@pytest.mark.django_db(transaction=True)
def test_the_counts_of_every_worker_process_are_summed(tmp_path: Path) -> None:
    requests = 30
    counts = tmp_path / "metrics"
    with live_server(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(counts)) as (_, port):
        for _ in range(requests):  # a new connection each: either worker may take it
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", "/api/ping")
            conn.getresponse().read()
            conn.close()
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read()
        conn.close()
        workers_counted = {path.name for path in counts.glob("counter_*.db")}

    read = samples(text)
    key = (("method", "GET"), ("route", "api/ping"), ("status", "403"))
    assert read[("stamps_http_requests_total", key)] == requests
    assert len(workers_counted) == 2
