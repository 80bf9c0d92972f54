"""The WSGI front: the outermost layer of the application (stamps_server/wsgi.py).

It answers the operator's endpoints itself (/healthz, /readyz, /metrics: no API key, no
https, no allowed Host needed; see stamps_server/health.py), and for every other request
keeps or makes its request id (echoed as X-Request-ID), times it, and when the answer is
ready writes its one log line and counts it in the metrics. The lean lane and Django's
request cycle behind it only note the route and the caller on the request's facts
(core.request_log), so both ways log and count alike through this one place."""

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from http.client import responses
from typing import Any

import orjson
from django.conf import settings
from django.core.signals import setting_changed

from core import metrics
from core.request_log import REQUEST_ID_HEADER, access_log, request_begin, request_end
from loyalty.outbox_metrics import OutboxCollector
from stamps_server import health

WsgiAnswer = tuple[str, list[tuple[str, str]], bytes]
NO_STORE = ("Cache-Control", "no-store")
JSON_TYPE = ("Content-Type", "application/json")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FrontSettings:
    metrics: bool
    metrics_allow: tuple[IpNetwork, ...]
    metrics_token: str


@cache
def front_settings() -> FrontSettings:
    return FrontSettings(
        metrics=settings.STAMPS_METRICS,
        metrics_allow=tuple(ipaddress.ip_network(cidr) for cidr in settings.STAMPS_METRICS_ALLOW),
        metrics_token=settings.STAMPS_METRICS_TOKEN,
    )


def settings_forget(**kwargs: Any) -> None:
    front_settings.cache_clear()


setting_changed.connect(settings_forget)


def json_answer(status: int, body: dict[str, Any], *extra: tuple[str, str]) -> WsgiAnswer:
    content = orjson.dumps(body)
    headers = [JSON_TYPE, NO_STORE, *extra, ("Content-Length", str(len(content)))]
    return f"{status} {responses[status]}", headers, content


def healthz(environ: dict[str, Any]) -> WsgiAnswer:
    return json_answer(200, {"status": "ok"})


def readyz(environ: dict[str, Any]) -> WsgiAnswer:
    ready = health.readiness()
    if ready.ready:
        return json_answer(200, {"status": "ready"})
    return json_answer(503, {"status": "unavailable", "reason": ready.reason})


NOT_FOUND = {"detail": "Not found."}


def metrics_page(environ: dict[str, Any]) -> WsgiAnswer:
    """Prometheus' text, to allowed clients only; anyone else is told 404, as for a path
    this server does not serve, so the endpoint's existence is not advertised."""
    front = front_settings()
    if not front.metrics or not metrics_allowed(environ, front):
        return json_answer(404, NOT_FOUND)
    content = metrics.exposition(OutboxCollector())
    headers = [("Content-Type", metrics.CONTENT_TYPE), NO_STORE]
    headers.append(("Content-Length", str(len(content))))
    return "200 OK", headers, content


def metrics_allowed(environ: dict[str, Any], front: FrontSettings) -> bool:
    """A loopback client, a client in STAMPS_METRICS_ALLOW, or STAMPS_METRICS_TOKEN as a
    bearer token. The client is the TCP peer: X-Forwarded-For is not trusted."""
    if front.metrics_token:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), front.metrics_token.encode()
        ):
            return True
    try:
        peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback or any(peer in network for network in front.metrics_allow)


OPERATOR_ENDPOINTS: dict[str, Callable[[dict[str, Any]], WsgiAnswer]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_page,
}
READ_METHODS = ("GET", "HEAD")


class Front:
    """A WSGI application: the front in front of `application` (the lane, then Django)."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        operator_endpoint = OPERATOR_ENDPOINTS.get(environ.get("PATH_INFO", ""))
        if operator_endpoint is not None:
            return self.operator_answer(operator_endpoint, environ, start_response)
        started = time.perf_counter()
        facts, token = request_begin(environ)
        statuses: list[int] = []

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            statuses.append(int(status[:3]))
            headers.append((REQUEST_ID_HEADER, facts.request_id))
            return start_response(status, headers, *exc_info)

        try:
            return self.application(environ, start)
        finally:
            status = statuses[-1] if statuses else 500
            seconds = time.perf_counter() - started
            access_log(facts, status=status, seconds=seconds)
            if front_settings().metrics:
                metrics.request_observe(
                    route=facts.route, method=facts.method, status=status, seconds=seconds
                )
            request_end(token)

    @staticmethod
    def operator_answer(
        endpoint: Callable[[dict[str, Any]], WsgiAnswer],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method in READ_METHODS:
            status, headers, body = endpoint(environ)
        else:
            status, headers, body = json_answer(
                405, {"detail": f'Method "{method}" not allowed.'}, ("Allow", "GET, HEAD")
            )
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]
