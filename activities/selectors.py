"""A member's history across every app: the sources each app defines, merged, newest first,
in pages that never split one second's activities."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from loyalty.models import Membership
from loyalty.selectors import (
    Activity,
    ActivityWindow,
    award_activities,
    deduction_activities,
    expiry_activities,
    level_change_activities,
)
from redemptions.selectors import redemption_activities
from transactions.selectors import transaction_activities

ACTIVITIES_PER_PAGE = 20

ActivitySource = Callable[[Membership, ActivityWindow], list[Activity]]

# A new kind of history is one function with the signature of ActivitySource, added here.
ACTIVITY_SOURCES: tuple[ActivitySource, ...] = (
    award_activities,
    deduction_activities,
    expiry_activities,
    level_change_activities,
    redemption_activities,
    transaction_activities,
)


def activities_collect(membership: Membership, window: ActivityWindow) -> list[Activity]:
    found = [activity for source in ACTIVITY_SOURCES for activity in source(membership, window)]
    found.sort(key=Activity.sort_key, reverse=True)
    return found[: window.limit] if window.limit is not None else found


@dataclass(frozen=True)
class ActivityPage:
    activities: list[Activity]
    has_next: bool


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def activities_page(
    membership: Membership, *, older_than: datetime | None = None, size: int = ACTIVITIES_PER_PAGE
) -> ActivityPage:
    """Newest first, created strictly before `older_than`. A page never splits the
    activities of one second (the precision of `created`), so passing the last activity's
    `created` as the next `older_than` neither skips nor repeats one; it may hold fewer than
    `size`, or, when one second holds more than a page, all of that second."""
    newest = activities_collect(membership, ActivityWindow(before=older_than, limit=size + 1))
    if len(newest) <= size:
        return ActivityPage(newest, has_next=False)
    boundary = whole_second(newest[size - 1].created_at)
    if whole_second(newest[size].created_at) < boundary:
        return ActivityPage(newest[:size], has_next=True)
    page = [activity for activity in newest[:size] if whole_second(activity.created_at) > boundary]
    if page:
        return ActivityPage(page, has_next=True)
    crowded = activities_collect(membership, ActivityWindow(before=older_than, since=boundary))
    older = activities_collect(membership, ActivityWindow(before=boundary, limit=1))
    return ActivityPage(crowded, has_next=bool(older))
