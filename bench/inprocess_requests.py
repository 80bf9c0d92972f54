"""N requests of one kind through the WSGI application, called in-process, after 300 of the
same kind to warm it up; bench/python_instructions.sh runs this under callgrind. Reads the
benchmark merchant `make bench` seeded and funded (bench/results/run) on DATABASE_URL.

Usage: inprocess_requests.py KIND N, KIND one of add, deduct, redeem, cancel. A cancel voids
one of AWARDS_TO_CANCEL awards made before the warm-up, the same awards whatever N is.
With KEYED=1 in the environment every request carries its own Idempotency-Key."""

import io
import json
import os
import random
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("BENCH_RUN_DIR") or ROOT / "bench" / "results" / "run")
WARM_UP = 300
FUNDED = 2000  # the first members, whom bench/fund.py funded (BENCH_FUNDED's default)
AWARDS_TO_CANCEL = 1000


def seed_values() -> dict[str, str]:
    lines = (RUN / "seed.env").read_text().splitlines()
    return {name: value.strip("'") for name, _, value in (line.partition("=") for line in lines)}


def main(kind: str, count: int) -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stamps_bench")
    os.environ.setdefault("STAMPS_REQUIRE_HTTPS", "false")
    sys.path.insert(0, str(ROOT))
    from stamps_server.wsgi import application

    seed = seed_values()
    emails = [line.split()[1] for line in (RUN / "members.txt").read_text().splitlines()]
    store, reward = int(seed["SEED_STORE_ID"]), int(seed["SEED_REWARD_ID"])
    statuses: dict[str, int] = {}
    keyed = os.environ.get("KEYED") == "1"
    sent = iter(range(10**9))
    run = uuid.uuid4().hex  # keys unique in the database across runs, all of one length
    awards: list[tuple[str, int]] = []  # (member's email, award) to cancel

    def post(path: str, body: bytes) -> bytes:
        def start_response(status: str, headers: list) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {seed['SEED_TOKEN']}",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
        }
        if keyed:
            environ["HTTP_IDEMPOTENCY_KEY"] = f"inprocess-{run}-{next(sent)}"
        return b"".join(application(environ, start_response))

    # Bodies as the tills send them, built with as little of the harness's own work as can
    # be: what it spends is counted with the server's.
    def add() -> tuple[str, bytes]:
        user = random.choice(emails)
        return user, post(
            "/api/stamps/add",
            f'{{"user":"{user}","store":{store},"number_of_stamps":1,'
            '"require_email_notification":false}'.encode(),
        )

    def deduct() -> None:
        user = random.choice(emails[:FUNDED])
        body = f'{{"user":"{user}","stamps":1,"notes":"bench"}}'.encode()
        post("/api/memberships/deduct-stamps", body)

    def redeem() -> None:
        user = random.choice(emails[:FUNDED])
        body = f'{{"customer":"{user}","store":{store},"reward":{reward}}}'.encode()
        post("/api/redemptions/add", body)

    def cancel() -> None:
        user, award_id = awards.pop()
        post("/api/stamps/cancel", f'{{"user":"{user}","id":{award_id}}}'.encode())

    requests: dict[str, Callable[[], object]] = {
        "add": add,
        "deduct": deduct,
        "redeem": redeem,
        "cancel": cancel,
    }
    random.seed(1)
    if kind == "cancel":
        if WARM_UP + count > AWARDS_TO_CANCEL:
            sys.exit(f"at most {AWARDS_TO_CANCEL - WARM_UP} cancels")
        for _ in range(AWARDS_TO_CANCEL):
            user, answer = add()
            awards.append((user, json.loads(answer)["award"]["id"]))
    for _ in range(WARM_UP + count):
        requests[kind]()
    if set(statuses) != {"200 OK"}:
        sys.exit(f"not every request applied: {statuses}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
