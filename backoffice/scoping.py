"""The one rule of the back office: a staff user reaches only their merchant's rows. Every
model the admin shows is listed here with the path from it to its merchant; the admin's
mixin (backoffice.admin_scoping) applies it to querysets, form choices and filters."""

from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from backoffice.models import Role, StaffProfile
from core.idempotency.models import IdempotentResponse
from loyalty.models import (
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
from redemptions.models import Redemption, Reward
from transactions.models import Transaction

MERCHANT_PATHS: dict[type[Model], str] = {
    Merchant: "pk",
    Store: "merchant",
    Level: "merchant",
    ApiToken: "merchant",
    Membership: "merchant",
    Award: "membership__merchant",
    StampsDeduction: "membership__merchant",
    LedgerEntry: "membership__merchant",
    LevelChange: "membership__merchant",
    EmailOutbox: "membership__merchant",
    Reward: "merchant",
    Redemption: "membership__merchant",
    Transaction: "merchant",
    IdempotentResponse: "merchant",
    StaffProfile: "merchant",
}


def staff_profile(user: Any) -> StaffProfile | None:
    """The user's profile, once per request object (Django caches the reverse one-to-one)."""
    if not user.is_authenticated or user.is_superuser:
        return None
    return StaffProfile.objects.filter(user=user).select_related("merchant").first()


def request_profile(request: HttpRequest) -> StaffProfile | None:
    if not hasattr(request, "staff_profile"):
        request.staff_profile = staff_profile(request.user)  # type: ignore[attr-defined]
    return request.staff_profile  # type: ignore[attr-defined]


def is_operator(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def request_merchant_id(request: HttpRequest) -> int | None:
    """The merchant a staff user works for; None for the operator (every merchant)."""
    profile = request_profile(request)
    return profile.merchant_id if profile else None


def is_scoped(model: type[Model]) -> bool:
    return model in MERCHANT_PATHS


def scoped(queryset: QuerySet, request: HttpRequest) -> QuerySet:
    """`queryset` limited to the request's merchant: everything for the operator, nothing
    for a user with no merchant, and as it is for a model that belongs to none (users)."""
    path = MERCHANT_PATHS.get(queryset.model)
    if path is None or is_operator(request):
        return queryset
    merchant_id = request_merchant_id(request)
    if merchant_id is None:
        return queryset.none()
    return queryset.filter(**{path: merchant_id})


def cashier_store_ids(request: HttpRequest) -> list[int] | None:
    """The stores a cashier may adjust stamps at; None when the role is not limited."""
    profile = request_profile(request)
    if profile is None or profile.role != Role.CASHIER:
        return None
    return list(profile.stores.values_list("pk", flat=True))
