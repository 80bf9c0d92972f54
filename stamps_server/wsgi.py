"""The WSGI application. API calls, the traffic tills send all day, go through a handler
with only the middleware an API needs (settings.API_MIDDLEWARE); the admin and everything
else through the full MIDDLEWARE stack with sessions, CSRF and messages."""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stamps_server.settings")
web_handler = get_wsgi_application()  # sets Django up


class ApiHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; lend it the API's list meanwhile.
        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack


api_handler = ApiHandler()
from stamps_server import wsgi_lane  # noqa: E402  (these need the settings above)
from stamps_server.middleware import API_PREFIX  # noqa: E402


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    lane_answer = wsgi_lane.answer(environ)
    if lane_answer is not None:
        status, headers, body = lane_answer
        start_response(status, headers)
        return [body]
    is_api = environ.get("PATH_INFO", "").startswith(API_PREFIX)
    return (api_handler if is_api else web_handler)(environ, start_response)
