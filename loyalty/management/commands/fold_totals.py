import time
from typing import Any

from django.core.management.base import BaseCommand

from loyalty.totals import totals_fold


class Command(BaseCommand):
    help = (
        "Folds the ledger's pending sums into the dashboard's totals (the dashboard also folds "
        "when it is read); --loop keeps folding."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between folds.")

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            moved = totals_fold()
            if moved is None:
                self.stdout.write("another fold is running")
            elif moved:
                self.stdout.write(f"folded {moved} pending sum(s)")
            if not loop:
                return
            time.sleep(interval)
