"""The merchant's back office. Balances change only through the services the API uses."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from backoffice.admin.base import ScopedModelAdmin, ScopedTabularInline
from backoffice.admin.cancels import CancelActions
from backoffice.admin.member_files import MemberFilesAdmin
from backoffice.admin.member_pages import MemberActionsAdmin
from core.errors import DomainError
from loyalty import services
from loyalty.ledger import Actor
from loyalty.models import (
    EVERY_LOT,
    ApiToken,
    Award,
    EmailOutbox,
    LedgerEntry,
    Level,
    LevelChange,
    Membership,
    Merchant,
    StampsDeduction,
    Store,
)
from loyalty.tokens import api_token_create, api_token_revoke

# A member's lots, spends and level changes are looked up by the member's identities.
MEMBER_SEARCH = ["membership__email", "membership__member_id", "membership__name"]


class ReadOnlyInline(ScopedTabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AppendOnlyAdmin(ScopedModelAdmin):
    """Ledger records are created by services and never edited or deleted."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LevelInline(ScopedTabularInline):
    model = Level
    extra = 0


class StoreInline(ScopedTabularInline):
    model = Store
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(ScopedModelAdmin):
    list_display = ["name", "stamps_validity_days", "max_stamps_per_award", "created_at"]
    search_fields = ["name"]
    inlines = [LevelInline, StoreInline]


