"""One log line per request, and the request's id on every line logged while it runs.

The WSGI front (stamps_server/front.py) opens a request's `RequestFacts` and writes its
line when the answer is ready; whichever way the request was answered (the lean lane or
Django's request cycle) notes the route and the caller on the facts. The line carries the
route's pattern, never the raw path (a path or a query string can hold a key or an email),
and the caller as ids, never the key: what a log line can carry is fixed here, in
ACCESS_FIELDS, and the JSON formatter writes nothing else of a record's extras."""

import logging
import os
import re
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.urls import ResolverMatch

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
# An incoming id is kept when it is printable ASCII without spaces and at most this long;
# anything else is replaced by a new one rather than refused: a till's call must not fail
# for its tracing header.
REQUEST_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")
UNMATCHED = "unmatched"  # the route of a path no URL pattern serves
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ACCESS_LOGGER = logging.getLogger("stamps.request")
ACCESS_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "merchant_id",
    "api_key_id",
)


@dataclass
class RequestFacts:
    request_id: str
    method: str
    route: str = UNMATCHED
    merchant_id: int | None = None
    api_key_id: int | None = None

    def caller_note(self, *, merchant_id: int, api_key_id: int) -> None:
        self.merchant_id, self.api_key_id = merchant_id, api_key_id


_current: ContextVar[RequestFacts | None] = ContextVar("stamps_request_facts", default=None)


def request_id_from(incoming: str | None) -> str:
    if incoming is not None and REQUEST_ID_PATTERN.fullmatch(incoming):
        return incoming
    return os.urandom(16).hex()  # as random as a uuid4, at a tenth of its cost


def method_label(method: str) -> str:
    """The method as a bounded label: clients may send any token as a method."""
    return method if method in METHODS else "OTHER"


def request_begin(environ: dict[str, Any]) -> tuple[RequestFacts, Any]:
    """The facts of the request `environ` starts, current until `request_end(token)`."""
    facts = RequestFacts(
        request_id=request_id_from(environ.get(REQUEST_ID_ENVIRON)),
        method=method_label(environ.get("REQUEST_METHOD", "")),
    )
    return facts, _current.set(facts)


def request_end(token: Any) -> None:
    _current.reset(token)


def current_request() -> RequestFacts | None:
    return _current.get()


def route_label(match: ResolverMatch | None) -> str:
    """The URL pattern that served a request, as a short label: `api/stamps/add`, not the
    regular expression `api/stamps/add/?$` (core.routes) nor the path the client sent."""
    if match is None or not match.route:
        return UNMATCHED
    route = match.route.replace("^", "")
    route = route.removesuffix("$").removesuffix("/?")
    return route or "/"


def access_log(facts: RequestFacts, *, status: int, seconds: float) -> None:
    """The request's line. The record is made and handed to the logger's handlers as
    `Logger.info` would, without its search of the call stack for the caller's file and
    line, which nothing here prints and which cost as much as the rest of the line."""
    if not ACCESS_LOGGER.isEnabledFor(logging.INFO):
        return
    duration_ms = round(seconds * 1000, 2)
    record = ACCESS_LOGGER.makeRecord(
        ACCESS_LOGGER.name,
        logging.INFO,
        "",  # no source file or line: the logger's name says where the line comes from
        0,
        "%s %s %s %.2fms",
        (facts.method, facts.route, status, duration_ms),
        None,
        extra={
            "method": facts.method,
            "route": facts.route,
            "status": status,
            "duration_ms": duration_ms,
            "merchant_id": facts.merchant_id,
            "api_key_id": facts.api_key_id,
        },
    )
    ACCESS_LOGGER.handle(record)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        facts = _current.get()
        record.request_id = facts.request_id if facts is not None else None
        return True


class PathWithheldFilter(logging.Filter):
    """Django's request logger names the raw path of a refused or failed request ("Not
    Found: /api/..."), and a path is the client's to fill; the request's own line gives
    its route, so the path is dropped from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%s: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            record.msg, record.args = "%s", record.args[:1]
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the access
    fields a record carries, and the traceback of an error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__ if record.exc_info[0] is not None else None
            # exc_text when a filter set it (core.redaction hides keys in it)
            line["traceback"] = record.exc_text or "".join(
                traceback.format_exception(*record.exc_info)
            )
        elif record.stack_info:
            line["traceback"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class PlainFormatter(logging.Formatter):
    """A readable line for a terminal: time, level, logger, [request id], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)
