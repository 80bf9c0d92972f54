"""Row locks, always taken through here so every request locks in one order:
idempotency key, then the membership, then (for redemptions) the reward."""

from django.db.models import QuerySet

from loyalty.models import Membership


def membership_qs_for_update() -> QuerySet[Membership]:
    return Membership.objects.select_related("level").select_for_update(of=("self",))
