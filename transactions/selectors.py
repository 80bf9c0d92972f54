from loyalty.models import Channel, Membership
from loyalty.selectors import (
    Activity,
    ActivityType,
    ActivityWindow,
    activity_status,
    merchant_brief,
    of_type,
    store_brief,
)
from transactions.models import Transaction, TransactionStatus


def transaction_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Purchases, dated when they were recorded; their stamps are not listed again as an
    award (see loyalty.selectors.award_activities)."""
    purchases = window.apply(
        Transaction.objects.filter(membership=membership).select_related("store"),
        of_type(ActivityType.TRANSACTION),
        created="recorded_at",
    )
    merchant = merchant_brief(membership.merchant)
    return [
        Activity(
            id=purchase.activity_id,
            type=ActivityType.TRANSACTION,
            created_at=purchase.recorded_at,
            body={
                "notes": "",
                "merchant": merchant,
                "store": store_brief(purchase.store),
                "transaction": {
                    "stamps": purchase.stamps_earned,
                    "name": f"Transaction #{purchase.pk}",
                    "status": activity_status(purchase.status == TransactionStatus.CANCELED),
                    "invoice_number": purchase.invoice_number,
                    "channel": Channel(purchase.channel).label,
                },
            },
        )
        for purchase in purchases
    ]
