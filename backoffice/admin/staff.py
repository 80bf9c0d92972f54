"""Staff accounts, managed by the operator and by each merchant's owner for their merchant."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model, password_validation
from django.db.models import QuerySet
from django.http import HttpRequest

from backoffice.admin.base import ScopedModelAdmin
from backoffice.models import StaffProfile
from backoffice.staff import staff_create, staff_groups_sync, staff_remove


class StaffAddForm(forms.ModelForm):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    class Meta:
        model = StaffProfile
        fields = ["merchant", "role", "stores"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this username already exists.")
        return username

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stores, merchant = data.get("stores"), data.get("merchant")
        if stores and merchant and any(s.merchant_id != merchant.pk for s in stores):
            self.add_error("stores", "Choose stores of the staff member's merchant.")
        return data


@admin.register(StaffProfile)
class StaffProfileAdmin(ScopedModelAdmin):
    list_display = ["user", "role", "merchant", "store_names", "user_active"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__username", "user__email"]
    filter_horizontal = ["stores"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = StaffAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["username", "password", "merchant", "role", "stores"]
        return ["user", "merchant", "role", "stores"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user", "merchant"] if obj else []

    @admin.display(description="stores")
    def store_names(self, obj: StaffProfile) -> str:
        return ", ".join(store.name for store in obj.stores.all())

    @admin.display(description="active", boolean=True)
    def user_active(self, obj: StaffProfile) -> bool:
        return obj.user.is_active

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffProfile]:
        return super().get_queryset(request).select_related("user", "merchant")

    def save_model(self, request: HttpRequest, obj: StaffProfile, form: Any, change: bool) -> None:
        if change:
            obj.save()
            staff_groups_sync(profile=obj)
            return
        data = form.cleaned_data
        created = staff_create(
            merchant=data["merchant"],
            username=data["username"],
            password=data["password"],
            role=data["role"],
        )
        obj.pk, obj.user_id = created.pk, created.user_id

    def delete_model(self, request: HttpRequest, obj: StaffProfile) -> None:
        staff_remove(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StaffProfile]) -> None:
        for profile in queryset:
            staff_remove(profile=profile)
