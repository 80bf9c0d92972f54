from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backoffice.exports import activity_rows, csv_lines
from loyalty.models import Merchant


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--since: {value!r} is not a date such as 2026-01-31.") from error


class Command(BaseCommand):
    help = "Writes the merchant's ledger entries since a date as CSV to standard output."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--merchant", type=int, required=True, help="The merchant's id.")
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD.")

    def handle(self, *args: Any, merchant: int, since: str, **options: Any) -> None:
        found = Merchant.objects.filter(pk=merchant).first()
        if found is None:
            raise CommandError(f"No merchant with id {merchant}.")
        for line in csv_lines(activity_rows(merchant=found, since=iso_date(since))):
            self.stdout.write(line, ending="")
