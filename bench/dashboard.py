"""Times the back office's dashboard on the benchmark database, against a reference in the
same run: the period's entries summed per day, store and kind (how the dashboard read them
before it had totals). Folds the entries into the totals first (`fold_totals`). Prints each
median and their ratio; the goal is under half a second on the scale run (1,000,000
members, 10,000,000 entries).

Usage: DATABASE_URL=... DJANGO_SECRET_KEY=... python bench/dashboard.py [ROUNDS]
(the merchant with the most members is measured)"""

import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stamps_server.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.db.models.functions import TruncDate  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.dashboard import Period, dashboard_get  # noqa: E402
from loyalty.models import LedgerEntry, Merchant  # noqa: E402


def entries_summed(merchant: Merchant, days: int) -> int:
    period = Period.ending_today(merchant, days=days, now=timezone.now())
    rows = (
        LedgerEntry.objects.filter(
            membership__merchant=merchant,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .annotate(day=TruncDate("created_at", tzinfo=period.time_zone))
        .values("day", "award__store", "kind", "deduction__purpose")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    return len(list(rows))


def seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(rounds: int) -> None:
    merchant = Merchant.objects.annotate(members=Count("memberships")).order_by("-members")[0]
    now = timezone.now()
    folding = seconds(partial(call_command, "fold_totals", stdout=sys.stdout))
    print(f"fold_totals first: {folding:.1f} s (what a deployment's fold_totals --loop does)")
    print(f"merchant {merchant.pk} ({merchant.members} members), {rounds} rounds, warm")
    for days in (30, 365):
        dashboard_get(merchant=merchant, days=days, now=now)  # warms the cache
        entries_summed(merchant, days)
        board, summed = [], []
        for _ in range(rounds):
            board.append(seconds(partial(dashboard_get, merchant=merchant, days=days, now=now)))
            summed.append(seconds(partial(entries_summed, merchant, days)))
        ours, reference = statistics.median(board), statistics.median(summed)
        print(
            f"{days:>3} days: dashboard {ours:.3f} s, entries summed {reference:.3f} s, "
            f"ratio {ours / reference:.3f}"
        )
    board = dashboard_get(merchant=merchant, days=30, now=now)
    print(
        f"figures: {board.members_total} members, {board.members_active} active, "
        f"{board.outstanding} outstanding, issued {board.totals()['issued']} in 30 days"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
