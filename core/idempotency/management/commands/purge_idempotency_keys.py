from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from core.idempotency.services import idempotency_purge


class Command(BaseCommand):
    help = "Deletes stored Idempotency-Key responses older than --hours (never under 24)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args: Any, hours: int, **options: Any) -> None:
        deleted = idempotency_purge(now=timezone.now(), older_than=timedelta(hours=hours))
        self.stdout.write(f"purged {deleted} idempotency key(s)")
