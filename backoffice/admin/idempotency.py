from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backoffice.admin.base import ScopedModelAdmin
from core.idempotency.models import IdempotentResponse


@admin.register(IdempotentResponse)
class IdempotentResponseAdmin(ScopedModelAdmin):
    list_display = ["key", "merchant", "status_code", "created_at"]
    list_filter = ["merchant"]
    search_fields = ["key"]
    exclude = ["body"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
