"""A short run of scripts/crash_test.py: the production server (granian) on PostgreSQL,
SIGKILLed twice under a mixed load with Idempotency-Keys; afterwards every 2xx must be in
the ledger exactly once.

The script drops and re-creates its own database (on the server the suite uses, never the
test database itself), starts its own server on 127.0.0.1, and always kills it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wire import database_url

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crash_test.py"


def crash_database_url() -> str:
    """The suite's PostgreSQL server and credentials, with a database of our own."""
    return database_url(f"stamps_crash_test_{os.getpid()}")


def test_killed_server_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    command = [
        sys.executable,
        str(SCRIPT),
        "--database-url",
        crash_database_url(),
        "--calls",
        "120",
        "--clients",
        "3",
        "--kills",
        "2",
        "--members",
        "20",
        "--max-seconds",
        "45",
        "--request-timeout",
        "8",
        "--cleanup",
        "--summary-json",
        str(summary_path),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        stdout, _ = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the script then kills its server (its own process group).
        process.terminate()
        stdout, _ = process.communicate(timeout=60)
        pytest.fail(f"the crash test did not finish in time:\n{stdout}")
    output = f"$ {' '.join(command)}\n{stdout}"
    assert process.returncode == 0, output

    summary = json.loads(summary_path.read_text())
    assert summary["passed"], output
    assert summary["kills"] == 2, output
    assert summary["unanswered"] == 0, output
    assert summary["2xx"] > 0, output
    assert summary["connection_errors"] > 0, output  # the kills did cut calls off
