import time
from typing import Any

from django.core.management.base import BaseCommand

from loyalty.notifications import outbox_send_due


class Command(BaseCommand):
    help = "Sends due customer emails from the outbox; --loop keeps polling."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between polls.")

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            sent = outbox_send_due()
            if sent:
                self.stdout.write(f"sent {sent} email(s)")
            if not loop:
                return
            time.sleep(interval)
