import time
from typing import Any

from django.core.management.base import BaseCommand

from loyalty.totals import totals_fold


class Command(BaseCommand):
    help = (
        "Folds the ledger's entries into the dashboard's totals until they are caught up (the "
        "dashboard also folds a little when it is read); --loop keeps folding."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between folds.")

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            folded = self.catch_up()
            if folded:
                self.stdout.write(f"folded {folded} entries")
            if not loop:
                return
            time.sleep(interval)

    def catch_up(self) -> int:
        total = 0
        while (folded := totals_fold()) is not None:
            total += folded
            if folded == 0:
                return total
        self.stdout.write("another fold is running")
        return total
