from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from backoffice.admin.base import ScopedModelAdmin
from backoffice.admin.cancels import CancelActions
from loyalty.ledger import Actor
from transactions.models import Transaction
from transactions.services import transaction_cancel


@admin.register(Transaction)
class TransactionAdmin(CancelActions, ScopedModelAdmin):
    list_display = [
        "invoice_number",
        "store",
        "membership",
        "total_value",
        "stamps_earned",
        "status",
        "created_at",
    ]
    list_filter = ["status", "store"]
    search_fields = ["invoice_number", "membership__email", "membership__member_id"]

    actions = ["cancel_purchases"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel selected purchases", permissions=["adjust"])
    def cancel_purchases(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> Any:
        def cancel(purchase: Transaction, reason: str, actor: Actor) -> Any:
            return transaction_cancel(
                merchant=purchase.merchant,
                transaction_id=purchase.pk,
                cancel_related_redemptions=False,
                now=timezone.now(),
                actor=actor,
                reason=reason,
            )

        rows = queryset.select_related("merchant")
        return self.cancel_with_reason(request, rows, "cancel_purchases", cancel)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
