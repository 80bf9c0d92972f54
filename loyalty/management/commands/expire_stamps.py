from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from loyalty.expiry import stamps_expire_due


class Command(BaseCommand):
    help = "Expires stamps past their expiration date as new ledger entries (safe to rerun)."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = stamps_expire_due(now=timezone.now())
        self.stdout.write(f"expired {expired} stamp(s)")
