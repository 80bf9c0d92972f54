"""The dashboard's figures of one merchant, each a sum of the ledger's entries, lots or
members."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum

from loyalty.ledger import merchant_date
from loyalty.models import DeductionPurpose, EntryKind, Membership, Merchant, Store
from loyalty.totals import (
    READER_FOLD_LIMIT,
    daily_totals,
    due_totals,
    members_active,
    totals_fold,
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
    """Every figure read from the ledger's running totals (loyalty/totals.py) and the members'
    indexes: a few rows per day, however long the ledger."""
    period = Period.ending_today(merchant, days=days, now=now)
    board = Dashboard(merchant=merchant, period=period)
    totals_fold(READER_FOLD_LIMIT)  # keeps the entries past the mark few for every reader
    members = Membership.objects.filter(merchant=merchant)
    board.members_total = members.count()
    board.members_joined = members.filter(
        created_at__gte=period.start, created_at__lt=period.end
    ).count()
    board.members_active = members_active(merchant, period.first_day)
    due = due_totals(merchant)
    board.outstanding = sum(due.values())
    soon = period.last_day + timedelta(days=EXPIRING_DAYS)
    board.expiring_soon = sum(stamps for day, stamps in due.items() if day <= soon)
    daily_figures(board)
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


def daily_figures(board: Dashboard) -> None:
    period = board.period
    board.daily = {name: dict.fromkeys(period.days, 0) for name in FIGURES}
    per_store: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for key, total in daily_totals(board.merchant, period.first_day, period.last_day).items():
        name = entry_figure(key.kind, key.purpose)
        if name is None:
            continue
        stamps = abs(total)
        board.daily[name][key.day] += stamps
        per_store[key.store_id][name] += stamps
    board.per_store = dict(per_store)
