"""Times `import_members` on a file of ROWS new members, each with opening stamps, against
its own `--dry-run` (every row read and checked, nothing written) in the same run. The goal:
100,000 rows in under a minute. Then imports the same file again (every member known and
unchanged). Checks the ledger afterwards.

Usage: DATABASE_URL=... DJANGO_SECRET_KEY=... python bench/import_members.py [ROWS [EXISTING]]
(the members are new on each run, of the merchant named "Import Bench", made by the first
run; EXISTING more new members are imported into it first, untimed)"""

import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stamps_server.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from backoffice.imports import COLUMNS  # noqa: E402


def write_file(path: Path, rows: int, tag: str) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for n in range(rows):
            writer.writerow(
                {
                    "email": f"import-{tag}-{n}@example.com",
                    "member_id": f"IMP{tag}{n:07d}",
                    "name": f"Member {n}",
                    "phone": f"0812{n:08d}",
                    "birthday": f"19{70 + n % 30}-0{1 + n % 9}-1{n % 10}",
                    "gender": ("male", "female")[n % 2],
                    "stamps": 1 + n % 20,
                }
            )


def seconds(*args: object) -> float:
    started = time.perf_counter()
    call_command("import_members", *args, stdout=io.StringIO())
    return time.perf_counter() - started


def main(rows: int, existing: int) -> None:
    seeded = io.StringIO()
    call_command("seed_demo", "--name", "Import Bench", "--members", "0", "--json", stdout=seeded)
    merchant = str(json.loads(seeded.getvalue())["merchant_id"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "members.csv"
        if existing:
            write_file(path, existing, f"{merchant}y{time.time_ns()}")
            seconds(path, "--merchant", merchant)
        write_file(path, rows, f"{merchant}x{time.time_ns()}")
        checked = seconds(path, "--merchant", merchant, "--dry-run")
        imported = seconds(path, "--merchant", merchant)
        again = seconds(path, "--merchant", merchant)
    print(
        f"{rows} rows into {existing} members: import {imported:.1f} s "
        f"({rows / imported:,.0f} rows/s), "
        f"dry run {checked:.1f} s, ratio {imported / checked:.2f}; "
        f"the same file again (nothing to change) {again:.1f} s"
    )
    call_command("check_ledger")


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    existing = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    main(rows, existing)
