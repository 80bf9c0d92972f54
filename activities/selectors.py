"""A member's history across every app: the sources each app defines, merged, newest first,
in pages of 20 that a client walks by passing the last activity's id as `older_than`."""

from collections.abc import Callable

from core.errors import DomainError
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


class UnknownActivity(DomainError):
    message = "Not an activity of this member"
    field = "older_than"


def activities_collect(membership: Membership, window: ActivityWindow) -> list[Activity]:
    found = [activity for source in ACTIVITY_SOURCES for activity in source(membership, window)]
    found.sort(key=Activity.position, reverse=True)
    return found[: window.limit] if window.limit is not None else found


def activities_page(
    membership: Membership, *, older_than: int | None = None, size: int = ACTIVITIES_PER_PAGE
) -> list[Activity]:
    """Newest first, those after activity `older_than` in that order: every activity has
    its own place (its creation, then its id), so the pages neither skip nor repeat one."""
    after = None
    if older_than is not None:
        last = activities_collect(membership, ActivityWindow(only=older_than))
        if not last:
            raise UnknownActivity()
        after = last[0].position()
    return activities_collect(membership, ActivityWindow(after=after, limit=size))
