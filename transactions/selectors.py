from loyalty.models import Membership
from loyalty.selectors import Activity, ActivityType, ActivityWindow, store_brief
from transactions.models import Transaction, TransactionStatus


def transaction_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    """Purchases, dated when they were recorded; their stamps are not listed again as an
    award (see loyalty.selectors.award_activities)."""
    purchases = window.apply(
        Transaction.objects.filter(membership=membership).select_related("store"),
        created="recorded_at",
    )
    return [
        Activity(
            type=ActivityType.TRANSACTION,
            id=purchase.pk,
            stamps=purchase.stamps_earned,
            created_at=purchase.recorded_at,
            details={
                "transaction": {
                    "invoice_number": purchase.invoice_number,
                    "value": float(purchase.total_value),
                    "stamps_earned": purchase.stamps_earned,
                    "status": purchase.status,
                    "status_text": TransactionStatus(purchase.status).label,
                },
                "store": store_brief(purchase.store),
            },
        )
        for purchase in purchases
    ]
