"""N `stamps/add` requests through the WSGI application, called in-process, after 300 to
warm it up; bench/python_instructions.sh runs this under callgrind. Reads the benchmark
merchant `make bench` seeded (bench/results/run) on DATABASE_URL.

Usage: inprocess_awards.py N"""

import io
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "results" / "run"
WARM_UP = 300


def seed_values() -> dict[str, str]:
    lines = (RUN / "seed.env").read_text().splitlines()
    return {name: value.strip("'") for name, _, value in (line.partition("=") for line in lines)}


def main(count: int) -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stamps_bench")
    os.environ.setdefault("STAMPS_REQUIRE_HTTPS", "false")
    sys.path.insert(0, str(ROOT))
    from stamps_server.wsgi import application

    seed = seed_values()
    emails = [line.split()[1] for line in (RUN / "members.txt").read_text().splitlines()]
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def award() -> None:
        body = (
            f'{{"user":"{random.choice(emails)}","store":{seed["SEED_STORE_ID"]},'
            '"number_of_stamps":1,"require_email_notification":false}'
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/stamps/add",
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
        application(environ, start_response)

    random.seed(1)
    for _ in range(WARM_UP + count):
        award()
    if set(statuses) != {"200 OK"}:
        sys.exit(f"not every award applied: {statuses}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
