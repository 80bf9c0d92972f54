"""The production server: `python -m stamps_server.serve`.

granian: its HTTP layer is Rust (keep-alive, parsing, timeouts), and worker processes run
the WSGI application in a few threads each. Every granian option can be set from the
environment (GRANIAN_PORT, GRANIAN_WORKERS, ...; `granian --help` lists them); these are
the defaults shipped, chosen with `make bench` on two cores (README, Benchmark).

The workers count their metrics in files under PROMETHEUS_MULTIPROC_DIR (core/metrics.py):
a folder given there is emptied at the start (counts of an earlier run's processes must
not be added to this run's); without one, a temporary folder is made and removed at exit.

On SIGTERM (or SIGINT) granian stops accepting connections, lets the requests in flight
finish (up to GRANIAN_WORKERS_KILL_TIMEOUT seconds) and exits: tests/test_graceful_stop.py."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from granian.cli import cli

APPLICATION = "stamps_server.wsgi:application"
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


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


def metrics_dir_prepare() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR emptied, or made; the folder to remove at exit, if made."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for counts in folder.glob("*.db"):
            counts.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="stamps-metrics-"))
    os.environ[MULTIPROCESS_DIR] = str(made)
    return made


def main() -> None:
    for name, value in shipped_defaults().items():
        os.environ.setdefault(name, value)
    made = metrics_dir_prepare()
    try:
        cli([APPLICATION, *sys.argv[1:]], auto_envvar_prefix="GRANIAN")
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
