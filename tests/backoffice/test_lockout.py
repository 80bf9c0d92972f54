"""Repeated failed admin logins lock that username out from that address (django-axes)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "the right password 42"


@pytest.fixture
def staff_user(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)


def log_in(client: Client, password: str):
    return client.post(
        reverse("admin:login"),
        {"username": "clerk", "password": password, "next": reverse("admin:index")},
    )


class TestAdminLoginLockout:
    def test_a_right_password_after_fewer_failures_than_the_limit_logs_in(self, staff_user):
        client = Client()
        for _ in range(2):
            assert log_in(client, "wrong").status_code == 200

        response = log_in(client, PASSWORD)

        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")

    def test_the_limit_of_failures_locks_out_even_the_right_password(self, staff_user):
        client = Client()
        for _ in range(3):
            log_in(client, "wrong")

        response = log_in(client, PASSWORD)

        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_a_lockout_is_per_username(self, staff_user):
        get_user_model().objects.create_user("other", password=PASSWORD, is_staff=True)
        client = Client()
        for _ in range(3):
            log_in(client, "wrong")

        response = client.post(reverse("admin:login"), {"username": "other", "password": PASSWORD})

        assert response.status_code == 302
