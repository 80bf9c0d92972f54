"""/healthz and /readyz: JSON, no API key, plain http and any Host accepted; /readyz says
why the process cannot serve."""

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.db import OperationalError

from stamps_server import health
from tests.wsgi_call import wsgi_call

ROOT = Path(__file__).resolve().parents[1]
PROBE = {"HTTP_HOST": "10.0.0.5:8000"}  # a load balancer probes by address


@pytest.fixture(autouse=True)
def https_required(settings: Any) -> None:
    settings.STAMPS_REQUIRE_HTTPS = True  # probes speak plain http all the same


def test_healthz_answers_without_key_https_or_known_host() -> None:
    answer = wsgi_call("GET", "/healthz", **PROBE)

    assert answer.status == 200
    assert orjson.loads(answer.content) == {"status": "ok"}
    assert answer.headers["Content-Type"] == "application/json"


@pytest.mark.django_db(transaction=True)
def test_readyz_answers_ready_on_a_migrated_database() -> None:
    answer = wsgi_call("GET", "/readyz", **PROBE)

    assert answer.status == 200
    assert orjson.loads(answer.content) == {"status": "ready"}


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_migration_not_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = health.shipped_migrations() | {"loyalty.9999_not_yet"}
    monkeypatch.setattr(health, "shipped_migrations", lambda: shipped)

    answer = wsgi_call("GET", "/readyz", **PROBE)

    assert answer.status == 503
    assert orjson.loads(answer.content) == {
        "status": "unavailable",
        "reason": "migrations not applied: loyalty.9999_not_yet",
    }


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_database_function_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    required = (*health.REQUIRED_FUNCTIONS, "stamps_not_installed")
    monkeypatch.setattr(health, "REQUIRED_FUNCTIONS", required)

    answer = wsgi_call("GET", "/readyz", **PROBE)

    assert answer.status == 503
    assert orjson.loads(answer.content)["reason"] == (
        "database functions missing: stamps_not_installed"
    )


class Unreachable:
    def cursor(self) -> Any:
        raise OperationalError("connection refused")


def test_readyz_says_the_database_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "connection", Unreachable())

    answer = wsgi_call("GET", "/readyz", **PROBE)

    assert answer.status == 503
    assert orjson.loads(answer.content) == {
        "status": "unavailable",
        "reason": "database unavailable: OperationalError",
    }


def test_a_probe_that_posts_is_refused_with_405() -> None:
    answer = wsgi_call("POST", "/healthz", b"{}", "application/json", **PROBE)

    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"


CALL = re.compile(r'(?:function_row|function_value|ledger_write)\(\s*"(\w+)"')
FUNC = re.compile(r'^\s+function = "(\w+)"', re.MULTILINE)


def test_readyz_checks_every_database_function_the_code_calls() -> None:
    sources = [
        path
        for app in ("core", "loyalty", "redemptions", "transactions", "activities")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]
    called = {
        name
        for path in sources
        for pattern in (CALL, FUNC)
        for name in pattern.findall(path.read_text())
    }

    assert "stamps_award" in called  # the scan finds the calls
    assert called == set(health.REQUIRED_FUNCTIONS)
