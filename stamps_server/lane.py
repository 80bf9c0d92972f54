"""The lean lane: the call a till sends all day, answered before Django's request cycle.

The lane only decides whether it may take a request: a POST to a Stamps endpoint with a
JSON body and no query string, to an allowed Host, over https where https is required,
within the body limit, with a known key in its Authorization header or body that the
endpoint's throttles let through. It answers with the endpoint's own code
(core.api.StampsApiView.answer, which DRF's view calls too), and does what Django's request
cycle does around every answer: the housekeeping of its request signals' receivers (see
`housekeeping`), the middleware's headers, Content-Length, the log line of a refusal and the
500 page of an error. Anything else goes to Django unchanged, which makes that answer.
Skipping the building of a Django and a DRF request, the middleware chain and DRF's
dispatch halves an award's Python (docs/performance.md); tests/test_lane.py sends requests
down both ways and compares the answers."""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from http.client import responses
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import close_old_connections, connections, reset_queries
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.log import log_response

from core.answers import JSON, Answer
from core.api import StampsApiView
from core.idempotency.services import HEADER
from core.request_log import current_request, route_label
from loyalty.authentication import ApiClient, api_client_for_key, key_from_body
from stamps_server.middleware import API_PREFIX

WsgiAnswer = tuple[str, list[tuple[str, str]], bytes]
IDEMPOTENCY_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
HEADER_SCHEMES = ("Token", "Bearer")
MAX_PATHS_REMEMBERED = 256  # paths are the client's to choose; the endpoints are few


@dataclass(frozen=True)
class LaneSettings:
    """What the lane reads of the settings on every request, read once (and again after
    a setting_changed signal, which only tests send)."""

    https_required: bool
    debug: bool
    max_body_bytes: int
    proxy_ssl_header: tuple[str, str] | None
    allowed_hosts: tuple[str, ...]
    databases: tuple[str, ...]
    judges_hosts: bool  # Django's Host check needs nothing but the Host header


@cache
def lane_settings() -> LaneSettings:
    return LaneSettings(
        https_required=settings.STAMPS_REQUIRE_HTTPS or settings.SECURE_SSL_REDIRECT,
        debug=settings.DEBUG,
        max_body_bytes=settings.STAMPS_MAX_BODY_BYTES,
        proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER,
        allowed_hosts=tuple(settings.ALLOWED_HOSTS),
        databases=tuple(settings.DATABASES),
        judges_hosts=bool(
            settings.ALLOWED_HOSTS
            and not settings.USE_X_FORWARDED_HOST
            and not settings.DISALLOWED_USER_AGENTS
        ),
    )


def settings_forget(**kwargs: Any) -> None:
    lane_settings.cache_clear()
    host_allowed.cache_clear()
    answer_headers.cache_clear()


setting_changed.connect(settings_forget)


class Endpoint(NamedTuple):
    view: StampsApiView
    route: str  # its URL pattern, for the request's log line and metrics


class Taken(NamedTuple):
    endpoint: StampsApiView
    caller: ApiClient
    body: Any
    route: str


class Lane:
    """A WSGI application: the lane in front of Django's."""

    def __init__(self, django_application: Callable[..., Iterable[bytes]]) -> None:
        self.django_application = django_application
        self.endpoints: dict[str, Endpoint | None] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        taken = self.take(environ)
        if taken is None:
            return self.django_application(environ, start_response)
        facts = current_request()
        if facts is not None:  # noted as Django's request cycle notes them (middleware)
            facts.route = taken.route
            facts.caller_note(
                merchant_id=taken.caller.merchant.pk, api_key_id=taken.caller.token_id
            )
        status, headers, body = self.answer(environ, taken)
        start_response(status, headers)
        return [body]

    def take(self, environ: dict[str, Any]) -> Taken | None:
        """The endpoint, caller and body of a request the lane may answer, else None."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return None
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip() != JSON:
            return None
        endpoint = self.endpoint(environ.get("PATH_INFO", ""))
        if endpoint is None or not host_allowed(environ.get("HTTP_HOST")):
            return None
        lane = lane_settings()
        if lane.https_required and not is_secure(environ):
            return None
        length = content_length(environ)
        if length is None or length > lane.max_body_bytes:
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # still there for Django if the lane steps aside
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        caller = known_caller(environ, body)
        if caller is None or not throttles_allow(endpoint.view, caller):
            return None
        return Taken(endpoint.view, caller, body, endpoint.route)

    def endpoint(self, path: str) -> Endpoint | None:
        """The Stamps POST endpoint Django's resolver finds for `path`, remembered."""
        if path in self.endpoints:
            return self.endpoints[path]
        endpoint = None
        if path.startswith(API_PREFIX):
            try:
                match = resolve(path)
            except Resolver404:
                match = None
            view_class = getattr(match.func, "cls", None) if match is not None else None
            if isinstance(view_class, type) and issubclass(view_class, StampsApiView):
                endpoint = Endpoint(endpoint_instance(view_class), route_label(match))
        if len(self.endpoints) < MAX_PATHS_REMEMBERED:
            self.endpoints[path] = endpoint
        return endpoint

    def answer(self, environ: dict[str, Any], taken: Taken) -> WsgiAnswer:
        databases = [connections[alias] for alias in lane_settings().databases]
        housekeeping(databases)
        try:
            try:
                answer = taken.endpoint.answer(
                    caller=taken.caller,
                    body=taken.body,
                    path=environ["PATH_INFO"],
                    idempotency_key=environ.get(IDEMPOTENCY_KEY),
                )
            except Exception as error:  # what Django's handler does with an unhandled error
                answer = Answer.of(response_for_exception(WSGIRequest(environ), error))
            if answer.status >= 400:  # logged as Django's handler logs refusals
                log_refusal(environ, answer)
            return wsgi_answer(answer, type(taken.endpoint), secure=is_secure(environ))
        finally:
            connections_tidy(databases)


