"""Prometheus metrics: what is counted, and the text `GET /metrics` answers.

With several worker processes every process writes its counts to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode; `stamps_server.serve` makes
and empties that folder) and a scrape adds them up. Gauges of the database's state (the
email outbox's) are read at scrape time by collectors passed to `exposition`, so they are
right whichever process answers."""

import os
from functools import lru_cache
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# What generate_latest writes: the text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "stamps_http_requests_total",
    "Requests answered, by route pattern, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "stamps_http_request_duration_seconds",
    "Time from a request's arrival at the application to its answer, by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LEDGER_OPERATIONS = Counter(
    "stamps_ledger_operations_total",
    "Calls of the ledger's write functions, by function and outcome (applied or refused); "
    "a call whose transaction is then rolled back is counted too",
    ["function", "outcome"],
)
LEDGER_REFUSALS = Counter(
    "stamps_ledger_refusals_total", "Ledger refusals, by the ledger's refusal code", ["code"]
)
IDEMPOTENT_REPLAYS = Counter(
    "stamps_idempotent_replays_total", "Stored answers sent again for a retried Idempotency-Key"
)
IDEMPOTENCY_CONFLICTS = Counter(
    "stamps_idempotency_conflicts_total",
    "409 answers: a request with the same Idempotency-Key was still being processed",
)
DATABASE_UNAVAILABLE = Counter(
    "stamps_database_unavailable_total",
    "Requests answered 503 because the database dropped, restarted, deadlocked or timed out",
)


# Each labelled child looked up once: `labels()` takes a lock and checks its values on every
# call, a third of the cost of counting a request. The label values are bounded (routes,
# methods, statuses, ledger functions and refusal codes), and so are these caches.
@lru_cache(maxsize=4096)
def requests_child(route: str, method: str, status: int) -> Any:
    return REQUESTS.labels(route, method, str(status))


@lru_cache(maxsize=1024)
def request_seconds_child(route: str, method: str) -> Any:
    return REQUEST_SECONDS.labels(route, method)


@lru_cache(maxsize=1024)
def ledger_child(function: str, outcome: str) -> Any:
    return LEDGER_OPERATIONS.labels(function, outcome)


def ledger_operation(function: str, refusal: str | None) -> None:
    ledger_child(function, "refused" if refusal else "applied").inc()
    if refusal:
        LEDGER_REFUSALS.labels(refusal).inc()


def request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    requests_child(route, method, status).inc()
    request_seconds_child(route, method).observe(seconds)


def exposition(*read_now: Collector) -> bytes:
    """Every metric in Prometheus' text format: the processes' counts, summed in
    multiprocess mode, then what the `read_now` collectors read at scrape time."""
    if os.environ.get(MULTIPROCESS_DIR):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry()
    for collector in read_now:
        scraped.register(collector)
    return generate_latest(counted) + generate_latest(scraped)
