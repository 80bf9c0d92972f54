"""The expiry sweep behind `manage.py expire_stamps`. Writes touch expired lots lazily too;
this sweep makes balances right for members nobody has touched since their lots expired."""

from datetime import datetime

from django.db import transaction

from loyalty import ledger
from loyalty.lock_objects import membership_qs_for_update
from loyalty.models import LOT_SPENDABLE, Award


def memberships_with_due_lots(*, now: datetime, limit: int) -> list[int]:
    return list(
        Award.objects.filter(
            LOT_SPENDABLE,
            expiration_date__lt=ledger.local_date(now),
        )
        .order_by("membership_id")
        .values_list("membership_id", flat=True)
        .distinct()[:limit]
    )


def stamps_expire_due(*, now: datetime, batch_size: int = 500) -> int:
    """Expires every due lot, one member per short transaction under that member's row
    lock, so it is safe beside live traffic and beside another sweep. Returns stamps expired."""
    expired = 0
    while due := memberships_with_due_lots(now=now, limit=batch_size):
        for membership_id in due:
            with transaction.atomic():
                membership = membership_qs_for_update().get(pk=membership_id)
                expired += ledger.lots_expire_due(membership=membership, now=now)
                membership.save(update_fields=["stamps"])
    return expired
