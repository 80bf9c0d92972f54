"""An owner manages their merchant's staff accounts; the roles are Django groups."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from backoffice.models import Role, StaffProfile
from tests.backoffice.helpers import PASSWORD, populate_merchant, staff_client

pytestmark = pytest.mark.django_db


def add_staff(client: Client, shop, **fields):
    data = {
        "username": "newcashier",
        "password": PASSWORD,
        "merchant": shop.merchant.pk,
        "role": Role.CASHIER,
        "stores": [shop.store.pk],
        **fields,
    }
    return client.post(reverse("admin:backoffice_staffprofile_add"), data)


class TestRoles:
    def test_each_role_is_a_group_made_by_the_migrations(self):
        names = set(Group.objects.values_list("name", flat=True))

        assert set(Role.values) <= names
        owner = Group.objects.get(name=Role.OWNER).permissions
        cashier = Group.objects.get(name=Role.CASHIER).permissions
        assert owner.filter(codename="add_apitoken").exists()
        assert not cashier.filter(codename__startswith="change_").exists()
        assert cashier.filter(codename="adjust_stamps").exists()


class TestStaffAccounts:
    def test_an_owner_adds_a_cashier_who_can_log_in(self):
        shop = populate_merchant("ZZA")
        owner = staff_client(shop, Role.OWNER)

        response = add_staff(owner, shop)

        assert response.status_code == 302
        profile = StaffProfile.objects.get(user__username="newcashier")
        assert (profile.merchant, profile.role) == (shop.merchant, Role.CASHIER)
        assert list(profile.stores.all()) == [shop.store]
        assert list(profile.user.groups.values_list("name", flat=True)) == [Role.CASHIER]
        login = Client().post(
            reverse("admin:login"), {"username": "newcashier", "password": PASSWORD}
        )
        assert login.status_code == 302

    def test_an_owner_cannot_add_staff_to_another_merchant(self):
        shop, other = populate_merchant("ZZA"), populate_merchant("ZZB")
        owner = staff_client(shop, Role.OWNER)

        response = add_staff(owner, shop, merchant=other.merchant.pk, stores=[other.store.pk])

        assert response.status_code == 200  # the form again, with its errors
        assert not get_user_model().objects.filter(username="newcashier").exists()

    def test_a_manager_cannot_manage_staff(self):
        shop = populate_merchant("ZZA")
        manager = staff_client(shop, Role.MANAGER)

        response = add_staff(manager, shop)

        assert response.status_code == 403
        assert not get_user_model().objects.filter(username="newcashier").exists()

    def test_removing_a_profile_deactivates_the_user_and_keeps_them(self):
        shop = populate_merchant("ZZA")
        owner = staff_client(shop, Role.OWNER)
        add_staff(owner, shop)
        profile = StaffProfile.objects.get(user__username="newcashier")

        owner.post(
            reverse("admin:backoffice_staffprofile_delete", args=[profile.pk]), {"post": "yes"}
        )

        user = get_user_model().objects.get(username="newcashier")
        assert not user.is_active and not user.groups.exists()
        assert not StaffProfile.objects.filter(pk=profile.pk).exists()
