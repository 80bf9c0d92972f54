from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.checks import ledger_mismatches


class Command(BaseCommand):
    help = "Re-derives every balance and lot from the ledger entries; exits 1 on any mismatch."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=100, help="Report at most this many.")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        mismatches = []
        for mismatch in ledger_mismatches():
            mismatches.append(mismatch)
            if len(mismatches) >= limit:
                break
        for mismatch in mismatches:
            self.stderr.write(str(mismatch))
        if mismatches:
            raise CommandError(f"ledger check failed: {len(mismatches)} mismatch(es) shown")
        self.stdout.write("ledger check passed: balances, lots, deductions and totals agree")
