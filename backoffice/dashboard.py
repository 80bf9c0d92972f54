"""The dashboard's figures, each an aggregate over the ledger's entries, lots and members of
one merchant (selectors: reads only)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from loyalty.ledger import merchant_date
from loyalty.models import (
    LOT_SPENDABLE,
    Award,
    DeductionPurpose,
    EntryKind,
    LedgerEntry,
    Membership,
    Merchant,
    Store,
)
from redemptions.models import Redemption, RedemptionStatus

# What the dashboard counts, in the order it shows them. A spend moved from a cancelled lot
# to another (EntryKind.REDRAW) changes no figure: it takes from one lot what it gives the other.
FIGURES = ("issued", "redeemed", "deducted", "returned", "cancelled", "expired")
FIGURE_LABELS = {
    "issued": "Stamps issued",
    "redeemed": "Stamps redeemed",
    "deducted": "Stamps deducted",
    "returned": "Stamps returned (spends cancelled)",
    "cancelled": "Stamps cancelled (awards cancelled)",
    "expired": "Stamps expired",
}
EXPIRING_DAYS = 30


def entry_figure(kind: int, purpose: int | None) -> str | None:
    """The figure an entry counts towards (its stamps as a positive number), if any."""
    if kind == EntryKind.SPEND:
        return "redeemed" if purpose == DeductionPurpose.REDEMPTION else "deducted"
    return {
        EntryKind.AWARD: "issued",
        EntryKind.AWARD_CANCEL: "cancelled",
        EntryKind.EXPIRY: "expired",
        EntryKind.REFUND: "returned",
    }.get(EntryKind(kind))


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    time_zone: ZoneInfo

    @classmethod
    def ending_today(cls, merchant: Merchant, *, days: int, now: datetime) -> "Period":
        today = merchant_date(merchant, now)
        return cls(today - timedelta(days=days - 1), today, ZoneInfo(merchant.time_zone))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, self.time_zone)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last_day + timedelta(days=1), time.min, self.time_zone)

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]


@dataclass
class Dashboard:
    merchant: Merchant
    period: Period
    members_total: int = 0
    members_joined: int = 0
    members_active: int = 0
    outstanding: int = 0
    expiring_soon: int = 0
    # figure -> day -> stamps, in total and per store id
    daily: dict[str, dict[date, int]] = field(default_factory=dict)
    per_store: dict[int, dict[str, int]] = field(default_factory=dict)
    stores: dict[int, str] = field(default_factory=dict)
    redemptions_by_reward: list[dict[str, object]] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {name: sum(self.daily[name].values()) for name in FIGURES}


def dashboard_get(*, merchant: Merchant, days: int, now: datetime) -> Dashboard:
    period = Period.ending_today(merchant, days=days, now=now)
    board = Dashboard(merchant=merchant, period=period)
    members = Membership.objects.filter(merchant=merchant)
    counts = members.aggregate(
        total=Count("pk"),
        joined=Count("pk", filter=Q(created_at__gte=period.start, created_at__lt=period.end)),
        outstanding=Sum("stamps", default=0),
    )
    board.members_total, board.members_joined = counts["total"], counts["joined"]
    board.outstanding = counts["outstanding"]
    entries = LedgerEntry.objects.filter(
        membership__merchant=merchant, created_at__gte=period.start, created_at__lt=period.end
    )
    board.members_active = entries.values("membership").distinct().count()
    board.expiring_soon = Award.objects.filter(
        LOT_SPENDABLE,
        membership__merchant=merchant,
        expiration_date__lte=period.last_day + timedelta(days=EXPIRING_DAYS),
    ).aggregate(stamps=Sum("stamps_remaining", default=0))["stamps"]
    daily_figures(board, entries)
    board.stores = dict(Store.objects.filter(merchant=merchant).values_list("pk", "name"))
    board.redemptions_by_reward = list(
        Redemption.objects.filter(
            membership__merchant=merchant,
            status=RedemptionStatus.ACTIVE,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .values("reward__name")
        .annotate(count=Count("pk"), stamps=Sum("stamps_used"))
        .order_by("-count", "reward__name")
    )
    return board


def daily_figures(board: Dashboard, entries: object) -> None:
    rows = (
        entries.annotate(day=TruncDate("created_at", tzinfo=board.period.time_zone))  # type: ignore[attr-defined]
        .values("day", "award__store", "kind", "deduction__purpose")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    board.daily = {name: dict.fromkeys(board.period.days, 0) for name in FIGURES}
    per_store: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for row in rows:
        name = entry_figure(row["kind"], row["deduction__purpose"])
        if name is None:
            continue
        stamps = abs(row["total"])
        board.daily[name][row["day"]] += stamps
        per_store[row["award__store"]][name] += stamps
    board.per_store = dict(per_store)
