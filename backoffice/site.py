"""The admin site: its first page is the dashboard of the staff user's merchant (the
operator picks the merchant), and it adds the member import and export pages."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from backoffice.charts import bar_chart
from backoffice.dashboard import FIGURE_LABELS, FIGURES, dashboard_get
from backoffice.scoping import is_operator, request_merchant_id
from loyalty.models import Merchant

DEFAULT_DAYS = 30


class PeriodForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=366, required=False)
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.order_by("name"), required=False)


class BackofficeSite(admin.AdminSite):
    site_header = "Loyalty back office"
    site_title = "Loyalty back office"
    index_title = "Dashboard"
    index_template = "backoffice/index.html"

    def index(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        form = PeriodForm(request.GET)
        context = {**(extra_context or {}), "period_form": form}
        valid = form.is_valid()
        if valid and request.user.has_perm("backoffice.view_dashboard"):
            merchant = self.dashboard_merchant(request, form.cleaned_data["merchant"])
            if merchant is not None:
                context.update(dashboard_context(merchant, form.cleaned_data["days"]))
        if is_operator(request):
            context["merchants"] = Merchant.objects.order_by("name")
        response = super().index(request, context)
        if not valid:
            response.status_code = 400
        return response

    def dashboard_merchant(self, request: HttpRequest, chosen: Merchant | None) -> Any:
        if is_operator(request):
            return chosen or Merchant.objects.order_by("pk").first()
        merchant_id = request_merchant_id(request)
        return Merchant.objects.filter(pk=merchant_id).first() if merchant_id else None


def dashboard_context(merchant: Merchant, days: int | None) -> dict[str, Any]:
    board = dashboard_get(merchant=merchant, days=days or DEFAULT_DAYS, now=timezone.now())
    totals = board.totals()
    return {
        "board": board,
        "charts": [
            {
                "label": FIGURE_LABELS[name],
                "total": totals[name],
                "svg": bar_chart(FIGURE_LABELS[name], board.daily[name]),
            }
            for name in FIGURES
        ],
        "store_rows": [
            {"name": board.stores.get(pk, f"store {pk}"), "figures": [figs[n] for n in FIGURES]}
            for pk, figs in sorted(board.per_store.items())
        ],
        "figure_labels": [FIGURE_LABELS[name] for name in FIGURES],
        "totals_row": [totals[name] for name in FIGURES],
    }
