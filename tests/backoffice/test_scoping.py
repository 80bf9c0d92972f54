"""Each role of merchant A walks every URL the admin registers, against merchant B's objects:
nothing of B is shown, and nothing of B changes. The URLs are discovered through the admin's
public API (get_model_admin, get_urls), so a model or view added later is walked too."""

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse

from backoffice.admin.base import MerchantScoped
from backoffice.models import Role
from backoffice.scoping import MERCHANT_PATHS
from tests.backoffice.helpers import populate_merchant, staff_client

pytestmark = pytest.mark.django_db
# In every name of merchant B's rows; long enough that no random token on a page (a CSRF
# token is 64 letters and digits) holds it by chance, as a short one sometimes did.
MARKER = "ZzbMarker"
OPERATOR_ONLY = {get_user_model(), Group}  # users and groups: no merchant; staff have no rights


def registered() -> list[tuple[Any, Any]]:
    return sorted(
        (
            (model, admin.site.get_model_admin(model))
            for model in apps.get_models()
            if admin.site.is_registered(model)
        ),
        key=lambda item: item[0]._meta.label,
    )


def rows_of(model: Any, merchant_id: int) -> Any:
    return model.objects.filter(**{MERCHANT_PATHS[model]: merchant_id})


def snapshot(merchant_id: int) -> dict[str, list[dict]]:
    return {
        model._meta.label: list(rows_of(model, merchant_id).order_by("pk").values())
        for model in MERCHANT_PATHS
    }


def walk(model_admin: Any, object_ids: list[Any]) -> list[tuple[str, str]]:
    """(view name, URL) of every named view of the ModelAdmin: those that take an object for
    each of `object_ids`, the others once."""
    urls = []
    for pattern in model_admin.get_urls():
        if not pattern.name:
            continue
        name = f"admin:{pattern.name}"
        try:
            urls.append((pattern.name, reverse(name)))
        except NoReverseMatch:
            urls.extend((pattern.name, reverse(name, args=[pk])) for pk in object_ids)
    return urls


def leaks(response: Any) -> bool:
    body = response.content.decode(errors="replace")
    return MARKER.lower() in body.lower()


class TestEveryModelIsScoped:
    def test_every_registered_admin_applies_the_merchant_rule(self):
        unscoped = [
            model._meta.label
            for model, model_admin in registered()
            if model not in OPERATOR_ONLY
            and not (model in MERCHANT_PATHS and isinstance(model_admin, MerchantScoped))
        ]

        assert unscoped == []

    def test_every_inline_applies_the_merchant_rule(self):
        inlines = [inline for _, ma in registered() for inline in ma.inlines]

        assert inlines
        assert all(issubclass(inline, MerchantScoped) for inline in inlines)


@pytest.mark.parametrize("role", list(Role))
class TestAnotherMerchantsObjects:
    def test_every_admin_url_hides_and_keeps_them(self, role):
        shop_a, shop_b = populate_merchant("ZZA"), populate_merchant(MARKER)
        client = staff_client(shop_a, role)
        before = snapshot(shop_b.merchant.pk)
        problems = []
        for model, model_admin in registered():
            theirs = (
                list(rows_of(model, shop_b.merchant.pk).values_list("pk", flat=True))
                if (model in MERCHANT_PATHS)
                else list(model.objects.values_list("pk", flat=True))
            )
            for name, url in walk(model_admin, theirs):
                for response in (
                    client.get(url),
                    client.get(url, {"q": "e"}),  # matches rows of both merchants
                    client.post(url, {"post": "yes", "name": "changed"}),
                ):
                    if response.status_code >= 500 or leaks(response):
                        problems.append(f"{response.status_code} {name} {url}")
                    if (
                        theirs
                        and url.rstrip("/").endswith(tuple(str(pk) for pk in theirs))
                        and response.status_code == 200
                    ):
                        problems.append(f"shown {name} {url}")
            changelist = reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
            )
            for action in ["delete_selected", *(model_admin.actions or [])]:
                client.post(
                    changelist,
                    {"action": action, "_selected_action": theirs, "post": "yes"},
                )

        assert problems == [], problems
        assert snapshot(shop_b.merchant.pk) == before

    def test_autocompletes_offer_none_of_them(self, role):
        shop_a, _ = populate_merchant("ZZA"), populate_merchant(MARKER)
        client = staff_client(shop_a, role)
        searched = 0
        for model, model_admin in registered():
            for field_name in model_admin.autocomplete_fields:
                for term in ("", MARKER, "example"):
                    response = client.get(
                        reverse("admin:autocomplete"),
                        {
                            "app_label": model._meta.app_label,
                            "model_name": model._meta.model_name,
                            "field_name": field_name,
                            "term": term,
                        },
                    )
                    searched += 1
                    assert response.status_code in (200, 403)
                    assert not leaks(response)

        assert searched > 0

    def test_the_dashboard_shows_only_their_own_merchant(self, role):
        shop_a, _ = populate_merchant("ZZA"), populate_merchant(MARKER)
        client = staff_client(shop_a, role)

        response = client.get(reverse("admin:index"), {"merchant": _.merchant.pk})

        assert response.status_code == 200
        assert "ZZA Merchant" in response.content.decode()
        assert not leaks(response)


class TestTheirOwnObjects:
    """The walk above could pass by showing nothing at all: staff do see their own rows."""

    @pytest.mark.parametrize(
        ("role", "visible"),
        [
            (Role.OWNER, ["membership", "store", "apitoken", "reward", "staffprofile"]),
            (Role.MANAGER, ["membership", "reward", "award", "redemption"]),
            (Role.CASHIER, ["membership", "award", "reward"]),
        ],
    )
    def test_each_role_sees_its_merchants_rows(self, role, visible):
        shop_a, _ = populate_merchant("ZZA"), populate_merchant(MARKER)
        client = staff_client(shop_a, role)
        for model, _admin in registered():
            if model._meta.model_name not in visible:
                continue
            mine = rows_of(model, shop_a.merchant.pk).order_by("pk").first()
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"

            listing = client.get(reverse(f"{prefix}_changelist"))
            page = client.get(reverse(f"{prefix}_change", args=[mine.pk]))

            assert listing.status_code == 200, model
            assert reverse(f"{prefix}_change", args=[mine.pk]) in listing.content.decode()
            assert page.status_code == 200, model

    @pytest.mark.parametrize(
        ("role", "refused"),
        [
            (Role.MANAGER, ["apitoken", "staffprofile", "merchant"]),
            (Role.CASHIER, ["apitoken", "staffprofile", "merchant", "ledgerentry"]),
        ],
    )
    def test_roles_without_a_right_are_refused(self, role, refused):
        shop_a = populate_merchant("ZZA")
        client = staff_client(shop_a, role)
        for name in refused:
            model = apps.get_model({"staffprofile": "backoffice"}.get(name, "loyalty"), name)

            response = client.get(
                reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            )

            assert response.status_code == 403, name

    def test_a_cashier_cannot_add_or_change_members(self):
        shop_a = populate_merchant("ZZA")
        client = staff_client(shop_a, Role.CASHIER)

        added = client.get(reverse("admin:loyalty_membership_add"))
        changed = client.post(
            reverse("admin:loyalty_membership_change", args=[shop_a.member.pk]),
            {"name": "Someone Else"},
        )

        assert added.status_code == 403
        assert changed.status_code == 403
        shop_a.member.refresh_from_db()
        assert shop_a.member.name == "ZZA Member"
