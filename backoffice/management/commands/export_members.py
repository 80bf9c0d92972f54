from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.exports import csv_lines, members_rows
from loyalty.models import Merchant


class Command(BaseCommand):
    help = "Writes the merchant's members as CSV to standard output."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--merchant", type=int, required=True, help="The merchant's id.")

    def handle(self, *args: Any, merchant: int, **options: Any) -> None:
        found = Merchant.objects.filter(pk=merchant).first()
        if found is None:
            raise CommandError(f"No merchant with id {merchant}.")
        for line in csv_lines(members_rows(merchant=found, now=timezone.now())):
            self.stdout.write(line, ending="")
