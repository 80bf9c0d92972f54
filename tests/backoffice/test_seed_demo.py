"""seed_demo prints one staff login per role for its merchant, fresh each run."""

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backoffice.models import Role, StaffProfile

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


class TestSeedDemoStaff:
    def test_json_lists_one_login_per_role_that_logs_in_to_the_admin(self):
        staff = json.loads(seed("--json"))["staff"]

        assert sorted(login["role"] for login in staff) == sorted(Role.values)
        for login in staff:
            client = Client()
            response = client.post(
                reverse("admin:login"),
                {"username": login["username"], "password": login["password"]},
            )
            assert response.status_code == 302, login
            profile = StaffProfile.objects.get(user__username=login["username"])
            assert profile.role == login["role"]
            assert profile.merchant.name == "Demo Coffee"
            assert list(profile.user.groups.values_list("name", flat=True)) == [login["role"]]

    def test_each_run_gives_fresh_passwords_and_no_new_users(self):
        first = {s["role"]: s for s in json.loads(seed("--json"))["staff"]}
        users = get_user_model().objects.count()
        second = {s["role"]: s for s in json.loads(seed("--json"))["staff"]}

        assert get_user_model().objects.count() == users
        for role, login in second.items():
            user = get_user_model().objects.get(username=login["username"])
            assert login["password"] != first[role]["password"]
            assert user.check_password(login["password"])

    def test_the_cashier_works_at_the_first_demo_store(self):
        data = json.loads(seed("--json"))
        cashier = StaffProfile.objects.get(role=Role.CASHIER)

        assert list(cashier.stores.values_list("pk", flat=True)) == data["store_ids"][:1]

    def test_the_plain_summary_prints_the_staff_logins(self):
        out = seed()

        for role in Role.values:
            match = re.search(rf"{role}: user (\S+), password (\S+)", out)
            assert match, role
            assert get_user_model().objects.get(username=match[1]).check_password(match[2])