def housekeeping(databases: list[BaseDatabaseWrapper]) -> None:
    """What the receivers of Django's request_started and request_finished signals do for a
    request the lane answers, called directly: sending the signals costs a sixth of an
    award's Python. Before the answer: reset_queries (it only has something to clear when
    queries are logged) and close_old_connections; after it, close_old_connections again.
    Of the other receivers, close_caches closes nothing for the locmem and Redis caches this
    server configures, and reset_urlconf drops the URLconf Django's handler sets, which the
    lane never sets. tests/test_lane.py fails when a receiver it does not know is connected."""
    if lane_settings().debug:
        reset_queries()
    connections_tidy(databases)


def connections_tidy(databases: list[BaseDatabaseWrapper]) -> None:
    """close_old_connections, for the request's connections looked up once (each look-up
    goes through asgiref's Local): one too old or broken is closed, and the next use opens
    it afresh."""
    for database in databases:
        database.close_if_unusable_or_obsolete()


RECEIVERS_STOOD_IN_FOR = {
    "request_started": {reset_queries, close_old_connections},
    "request_finished": {close_old_connections, close_caches, reset_urlconf},
}


@cache
def view_headers(view_class: type[StampsApiView]) -> tuple[tuple[str, str], ...]:
    """What DRF's view sets on every answer of the endpoint (its Allow header)."""
    return tuple(view_class().default_response_headers.items())


@cache
def endpoint_instance(view_class: type[StampsApiView]) -> StampsApiView:
    return view_class()


def known_caller(environ: dict[str, Any], body: Any) -> ApiClient | None:
    """The caller of a well-formed key: in the Authorization header, else in the body."""
    header = environ.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, key = header.partition(" ")
        if scheme not in HEADER_SCHEMES:
            return None
    else:
        key = key_from_body(body)
    if not isinstance(key, str) or not key or key != key.strip():
        return None  # missing or malformed: DRF's authentication says why
    return api_client_for_key(key)


def throttles_allow(endpoint: StampsApiView, caller: ApiClient) -> bool:
    """What DRF's check_throttles asks of the endpoint's throttles (they read the caller)."""
    request: Any = CallerOnly(user=caller)
    return all(throttle.allow_request(request, endpoint) for throttle in endpoint.get_throttles())


class CallerOnly(NamedTuple):
    user: ApiClient


@lru_cache(maxsize=64)  # every till sends the same Host
def host_allowed(host: str | None) -> bool:
    """Django's own Host check, where it can answer with the Host header alone; otherwise
    the lane steps aside and lets Django judge."""
    lane = lane_settings()
    if not host or not lane.judges_hosts:
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


def wsgi_answer(answer: Answer, view_class: type[StampsApiView], *, secure: bool) -> WsgiAnswer:
    """The answer as WSGI's status, headers and body, with the headers Django's request cycle
    adds: DRF's view's (Allow), the middleware's it lacks, and Content-Length."""
    headers = [*answer.headers, *view_headers(view_class)]
    named = {name.lower() for name, _ in headers}
    headers += [
        (name, value) for name, value in answer_headers(secure) if name.lower() not in named
    ]
    headers.append(("Content-Length", str(len(answer.body))))
    return f"{answer.status} {responses[answer.status]}", headers, answer.body


def log_refusal(environ: dict[str, Any], answer: Answer) -> None:
    request = WSGIRequest(environ)
    response = answer.as_response()
    log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)


@dataclass(frozen=True)
class SchemeOnly:
    """What SecurityMiddleware and XFrameOptionsMiddleware read of a request."""

    secure: bool

    def is_secure(self) -> bool:
        return self.secure


@cache
def answer_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers the middleware adds to an answer that has none of its own, worked out
    once per scheme by the middleware itself."""
    request: Any = SchemeOnly(secure)
    response = HttpResponse()
    bare = set(response.headers)
    for middleware in (SecurityMiddleware, XFrameOptionsMiddleware):
        response = middleware(lambda request: HttpResponse()).process_response(request, response)
    return tuple((name, value) for name, value in response.items() if name not in bare)
