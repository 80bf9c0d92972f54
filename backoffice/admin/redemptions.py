from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from backoffice.admin.base import ScopedModelAdmin
from backoffice.admin.cancels import CancelActions
from loyalty.ledger import Actor
from redemptions.models import Redemption, Reward
from redemptions.services import redemption_cancel


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
class RedemptionAdmin(CancelActions, ScopedModelAdmin):
    list_display = ["id", "membership", "reward", "store", "stamps_used", "status", "created_at"]
    list_filter = ["status", "reward", "store", "reward__merchant"]
    search_fields = ["membership__email", "membership__member_id", "reward__name"]

    actions = ["cancel_redemptions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel selected redemptions", permissions=["adjust"])
    def cancel_redemptions(self, request: HttpRequest, queryset: QuerySet[Redemption]) -> Any:
        def cancel(redemption: Redemption, reason: str, actor: Actor) -> Any:
            return redemption_cancel(
                merchant=redemption.membership.merchant,
                redemption_id=redemption.pk,
                now=timezone.now(),
                actor=actor,
                reason=reason,
            )

        rows = queryset.select_related("membership__merchant")
        return self.cancel_with_reason(request, rows, "cancel_redemptions", cancel)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
