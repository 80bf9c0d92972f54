from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from loyalty.notifications import OUTBOX_RETENTION, outbox_purge


class Command(BaseCommand):
    help = (
        "Deletes outbox emails sent, or given up on, more than --days ago (never under 1); "
        "pending ones stay."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=OUTBOX_RETENTION.days)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        deleted = outbox_purge(now=timezone.now(), older_than=timedelta(days=days))
        self.stdout.write(f"purged {deleted} email(s)")
