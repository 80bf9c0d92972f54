"""The floor under `stamps/add` on this machine: the same award through the same ledger
function, one call per request, from a bare WSGI app under the same granian settings; no
Django, no validation, no authentication, no error handling. `make bench` measures it after
the real scenarios, so the gap between this server and the floor is measured, not guessed.
A yardstick only: never served."""

import os
import threading
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

AWARD = "SELECT award_id FROM stamps_award(%s, %s, %s, %s, '', %s, false, %s, %s)"
DATABASE_URL = os.environ["DATABASE_URL"]
MERCHANT = int(os.environ["BENCH_MERCHANT"])
_thread = threading.local()


def connection() -> psycopg.Connection:
    if getattr(_thread, "connection", None) is None:
        _thread.connection = psycopg.connect(DATABASE_URL, autocommit=True)
    return _thread.connection


def app(environ: dict, start_response):  # noqa: ANN201 (WSGI)
    if environ["REQUEST_METHOD"] != "POST":  # run.sh asking whether it is up
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    body = orjson.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
    now = datetime.now(UTC)
    today = now.date()
    arguments = [MERCHANT, body["store"], body["user"], body["number_of_stamps"]]
    (award_id,) = (
        connection()
        .execute(AWARD, [*arguments, today + timedelta(days=365), today, now])
        .fetchone()
    )
    answer = orjson.dumps({"award": {"id": award_id}})
    start_response(
        "200 OK" if award_id else "400 Bad Request",
        [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))],
    )
    return [answer]
