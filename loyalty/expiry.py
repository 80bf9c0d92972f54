"""The expiry sweep behind `manage.py expire_stamps`. Every write expires its member's
overdue lots first, and every read leaves them out; this sweep writes them off for members
nobody has touched since, so balances and the liability are right without a visit."""

from datetime import datetime

from django.db import transaction

from core.db import function_value
from loyalty.ledger import LotOverdue, merchant_date
from loyalty.models import LOT_SPENDABLE, Award, Merchant


def memberships_with_due_lots(*, merchant: Merchant, now: datetime, limit: int) -> list[int]:
    today = merchant_date(merchant, now)
    return list(
        Award.objects.filter(
            LOT_SPENDABLE,
            LotOverdue("expiration_date", today),
            membership__merchant=merchant,
        )
        .order_by("membership_id")
        .values_list("membership_id", flat=True)
        .distinct()[:limit]
    )


def stamps_expire_due(*, now: datetime, batch_size: int = 500) -> int:
    """Expires every due lot of every merchant (by each merchant's own date), one member per
    short transaction under that member's row lock, so it is safe beside live traffic and
    beside another sweep. Returns the stamps expired."""
    expired = 0
    for merchant in Merchant.objects.order_by("pk"):
        today = merchant_date(merchant, now)
        while due := memberships_with_due_lots(merchant=merchant, now=now, limit=batch_size):
            for membership_id in due:
                with transaction.atomic():
                    expired += function_value("stamps_expire_member", [membership_id, today, now])
    return expired
