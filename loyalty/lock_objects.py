"""Row locks, always taken through here so every request locks in one order:
idempotency key, then the membership, then (for redemptions) the reward."""

from django.db.models import QuerySet

from loyalty.models import Membership


def membership_qs_for_update() -> QuerySet[Membership]:
    # No join here: a row locked through a join is re-checked against the joined row as it
    # was, so a concurrent level change made the member vanish ("User not found").
    return Membership.objects.select_for_update()
