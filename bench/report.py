"""Reads one bench run's raw output, prints the table and writes the results JSON.

Usage: report.py RUN_DIR OUT_JSON SCENARIO...
The scenario `add-floor` is the yardstick of bench/floor_app.py; the add's share of it is
reported beside the ratios.
RUN_DIR holds wrk-<scenario>.txt (wrk output with the BENCH_JSON line of stamps.lua) and
pgbench-before.txt and pgbench-after.txt, the yardstick's runs either side of the scenarios,
whose mean tps is the ratios' denominator; the rest comes from the environment run.sh sets.
Exits 1 if any scenario had an error or the ledger check failed."""

import json
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

FLOOR = "add-floor"
PGBENCH_RUNS = ("before", "after")  # the scenarios


def wrk_result(text: str) -> dict:
    line = next(line for line in text.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    # wrk's own summary lines, as a cross-check of what done() saw
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    # non_200_seen: what response() saw in the mix (wrk itself only counts status >= 400)
    status_errors = max(
        result["status_errors"], result["non_200_seen"], int(non_2xx[1]) if non_2xx else 0
    )
    socket_errors = max(result["socket_errors"], sum(map(int, sockets.groups())) if sockets else 0)
    return {
        "requests": result["requests"],
        "requests_per_s": round(result["rps"], 1),
        "p50_ms": round(result["p50_ms"], 2),
        "p90_ms": round(result["p90_ms"], 2),
        "p99_ms": round(result["p99_ms"], 2),
        "max_ms": round(result["max_ms"], 2),
        "errors": status_errors + socket_errors,
        "non_2xx": status_errors,
        "socket_errors": socket_errors,
        "ops": result["ops"],
    }


def pgbench_transactions(text: str) -> int:
    match = re.search(r"^number of transactions actually processed: (\d+)", text, re.MULTILINE)
    return int(match[1]) if match else 0


def work_per_request(run: Path, name: str, requests: int) -> dict | None:
    """PostgreSQL's counters over one measurement (run.sh's pg-NAME-{before,after}.json),
    per request: WAL bytes, full-page images, pages read from outside shared_buffers, and
    pages the backends had to write out themselves to make room."""
    try:
        before, after = (
            json.loads((run / f"pg-{name}-{when}.json").read_text()) for when in ("before", "after")
        )
    except (OSError, ValueError):
        return None
    if not requests:
        return None

    def per_request(key: str) -> float:
        return round((float(after[key]) - float(before[key])) / requests, 2)

    return {
        "wal_bytes": per_request("wal_bytes"),
        "wal_full_page_images": per_request("wal_fpi"),
        "blocks_read": per_request("blks_read"),
        "blocks_written_by_backends": per_request("buffers_backend"),
    }


def pgbench_tps(text: str) -> float:
    match = re.search(r"^tps = ([\d.]+)", text, re.MULTILINE)
    if match is None:
        sys.exit("no tps line in pgbench output")
    return float(match[1])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(run_dir: str, out_json: str, *scenarios: str) -> int:
    run = Path(run_dir)
    pgbench_texts = {when: (run / f"pgbench-{when}.txt").read_text() for when in PGBENCH_RUNS}
    tps_runs = {when: pgbench_tps(text) for when, text in pgbench_texts.items()}
    tps = sum(tps_runs.values()) / len(tps_runs)
    results = {name: wrk_result((run / f"wrk-{name}.txt").read_text()) for name in scenarios}
    for name, result in results.items():
        result["ratio_to_pgbench"] = round(result["requests_per_s"] / tps, 3)
        result["postgresql_per_request"] = work_per_request(run, name, result["requests"])
    pgbench_work = work_per_request(
        run, "pgbench-before", pgbench_transactions(pgbench_texts["before"])
    )
    env = os.environ
    ledger_ok = env.get("LEDGER_OK") == "1"
    machine = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "postgresql": env.get("SERVER_VERSION", ""),
    }
    settings = {
        "duration_s": int(env["DURATION"]),
        "connections": int(env["CONNECTIONS"]),
        "server": "granian (python -m stamps_server.serve)",
        "server_workers": int(env["WORKERS"]),
        "threads_per_worker": int(env["THREADS_PER_WORKER"]),
        "members": int(env["MEMBERS"]),
        "ledger_entries": int(env["LEDGER_ENTRIES"]),
    }
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": settings,
        "pgbench_tps": round(tps, 1),
        "pgbench_tps_runs": {when: round(value, 1) for when, value in tps_runs.items()},
        "pgbench_postgresql_per_transaction": pgbench_work,
        "scenarios": results,
        "ledger_check_passed": ledger_ok,
    }
    if FLOOR in results and "add" in results and results[FLOOR]["requests_per_s"]:
        report["floor"] = {
            "what": "stamps_award from a bare WSGI app, no Django (bench/floor_app.py)",
            "add_share_of_floor": round(
                results["add"]["requests_per_s"] / results[FLOOR]["requests_per_s"], 3
            ),
        }
    Path(out_json).write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"{machine['nproc']} x {machine['cpu_model']}; "
        f"granian, {settings['server_workers']} workers x {settings['threads_per_worker']} "
        f"threads; {settings['members']} members; "
        f"{settings['ledger_entries']} ledger entries; {settings['connections']} connections, "
        f"{settings['duration_s']}s each"
    )
    header = f"{'scenario':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<10} {r['requests_per_s']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['errors']:>7} {r['ratio_to_pgbench']:>7.3f}"
        )
    runs = " and ".join(f"{value:.1f} {when}" for when, value in tps_runs.items())
    print(f"{'pgbench':<10} {tps:>9.1f}   (TPC-B-like tps, the ratios' denominator)")
    print(f"{'':<10} {'':>9}   the mean of {runs} the scenarios")
    work = {name: r["postgresql_per_request"] for name, r in results.items()}
    work["pgbench"] = pgbench_work
    if any(work.values()):
        print("PostgreSQL per request: WAL bytes, full-page images, blocks read, backend writes")
        for name, w in work.items():
            if w:
                print(
                    f"  {name:<10} {w['wal_bytes']:>9.0f} {w['wal_full_page_images']:>6.2f} "
                    f"{w['blocks_read']:>6.2f} {w['blocks_written_by_backends']:>6.2f}"
                )
    if "floor" in report:
        print(
            f"add-floor: the same award from a bare WSGI app (bench/floor_app.py); "
            f"this server's add reaches {report['floor']['add_share_of_floor']:.2f} of it"
        )
    print(f"ledger check: {'passed' if ledger_ok else 'FAILED'}; written to {out_json}")

    failed = [name for name, r in results.items() if r["errors"]]
    if failed:
        print(f"FAIL: errors in {', '.join(failed)}", file=sys.stderr)
    if not ledger_ok:
        print("FAIL: the ledger check failed", file=sys.stderr)
    return 1 if failed or not ledger_ok else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
