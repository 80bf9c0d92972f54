"""Calls the real WSGI application as the server does: its two middleware stacks and Django's
request_started/finished connection housekeeping run (the test client skips both)."""

import io
import sys
from dataclasses import dataclass
from typing import Any

from stamps_server.wsgi import application


@dataclass
class WsgiAnswer:
    status: int
    headers: dict[str, str]
    content: bytes


def wsgi_environ(
    method: str, path: str, body: bytes = b"", content_type: str = "", **meta: Any
) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        **meta,
    }


def wsgi_call(
    method: str, path: str, body: bytes = b"", content_type: str = "", **meta: Any
) -> WsgiAnswer:
    environ = wsgi_environ(method, path, body, content_type, **meta)
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks = application(environ, lambda status, headers, *_: started.append((status, headers)))
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()  # optional in WSGI; the lane answers a list
    status, headers = started[0]
    return WsgiAnswer(int(status.split()[0]), dict(headers), content)
