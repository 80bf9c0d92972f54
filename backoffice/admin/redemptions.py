from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from backoffice.admin.base import ScopedModelAdmin
from redemptions.models import Redemption, Reward


@admin.register(Reward)
class RewardAdmin(ScopedModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "id",
        "name",
        "merchant",
        "stamps_to_redeem",
        "minimum_level",
        "stock",
        "is_active",
    ]
    list_filter = ["merchant", "is_active"]
    list_display_links = ["id", "name"]
    search_fields = ["name", "code"]
    filter_horizontal = ["stores"]


@admin.register(Redemption)
class RedemptionAdmin(ScopedModelAdmin):
    list_display = ["id", "membership", "reward", "store", "stamps_used", "status", "created_at"]
    list_filter = ["status", "reward", "store", "reward__merchant"]
    search_fields = ["membership__email", "membership__member_id", "reward__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
