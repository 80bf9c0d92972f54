"""The production server: `python -m stamps_server.serve`.

granian: its HTTP layer is Rust (keep-alive, parsing, timeouts), and worker processes run
the WSGI application in a few threads each. Every granian option can be set from the
environment (GRANIAN_PORT, GRANIAN_WORKERS, ...; `granian --help` lists them); these are
the defaults shipped, chosen with `make bench` on two cores (README, Benchmark)."""

import os
import sys

from granian.cli import cli

APPLICATION = "stamps_server.wsgi:application"


def shipped_defaults() -> dict[str, str]:
    return {
        "GRANIAN_INTERFACE": "wsgi",
        "GRANIAN_HOST": "0.0.0.0",
        "GRANIAN_PORT": "8000",
        "GRANIAN_WORKERS": str(os.cpu_count() or 1),
        # While one thread waits on PostgreSQL another runs Python.
        "GRANIAN_BLOCKING_THREADS": "2",
        "GRANIAN_WEBSOCKETS": "false",
        "GRANIAN_RESPAWN_FAILED_WORKERS": "true",
        "GRANIAN_WORKERS_KILL_TIMEOUT": "20",
    }


def main() -> None:
    for name, value in shipped_defaults().items():
        os.environ.setdefault(name, value)
    cli([APPLICATION, *sys.argv[1:]], auto_envvar_prefix="GRANIAN")


if __name__ == "__main__":
    main()
