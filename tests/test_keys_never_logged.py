"""An API key is never written down: a key sent in the header, the query string or the body
appears in no log line and no error report, whether the call is answered, refused, or
fails with a traceback."""

import io
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import orjson
import pytest
from django.views.debug import get_exception_reporter_class

from core.redaction import HIDDEN, HideKeysFilter
from tests.wsgi_call import wsgi_call

UNKNOWN_KEY = "f" * 40  # a guess, which a log must not keep either


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the configured log handlers write, whichever logger a line comes from."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, HideKeysFilter) for f in handler.filters)
        and isinstance(handler, logging.StreamHandler)
    ]
    assert handlers, "the root logger has no handler with the key filter"
    stream = io.StringIO()
    earlier = [handler.setStream(stream) for handler in handlers]
    try:
        yield stream
    finally:
        for handler, previous in zip(handlers, earlier, strict=True):
            handler.setStream(previous)


def calls_with_the_key_everywhere(tenant, key: str) -> None:
    client = tenant.client
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.get(f"/api/memberships/status?token={key}&user=nobody@example.com")
    client.post(f"/api/stamps/add?token={key}", {"token": key, "user": "x"}, format="json")
    client.post(
        "/api/stamps/add",
        urlencode({"token": key, "user": "x"}),
        content_type="application/x-www-form-urlencoded",
    )
    wsgi_call(  # the lean lane answers JSON POSTs
        "POST",
        "/api/memberships/deduct-stamps",
        orjson.dumps({"token": key, "user": "nobody@example.com", "stamps": 1}),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        QUERY_STRING=f"token={key}",
    )
    # runserver's request line, the query string included: turned off
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /api/memberships/status?token={key}&user=a HTTP/1.1", 403, 58
    )
    # a line of the code's own that repeats what it was sent
    logging.getLogger("stamps.anything").warning("could not read token=%s", key)


@pytest.mark.parametrize("which", ["the merchant's key", "a guessed key"])
def test_no_log_line_holds_a_key(tenant, written, which):
    key = tenant.key if which == "the merchant's key" else UNKNOWN_KEY

    calls_with_the_key_everywhere(tenant, key)

    lines = written.getvalue()
    assert "django.request" in lines  # the refusals were logged, without their key
    assert f"token={HIDDEN}" in lines  # the code's own line, with its key hidden
    assert "/api/memberships/status?" not in lines  # no runserver line
    assert key not in lines


def test_a_failure_with_a_traceback_neither_logs_nor_reports_the_key(
    tenant, written, caplog, monkeypatch
):
    key = tenant.key

    def fails(**kwargs):  # a fault that repeats what it was given, as some do
        raise RuntimeError(f"could not read {kwargs} for token={key}")

    monkeypatch.setattr("loyalty.member_apis.membership_find", fails)
    tenant.client.raise_request_exception = False
    tenant.client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = tenant.client.get(f"/api/memberships/status?token={key}&user={key}")

    assert response.status_code == 500
    assert "RuntimeError: could not read" in written.getvalue()
    assert key not in written.getvalue()
    (failure,) = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    reporter = get_exception_reporter_class(failure.request)(failure.request, *failure.exc_info)
    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()
    assert "could not read" in text and "could not read" in html
    assert key not in text and key not in html
