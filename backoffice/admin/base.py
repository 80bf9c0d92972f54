"""The admin's side of the one scoping rule (backoffice.scoping): every ModelAdmin and inline
of the back office is built on these classes, so each list, change, delete and history page,
search, autocomplete, action, inline, filter and drop-down sees only the staff user's
merchant. Another merchant's object by URL is "not found" (Django's redirect to the index)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from backoffice.scoping import is_operator, is_scoped, request_merchant_id, scoped
from loyalty.models import Merchant


def merchant_filter(model: type[Model], entry: Any) -> bool:
    """A list filter that chooses between merchants: the operator's alone."""
    if not isinstance(entry, str):
        return False
    try:
        fields = get_fields_from_path(model, entry)
    except FieldDoesNotExist:
        return False
    return fields[-1].is_relation and fields[-1].related_model is Merchant


def related_only(model: type[Model], entry: Any) -> Any:
    """A relation's filter offers only what the (scoped) list holds, not every merchant's."""
    if not isinstance(entry, str):
        return entry
    try:
        field = get_fields_from_path(model, entry)[-1]
    except FieldDoesNotExist:
        return entry
    return (entry, admin.RelatedOnlyFieldListFilter) if field.is_relation else entry


class MerchantScoped:
    """For ModelAdmin and InlineModelAdmin alike: rows and related choices of one merchant."""

    model: type[Model]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(super().get_queryset(request), request)  # type: ignore[misc]

    def get_field_queryset(self, db: Any, db_field: Any, request: HttpRequest) -> Any:
        queryset = super().get_field_queryset(db, db_field, request)  # type: ignore[misc]
        related = db_field.remote_field.model
        if not is_scoped(related):
            return queryset
        if queryset is None:
            queryset = related.objects.using(db).complex_filter(
                db_field.remote_field.limit_choices_to
            )
        return scoped(queryset, request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        staff = not is_operator(request)
        if formfield is not None and db_field.related_model is Merchant and staff:
            formfield.empty_label = None  # a new object is the staff user's merchant's
            formfield.initial = request_merchant_id(request)
        return formfield


class ScopedModelAdmin(MerchantScoped, admin.ModelAdmin):
    def get_list_filter(self, request: HttpRequest) -> Any:
        entries = super().get_list_filter(request)
        if not is_operator(request):
            entries = [entry for entry in entries if not merchant_filter(self.model, entry)]
        return [related_only(self.model, entry) for entry in entries]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if not is_operator(request) and "merchant" not in initial:
            initial["merchant"] = request_merchant_id(request)
        return initial


class ScopedTabularInline(MerchantScoped, admin.TabularInline):
    pass