@admin.register(Store)
class StoreAdmin(ScopedModelAdmin):
    list_display = ["id", "name", "display_name", "merchant", "is_active"]
    list_display_links = ["id", "name"]
    list_filter = ["merchant", "is_active"]
    search_fields = ["name", "display_name"]


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedModelAdmin):
    list_display = ["name", "merchant", "key_prefix", "created_at", "revoked_at"]
    list_filter = ["merchant"]
    fields = ["merchant", "name", "key_prefix", "created_at", "revoked_at"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = api_token_create(merchant=obj.merchant, name=obj.name)
        obj.pk, obj.key_prefix = issued.token.pk, issued.token.key_prefix
        messages.warning(request, f"New API key (shown only this once): {issued.key}")

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        messages.success(request, f"Revoked {queryset.count()} token(s).")


class AwardInline(ReadOnlyInline):
    model = Award
    fields = [
        "id",
        "store",
        "number_of_stamps",
        "stamps_remaining",
        "expiration_date",
        "status",
        "created_at",
        "notes",
        "created_by_staff",
        "created_by_token",
    ]
    readonly_fields = fields
    ordering = ["-id"]  # newest first

    def get_queryset(self, request: HttpRequest) -> QuerySet[Award]:
        return super().get_queryset(request).filter(EVERY_LOT)  # the member's, by index


class EntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["created_at", "kind", "delta", "award", "deduction"]
    readonly_fields = fields
    ordering = ["-id"]


class DeductionInline(ReadOnlyInline):
    model = StampsDeduction
    fields = ["id", "stamps", "purpose", "status", "notes", "created_at", "created_by_staff"]
    readonly_fields = fields
    ordering = ["-id"]


class LevelChangeInline(ReadOnlyInline):
    model = LevelChange
    readonly_fields = ("created_at", "kind", "from_level", "to_level", "award")
    fields = readonly_fields
    ordering = ["-id"]


# What staff may change of a member; the balance and the level move only through the ledger.
PROFILE_FIELDS = [
    "email",
    "member_id",
    "name",
    "phone",
    "birthday",
    "gender",
    "address",
    "postal_code",
    "marital_status",
    "religion",
    "wedding_date",
    "picture_url",
    "notes",
    "tags",
    "allow_newsletters",
    "allow_sms_marketing",
    "allow_whatsapp_marketing",
    "is_blocked",
]


@admin.register(Membership)
class MembershipAdmin(MemberFilesAdmin, MemberActionsAdmin, ScopedModelAdmin):
    list_display = ["__str__", "merchant", "name", "level", "stamps", "is_blocked"]
    list_filter = ["merchant", "level", "is_blocked"]
    search_fields = ["email", "member_id", "name", "phone"]
    ordering = ["-pk"]  # newest first; autocomplete pages need an order
    readonly_fields = [
        "level",
        "stamps",
        "qualifying_stamps",
        "referral_code",
        "registration_method",
        "created_at",
    ]
    # The entries are on each lot's page: the ledger has no index by member.
    inlines = [AwardInline, DeductionInline, LevelChangeInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "merchant"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=PROFILE_FIELDS)
            return
        created = services.membership_create(
            merchant=obj.merchant,
            email=obj.email,
            member_id=obj.member_id,
            name=obj.name,
            phone=obj.phone,
        )
        obj.pk, obj.level_id = created.pk, created.level_id
        obj.referral_code, obj.created_at = created.referral_code, created.created_at
        obj.save(update_fields=PROFILE_FIELDS)


def report_refusal(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, f"Refused: {error.message}")


class ServiceAddForm(forms.ModelForm):
    """An admin add form that creates through a service while validating, so a refusal is
    shown on the form like any other error and nothing is written. `actor` is the staff
    user (ServiceAddAdmin.get_form sets it)."""

    created: Any = None
    actor = Actor()

    def perform(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                self.created = self.perform(data)
            except DomainError as refusal:
                raise forms.ValidationError(refusal.message, code=refusal.code) from refusal
        return data

    def _post_clean(self) -> None:  # the model instance is the service's, not the form's
        pass


class ServiceAddAdmin(AppendOnlyAdmin):
    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": Actor(staff_id=request.user.pk)})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = form.created.id
        obj.refresh_from_db()  # the row the service wrote: the confirmation names its stamps


class AwardAddForm(ServiceAddForm):
    class Meta:
        model = Award
        fields = [
            "membership",
            "store",
            "number_of_stamps",
            "expiration_date",
            "notes",
            "require_email_notification",
        ]

    def perform(self, data: dict[str, Any]) -> services.Awarded:
        membership = data["membership"]
        return services.award_create(
            merchant=membership.merchant,
            request=services.AwardRequest(
                user=None,
                store=data["store"].pk,
                number_of_stamps=data["number_of_stamps"],
                notes=data.get("notes", ""),
                expiration_date=data.get("expiration_date"),
                require_email_notification=data.get("require_email_notification", False),
            ),
            now=timezone.now(),
            actor=self.actor,
            membership_id=membership.pk,
        )


class DeductionAddForm(ServiceAddForm):
    class Meta:
        model = StampsDeduction
        fields = ["membership", "stamps", "notes"]

    def perform(self, data: dict[str, Any]) -> services.Deducted:
        membership = data["membership"]
        return services.stamps_deduct(
            merchant=membership.merchant,
            user=None,
            stamps=data["stamps"],
            notes=data["notes"],
            now=timezone.now(),
            actor=self.actor,
            membership_id=membership.pk,
        )


@admin.register(Award)
class AwardAdmin(CancelActions, ServiceAddAdmin):
    """Adding an award here calls the same service as POST /api/stamps/add."""

    form = AwardAddForm
    list_display = [
        "id",
        "membership",
        "store",
        "number_of_stamps",
        "stamps_remaining",
        "expiration_date",
        "status",
        "created_at",
    ]
    list_filter = ["status", "store", "expiration_date", "store__merchant"]
    search_fields = MEMBER_SEARCH
    autocomplete_fields = ["membership"]
    actions = ["cancel_awards"]

    def get_inlines(self, request: HttpRequest, obj: Award | None) -> list[type[EntryInline]]:
        return [EntryInline] if obj else []  # an award is added by its service, entries and all

    @admin.action(description="Cancel selected awards", permissions=["adjust"])
    def cancel_awards(self, request: HttpRequest, queryset: QuerySet[Award]) -> Any:
        def cancel(award: Award, reason: str, actor: Actor) -> Any:
            return services.award_cancel(
                merchant=award.membership.merchant,
                user=None,
                award_id=award.pk,
                now=timezone.now(),
                actor=actor,
                membership_id=award.membership_id,
                reason=reason,
            )

        rows = queryset.select_related("membership__merchant")
        return self.cancel_with_reason(request, rows, "cancel_awards", cancel)


@admin.register(StampsDeduction)
class StampsDeductionAdmin(ServiceAddAdmin):
    """Adding a deduction here calls the same service as POST /api/memberships/deduct-stamps."""

    form = DeductionAddForm
    list_display = ["id", "membership", "stamps", "purpose", "status", "created_at"]
    list_filter = ["purpose", "status", "created_at"]
    search_fields = MEMBER_SEARCH
    autocomplete_fields = ["membership"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(AppendOnlyAdmin):
    list_display = ["id", "membership", "award", "kind", "delta", "deduction", "created_at"]
    list_filter = ["kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LevelChange)
class LevelChangeAdmin(AppendOnlyAdmin):
    list_display = ["id", "membership", "kind", "from_level", "to_level", "award", "created_at"]
    list_filter = ["kind", "to_level", "to_level__merchant"]
    search_fields = MEMBER_SEARCH

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EmailOutbox)
class EmailOutboxAdmin(AppendOnlyAdmin):
    list_display = ["id", "recipient", "award", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
