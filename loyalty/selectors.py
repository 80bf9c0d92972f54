"""Reads a POS makes: spendable stamps, what will expire, and a member's activity history.

Nothing here writes or locks. Stamps shown to a customer never include a lot past its
expiration date, even before the expiry sweep (or the member's next write) has written it off."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import models
from django.db.models import Case, Expression, F, Q, QuerySet, Sum, Value, When

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
    Merchant,
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
    """The Stamps "Activity Type" codes of the kinds of history this server keeps."""

    TRANSACTION = 0, "Transaction"
    REDEMPTION = 1, "Redemption"
    AWARD = 2, "Awarded Stamps"
    UPGRADE = 5, "Membership Upgrade"
    DOWNGRADE = 6, "Membership Downgrade"
    DEDUCTION = 10, "Deduct Stamps"
    EXPIRY = 15, "Stamps Expired"


class ActivityStatus(models.IntegerChoices):
    """The Stamps status inside an activity."""

    CREATED = 1, "Created"
    CANCELED = 2, "Canceled"


# An activity's id is its source row's id and its type in one integer, unique across a
# member's history (the source ids are unique only within their table): id * 16 + type.
TYPE_SPAN = 16


def activity_id(source_id: int, activity_type: int) -> int:
    return source_id * TYPE_SPAN + activity_type


def activity_source_id(identifier: int) -> int:
    return identifier // TYPE_SPAN


@dataclass(frozen=True)
class Activity:
    """One line of a member's history: `body` holds what follows `id`, `type` and
    `created` in the answer, in the shape the Stamps documents print for its type."""

    id: int
    type: ActivityType
    created_at: datetime
    body: dict[str, Any] = field(default_factory=dict)

    def position(self) -> tuple[datetime, int, int]:
        """Its place, newest first: what one write records together (an award and the
        upgrade it reached) is ordered by type, the upgrade above the award."""
        return (self.created_at, self.type, self.id)


@dataclass(frozen=True)
class ActivityWindow:
    """What a source returns, newest first: the activities after `after`, a position
    (Activity.position), at most `limit` of them (all when None); or, with `only`, the
    activity of that id, if the source has it."""

    after: tuple[datetime, int, int] | None = None
    limit: int | None = None
    only: int | None = None

    def apply(
        self,
        queryset: QuerySet[Any],
        activity_type: Expression,
        *,
        created: str = "created_at",
        source: str = "pk",
    ) -> QuerySet[Any]:
        """Annotates each row with its `activity_type` (the expression given) and
        `activity_id`, and keeps the rows of the window."""
        queryset = queryset.annotate(activity_type=activity_type).annotate(
            activity_id=activity_id(F(source), F("activity_type"))
        )
        if self.only is not None:
            return queryset.filter(**{source: activity_source_id(self.only)}, activity_id=self.only)
        if self.after is not None:
            moment, type_, identifier = self.after
            queryset = queryset.filter(
                Q(**{f"{created}__lt": moment})
                | Q(**{created: moment}, activity_type__lt=type_)
                | Q(**{created: moment}, activity_type=type_, activity_id__lt=identifier)
            )
        queryset = queryset.order_by(f"-{created}", "-activity_type", "-activity_id")
        return queryset[: self.limit] if self.limit is not None else queryset


def of_type(activity_type: ActivityType) -> Value:
    return Value(activity_type.value)


def merchant_brief(merchant: Merchant) -> dict[str, Any]:
    return {"id": merchant.pk, "name": merchant.name}


def store_brief(store: Store) -> dict[str, Any]:
    return {"name": store.name, "display_name": store.shown_name}


def activity_status(canceled: bool) -> int:
    return ActivityStatus.CANCELED if canceled else ActivityStatus.CREATED


def award_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Awards given directly; a purchase's award is shown as the purchase."""
    awards = window.apply(
        Award.objects.of_member(membership).filter(transaction__isnull=True),
        of_type(ActivityType.AWARD),
    )
    merchant = merchant_brief(membership.merchant)
    return [
        Activity(
            id=award.activity_id,
            type=ActivityType.AWARD,
            created_at=award.created_at,
            body={
                "notes": award.notes,
                "merchant": merchant,
                "award": {
                    "stamps": award.number_of_stamps,
                    "name": award.notes or ActivityType.AWARD.label,
                    "status": activity_status(award.status == AwardStatus.CANCELED),
                },
            },
        )
        for award in awards
    ]


def deduction_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Plain deductions; a redemption's deduction is shown as the redemption."""
    deductions = window.apply(
        StampsDeduction.objects.filter(membership=membership, purpose=DeductionPurpose.DEDUCTION),
        of_type(ActivityType.DEDUCTION),
    )
    return [
        Activity(
            id=deduction.activity_id,
            type=ActivityType.DEDUCTION,
            created_at=deduction.created_at,
            body={
                "notes": deduction.notes,
                "stamps_deduction": {
                    "stamps": deduction.stamps,
                    "status": activity_status(deduction.status == DeductionStatus.CANCELED),
                    "notes": deduction.notes,
                },
            },
        )
        for deduction in deductions
    ]


def expiry_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """One activity per lot written off; its source is the lot (the award)."""
    expiries = window.apply(
        LedgerEntry.objects.filter(award__membership=membership, kind=EntryKind.EXPIRY)
        .values("award", "created_at")
        .annotate(delta=Sum("delta")),
        of_type(ActivityType.EXPIRY),
        source="award",
    )
    return [
        Activity(
            id=row["activity_id"],
            type=ActivityType.EXPIRY,
            created_at=row["created_at"],
            body={"expired_stamps": -row["delta"], "notes": ""},
        )
        for row in expiries
    ]


LEVEL_CHANGE_ACTIVITY = {
    LevelChangeKind.UPGRADE: (ActivityType.UPGRADE, "Upgraded to {level}"),
    LevelChangeKind.DOWNGRADE: (ActivityType.DOWNGRADE, "Downgraded to {level}"),
}
LEVEL_CHANGE_TYPE = Case(
    *(When(kind=kind, then=Value(int(type_))) for kind, (type_, _) in LEVEL_CHANGE_ACTIVITY.items())
)


def level_change_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Moves between levels; an upgrade says `stamps` 0, as the documents print it."""
    level_changes = window.apply(
        LevelChange.objects.filter(membership=membership).select_related("to_level"),
        LEVEL_CHANGE_TYPE,
    )
    activities = []
    for change in level_changes:
        type_, sentence = LEVEL_CHANGE_ACTIVITY[LevelChangeKind(change.kind)]
        moved = {"stamps": 0} if type_ is ActivityType.UPGRADE else {}
        activities.append(
            Activity(
                id=change.activity_id,
                type=type_,
                created_at=change.created_at,
                body={"notes": sentence.format(level=change.to_level.name), **moved},
            )
        )
    return activities
