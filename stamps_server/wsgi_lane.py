"""The WSGI lane: the call a till sends all day, answered before Django's request cycle.

A POST to a Stamps endpoint with a JSON body, no query string, an allowed Host, over https
where https is required, within the body limit, from a known key (in the Authorization
header or the body) that its throttles let through, is answered here with the fast lane's
answer (stamps_server.fast_lane.fast_answer: the same validation, idempotency, services and
error rendering), plus what the API's middleware adds to every answer. That skips building
a Django request, the middleware chain and URL resolving, which cost as much CPU as the
award itself (README, Benchmark). Whatever does not qualify (including anything this lane
would have to judge, such as a bad key or a disallowed host) goes to Django unchanged, which
makes that answer. tests/test_wsgi_lane.py sends requests down both and compares them."""

import io
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.log import log_response

from stamps_server.authentication import ApiClient
from stamps_server.fast_lane import JSON, fast_answer, fast_lane_caller
from stamps_server.housekeeping import ON_REQUEST_FINISHED, ON_REQUEST_STARTED

if TYPE_CHECKING:
    from stamps_server.api import StampsApiView

Answer = tuple[str, list[tuple[str, str]], bytes]


class LaneRequest:
    """What SecurityMiddleware.process_response reads of a request."""

    def __init__(self, secure: bool) -> None:
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


_security = SecurityMiddleware(lambda request: HttpResponse())
_routes: dict[str, "StampsApiView | None"] = {}
MAX_ROUTES_REMEMBERED = 256  # paths are the client's to choose; the endpoints are few
MAX_HOSTS_REMEMBERED = 64  # so are Host headers


@dataclass(frozen=True)
class LaneSettings:
    """The settings the lane reads for every request, read once: a settings attribute costs
    a Python call (LazySettings), and a dozen of them a tenth of the lane's own work."""

    https_required: bool
    max_body_bytes: int
    proxy_ssl_header: tuple[str, str] | None
    hosts_judged_here: bool  # Django's Host check needs no request (see host_allowed)
    allowed_hosts: tuple[str, ...]


@cache
def lane_settings() -> LaneSettings:
    return LaneSettings(
        https_required=settings.STAMPS_REQUIRE_HTTPS or settings.SECURE_SSL_REDIRECT,
        max_body_bytes=settings.STAMPS_MAX_BODY_BYTES,
        proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER,
        hosts_judged_here=bool(
            settings.ALLOWED_HOSTS
            and not settings.USE_X_FORWARDED_HOST
            and not settings.DISALLOWED_USER_AGENTS
        ),
        allowed_hosts=tuple(settings.ALLOWED_HOSTS),
    )


def settings_forget(**kwargs: Any) -> None:
    """Settings only change at run time in tests (override_settings), which say so."""
    lane_settings.cache_clear()
    host_allowed.cache_clear()


setting_changed.connect(settings_forget)


def answer(environ: dict[str, Any]) -> Answer | None:
    """The whole answer to a request this lane takes, else None (for Django to answer)."""
    taken = lane_request(environ)
    if taken is None:
        return None
    endpoint, client, body = taken
    for receiver in ON_REQUEST_STARTED:
        receiver(sender=WSGIHandler, environ=environ)
    try:
        try:
            response = fast_answer(endpoint, client, body, environ["PATH_INFO"], environ)
        except Exception as error:  # what Django's handler does with an error nothing handled
            response = response_for_exception(WSGIRequest(environ), error)
        if response.status_code >= 400:  # logged as Django's handler logs refusals
            request = WSGIRequest(environ)
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return wsgi_answer(response, secure=is_secure(environ))
    finally:
        for receiver in ON_REQUEST_FINISHED:
            receiver(sender=WSGIHandler)


def lane_request(environ: dict[str, Any]) -> tuple["StampsApiView", ApiClient, Any] | None:
    """The endpoint, caller and body of a request the lane may take, else None."""
    endpoint = lane_endpoint(environ)
    if endpoint is None:
        return None
    lane = lane_settings()
    if lane.https_required and not is_secure(environ):
        return None
    length = content_length(environ)
    if length is None or length > lane.max_body_bytes:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)  # still there for Django if the lane steps aside
    entry = fast_lane_caller(endpoint, raw, environ, query_token=False)  # no query string here
    if entry is None:
        return None
    client, body = entry
    return endpoint, client, body


def lane_endpoint(environ: dict[str, Any]) -> "StampsApiView | None":
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
        return None
    if environ.get("CONTENT_TYPE", "").partition(";")[0].strip() != JSON:
        return None
    endpoint = lane_route(environ.get("PATH_INFO", ""))
    if endpoint is None:
        return None
    if not host_allowed(environ.get("HTTP_HOST")):
        return None
    return endpoint


def lane_route(path: str) -> "StampsApiView | None":
    """The endpoint whose fast lane serves `path`, from Django's own resolver, remembered."""
    if path in _routes:
        return _routes[path]
    try:
        endpoint = getattr(resolve(path).func, "endpoint", None)
    except Resolver404:
        endpoint = None
    if len(_routes) < MAX_ROUTES_REMEMBERED:
        _routes[path] = endpoint
    return endpoint


@lru_cache(maxsize=MAX_HOSTS_REMEMBERED)
def host_allowed(host: str | None) -> bool:
    """Django's own Host check, where it can answer without a request; else leave it to it.
    Remembered: every till sends the same Host."""
    lane = lane_settings()
    if not host or not lane.hosts_judged_here:
        return False
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, lane.allowed_hosts)


def is_secure(environ: dict[str, Any]) -> bool:
    """HttpRequest.is_secure() from the environ."""
    proxy_ssl_header = lane_settings().proxy_ssl_header
    if proxy_ssl_header:
        header, secure_value = proxy_ssl_header
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def content_length(environ: dict[str, Any]) -> int | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


def wsgi_answer(response: HttpResponse, *, secure: bool) -> Answer:
    """The response as status, headers and body, with what the API's middleware adds to
    every answer: SecurityMiddleware's headers (where the response has none of its own) and
    Content-Length, as CommonMiddleware sets it."""
    content = response.content
    # Read from the headers' own store, {lowercased name: (name, value)}: through the
    # Mapping protocol (response.items()) this function cost as much as building the response.
    stored = response.headers._store  # type: ignore[attr-defined]
    headers = list(stored.values())
    headers += [header for header in security_headers(secure) if header[0].lower() not in stored]
    if response.cookies:
        headers += [
            ("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()
        ]
    if "content-length" not in stored:
        headers.append(("Content-Length", str(len(content))))
    return f"{response.status_code} {response.reason_phrase}", headers, content


@cache
def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """What SecurityMiddleware adds to a response that has none of its headers; it reads its
    settings once, when it is built, so this is worked out once too."""
    bare = HttpResponse()
    added = _security.process_response(LaneRequest(secure), HttpResponse())
    return tuple((name, value) for name, value in added.items() if name not in bare)
