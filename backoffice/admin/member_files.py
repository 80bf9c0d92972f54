"""Members in and out from the members' list: a CSV import (checked whole first) and streamed
CSV exports of members and of ledger activity, each for one merchant the user may reach."""

import io
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from backoffice.exports import activity_rows, csv_lines, members_rows
from backoffice.imports import COLUMNS, members_import
from backoffice.scoping import scoped
from loyalty.ledger import Actor
from loyalty.models import Merchant

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class MerchantForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.none(), empty_label=None)

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = scoped(Merchant.objects.order_by("name"), request)  # type: ignore[attr-defined]


class ImportForm(MerchantForm):
    file = forms.FileField(help_text=f"CSV, UTF-8, with the header {','.join(COLUMNS)}.")
    dry_run = forms.BooleanField(required=False, help_text="Check the file; write nothing.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB.")
        return upload


class ExportForm(MerchantForm):
    what = forms.ChoiceField(choices=[("members", "Members"), ("activity", "Ledger activity")])
    since = forms.DateField(required=False, help_text="Activity from this day (YYYY-MM-DD).")


class MemberFilesAdmin:
    """Mixed into MembershipAdmin."""

    change_list_template = "backoffice/membership_change_list.html"

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("import/", wrap(self.import_view), name="loyalty_membership_import"),
            path("export/", wrap(self.export_view), name="loyalty_membership_export"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def page(self, request: HttpRequest, title: str, form: forms.Form, **extra: Any) -> Any:
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "title": title,
            "form": form,
            **extra,
        }
        status = 400 if form.is_bound and (form.errors or extra.get("errors")) else 200
        return TemplateResponse(request, "backoffice/member_file.html", context, status=status)

    def import_view(self, request: HttpRequest) -> Any:
        if not request.user.has_perm("backoffice.import_members"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, request=request)
        if not form.is_valid():
            return self.page(request, "Import members", form, enctype=True)
        try:
            text = io.TextIOWrapper(form.cleaned_data["file"], encoding="utf-8-sig", newline="")
            report = members_import(
                merchant=form.cleaned_data["merchant"],
                lines=text,
                actor=Actor(staff_id=request.user.pk),
                now=timezone.now(),
                dry_run=form.cleaned_data["dry_run"],
            )
        except (UnicodeDecodeError, ValueError) as error:
            errors = [f"The file is not UTF-8 CSV: {error}"]
            return self.page(request, "Import members", form, enctype=True, errors=errors)
        if report.errors:
            return self.page(request, "Import members", form, enctype=True, errors=report.errors)
        messages.success(request, report.summary())
        return HttpResponseRedirect(reverse("admin:loyalty_membership_changelist"))

    def export_view(self, request: HttpRequest) -> Any:
        if not request.user.has_perm("backoffice.export_members"):
            raise PermissionDenied
        form = ExportForm(request.GET or None, request=request)
        if not form.is_valid():
            return self.page(request, "Export", form)
        merchant, now = form.cleaned_data["merchant"], timezone.now()
        if form.cleaned_data["what"] == "members":
            rows, name = members_rows(merchant=merchant, now=now), "members"
        else:
            since = form.cleaned_data["since"] or (now - timedelta(days=30)).date()
            rows, name = activity_rows(merchant=merchant, since=since), "activity"
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}-{merchant.pk}.csv"'
        return response
