"""Reads a POS makes: spendable stamps, what will expire, and a member's activity history.

Nothing here writes or locks. Stamps shown to a customer never include a lot past its
expiration date, even before the expiry sweep (or the member's next write) has written it off."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import models
from django.db.models import QuerySet, Sum

from core.db import function_value
from loyalty.ledger import LotOverdue
from loyalty.models import (
    LOT_SPENDABLE,
    Award,
    AwardStatus,
    DeductionPurpose,
    DeductionStatus,
    EntryKind,
    LedgerEntry,
    LevelChange,
    LevelChangeKind,
    Membership,
    StampsDeduction,
    Store,
)


def membership_spendable_stamps(membership: Membership, *, today: date) -> int:
    """The cached balance less what sits in lots already past their date, by the ledger's
    own rule (stamps_spendable), in one statement so a concurrent write-off cannot be
    counted twice or not at all."""
    return int(function_value("stamps_spendable", [membership.pk, today]))


def expiration_journals(
    membership: Membership, *, today: date, minimum_date: date | None = None
) -> list[Award]:
    """Lots that still hold stamps and will expire on or after `minimum_date`, soonest first.
    A date before today means today: a lot past its date has expired already."""
    since = max(minimum_date or today, today)
    return list(
        Award.objects.filter(LOT_SPENDABLE, membership=membership)
        .exclude(LotOverdue("expiration_date", since))
        .order_by("expiration_date", "id")
    )


class ActivityType(models.IntegerChoices):
    TRANSACTION = 0, "Transaction"
    REDEMPTION = 1, "Redemption"
    AWARD = 2, "Awarded Stamps"
    UPGRADE = 5, "Membership Upgrade"
    DOWNGRADE = 6, "Membership Downgrade"
    DEDUCTION = 10, "Deduct Stamps"
    EXPIRY = 15, "Stamps Expired"


@dataclass(frozen=True)
class Activity:
    """One line of a member's history. `id` is the id of the source row (an award, a
    redemption...), unique within its type; `details` holds the type's own object."""

    type: ActivityType
    id: int
    stamps: int
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.created_at, self.type, self.id)


@dataclass(frozen=True)
class ActivityWindow:
    """What a source returns: activities created in [since, before), newest first, at most
    `limit` of them (all when None)."""

    before: datetime | None = None
    since: datetime | None = None
    limit: int | None = None

    def apply(
        self, queryset: QuerySet[Any], *, created: str = "created_at", tiebreak: str = "-pk"
    ) -> QuerySet[Any]:
        if self.before is not None:
            queryset = queryset.filter(**{f"{created}__lt": self.before})
        if self.since is not None:
            queryset = queryset.filter(**{f"{created}__gte": self.since})
        queryset = queryset.order_by(f"-{created}", tiebreak)
        return queryset[: self.limit] if self.limit is not None else queryset


def store_brief(store: Store) -> dict[str, Any]:
    return {"id": store.pk, "name": store.name}


def award_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    awards = window.apply(
        Award.objects.of_member(membership).filter(transaction__isnull=True).select_related("store")
    )
    return [
        Activity(
            type=ActivityType.AWARD,
            id=award.pk,
            stamps=award.number_of_stamps,
            created_at=award.created_at,
            details={
                "award": {
                    "stamps": award.number_of_stamps,
                    "notes": award.notes,
                    "status": award.status,
                    "status_text": AwardStatus(award.status).label,
                    "expiration_date": award.expiration_date.isoformat(),
                },
                "store": store_brief(award.store),
            },
        )
        for award in awards
    ]


def deduction_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Plain deductions; a redemption's deduction is shown as the redemption."""
    deductions = window.apply(
        StampsDeduction.objects.filter(membership=membership, purpose=DeductionPurpose.DEDUCTION)
    )
    return [
        Activity(
            type=ActivityType.DEDUCTION,
            id=deduction.pk,
            stamps=deduction.stamps,
            created_at=deduction.created_at,
            details={
                "stamps_deduction": {
                    "stamps": deduction.stamps,
                    "notes": deduction.notes,
                    "status": deduction.status,
                    "status_text": DeductionStatus(deduction.status).label,
                }
            },
        )
        for deduction in deductions
    ]


def expiry_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """One activity per lot and write-off; its id is the lot's (the award's) id."""
    expiries = window.apply(
        LedgerEntry.objects.filter(award__membership=membership, kind=EntryKind.EXPIRY)
        .values("award", "created_at")
        .annotate(delta=Sum("delta")),
        tiebreak="-award",
    )
    return [
        Activity(
            type=ActivityType.EXPIRY,
            id=row["award"],
            stamps=-row["delta"],
            created_at=row["created_at"],
            details={"expired_stamps": -row["delta"], "award": {"id": row["award"]}},
        )
        for row in expiries
    ]


LEVEL_CHANGE_ACTIVITY = {
    LevelChangeKind.UPGRADE: ActivityType.UPGRADE,
    LevelChangeKind.DOWNGRADE: ActivityType.DOWNGRADE,
}


def level_change_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Moves between levels; no stamps move with them."""
    level_changes = window.apply(
        LevelChange.objects.filter(membership=membership).select_related("from_level", "to_level")
    )
    return [
        Activity(
            type=LEVEL_CHANGE_ACTIVITY[LevelChangeKind(change.kind)],
            id=change.pk,
            stamps=0,
            created_at=change.created_at,
            details={
                "membership": {
                    "level": change.to_level.number,
                    "level_text": change.to_level.name,
                    "previous_level": change.from_level.number,
                    "previous_level_text": change.from_level.name,
                }
            },
        )
        for change in level_changes
    ]
