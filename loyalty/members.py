"""Finding a merchant's member from the `user` a POS sends: email, Member ID or numeric id."""

from django.db.models import QuerySet

from loyalty.lock_objects import membership_qs_for_update
from loyalty.models import Membership, Merchant
from stamps_server.errors import DomainError

MAX_ID = 2**63 - 1


class UserNotFound(DomainError):
    code = "invalid_data"
    message = "User not found"
    field = "user"


class MembershipBlocked(DomainError):
    code = "membership_blocked"
    message = "This membership is blocked"
    field = "user"


def membership_find(*, merchant: Merchant, user: str, for_update: bool = False) -> Membership:
    """Email (case-insensitive) first when it looks like one, else Member ID, else id.

    A Member ID wins over an id with the same digits: a till scans card numbers."""
    base = membership_qs_for_update() if for_update else Membership.objects.select_related("level")
    scoped: QuerySet[Membership] = base.filter(merchant=merchant)
    if "@" in user:
        candidates = [scoped.filter(email=user.lower())]
    else:
        candidates = [scoped.filter(member_id=user)]
        if user.isascii() and user.isdigit() and 0 < int(user) <= MAX_ID:
            candidates.append(scoped.filter(pk=int(user)))
    for queryset in candidates:
        membership = queryset.first()
        if membership is not None:
            return membership
    raise UserNotFound()


def membership_lock(*, merchant: Merchant, user: str) -> Membership:
    return membership_find(merchant=merchant, user=user, for_update=True)


def ensure_not_blocked(membership: Membership) -> None:
    if membership.is_blocked:
        raise MembershipBlocked()
