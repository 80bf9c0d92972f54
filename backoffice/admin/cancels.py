"""Cancelling awards, redemptions and purchases from their lists: an admin action that first
asks for the reason, then calls the API's cancel service for each selected row as the staff
user. A cashier cancels only what was made at their stores."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from backoffice.scoping import cashier_store_ids
from core.errors import DomainError
from loyalty.ledger import Actor


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=255, help_text="Recorded with each cancellation.")


class CancelActions:
    """Mixed into a ScopedModelAdmin whose actions cancel rows."""

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backoffice.adjust_stamps")

    def cancel_with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        action: str,
        cancel_one: Callable[[Any, str, Actor], Any],
    ) -> TemplateResponse | None:
        stores = cashier_store_ids(request)
        if stores is not None:
            queryset = queryset.filter(store__in=stores)
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                "opts": queryset.model._meta,
                "title": "Cancel: give the reason",
                "form": form,
                "rows": list(queryset),
                "action": action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            status = 400 if form.is_bound else 200
            return TemplateResponse(
                request, "backoffice/cancel_reason.html", context, status=status
            )
        done = 0
        for row in queryset:
            try:
                cancel_one(row, form.cleaned_data["reason"], Actor(staff_id=request.user.pk))
                done += 1
            except DomainError as error:
                messages.error(request, f"Refused: {row}: {error.message}")
        if done:
            messages.success(request, f"Cancelled {done}.")
        return None
