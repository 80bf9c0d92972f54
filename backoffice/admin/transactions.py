from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backoffice.admin.base import ScopedModelAdmin
from transactions.models import Transaction


@admin.register(Transaction)
class TransactionAdmin(ScopedModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
