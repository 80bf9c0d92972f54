from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.imports import members_import
from loyalty.ledger import SYSTEM
from loyalty.models import Merchant


class Command(BaseCommand):
    help = (
        "Imports members from a CSV file (header: email,member_id,name,phone,birthday,gender,"
        "stamps,expiration_date,level). Nothing is written when any row has an error."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--merchant", type=int, required=True, help="The merchant's id.")
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")

    def handle(self, *args: Any, file: Path, merchant: int, dry_run: bool, **options: Any) -> None:
        found = Merchant.objects.filter(pk=merchant).first()
        if found is None:
            raise CommandError(f"No merchant with id {merchant}.")
        try:
            with file.open(newline="", encoding="utf-8-sig") as lines:
                report = members_import(
                    merchant=found, lines=lines, actor=SYSTEM, now=timezone.now(), dry_run=dry_run
                )
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        for error in report.errors:
            self.stderr.write(error)
        if report.errors:
            raise CommandError(f"{len(report.errors)} error(s); nothing was imported.")
        self.stdout.write(report.summary())
