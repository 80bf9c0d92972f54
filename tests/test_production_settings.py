"""Secure by default: what a production configuration gets without anyone asking, probed as
an attacker would (plain http, cookie flags, weak passwords), and the start-up refusals."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from tests.wire import database_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_HOST = "loyalty.example.com"


def production_env(**changes: str | None) -> dict[str, str]:
    """The environment of a production server: no DEBUG, a real key, a real host name, and
    none of the development or test settings this process runs with."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "STAMPS_", "SECURE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="stamps_server.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=PRODUCTION_HOST,
        DATABASE_URL=database_url(connection.settings_dict["NAME"]),
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production_setting(name: str, **changes: str | None) -> str:
    code = f"import django; django.setup(); from django.conf import settings as s; print(s.{name})"
    result = run_python(production_env(**changes), "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class TestStartUp:
    def test_check_deploy_is_clean_with_the_production_settings(self, db):
        result = run_python(
            production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING"
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout

    def test_every_silenced_check_has_its_reason_beside_it(self):
        assert django_settings.SILENCED_SYSTEM_CHECKS
        for check in django_settings.SILENCED_SYSTEM_CHECKS:
            assert len(django_settings.SILENCED_WITH_REASONS[check]) > 40

    def test_refuses_to_start_on_the_development_secret_key(self, db):
        result = run_python(
            production_env(DJANGO_SECRET_KEY=None), "manage.py", "check", "--deploy"
        )

        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is not set" in result.stderr

    def test_the_development_key_still_serves_a_laptop_with_debug_on(self, db):
        assert production_setting("DEBUG", DJANGO_SECRET_KEY=None, DJANGO_DEBUG="true") == "True"

    def test_refuses_to_start_with_no_allowed_host(self, db):
        result = run_python(production_env(DJANGO_ALLOWED_HOSTS=""), "manage.py", "check")

        assert result.returncode != 0
        assert "DJANGO_ALLOWED_HOSTS is empty" in result.stderr

    def test_a_per_key_rate_limit_is_on_in_production_and_off_with_debug(self, db):
        assert production_setting("STAMPS_THROTTLE_RATE") == "6000/minute"
        assert production_setting("STAMPS_THROTTLE_RATE", DJANGO_DEBUG="true") == ""
        assert production_setting("STAMPS_THROTTLE_RATE", STAMPS_THROTTLE_RATE="off") == ""
        assert production_setting("STAMPS_THROTTLE_RATE", STAMPS_THROTTLE_RATE="5/second") == (
            "5/second"
        )

    def test_hsts_can_be_turned_off_while_trying_tls(self, db):
        assert production_setting("SECURE_HSTS_SECONDS") == "31536000"
        assert production_setting("SECURE_HSTS_SECONDS", DJANGO_SECURE_HSTS_SECONDS="0") == "0"


@pytest.fixture
def https_required(settings):
    """The production defaults the suite's plain-http fixture turned off."""
    settings.STAMPS_REQUIRE_HTTPS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True


@pytest.fixture
def staff(db) -> tuple[User, str]:
    password = secrets.token_urlsafe(16)
    return User.objects.create_superuser("owner", "owner@example.com", password), password


@pytest.mark.usefixtures("https_required")
class TestOverTheWire:
    def test_a_plain_http_admin_visit_is_sent_to_https(self, client):
        response = client.get("/admin/login/")

        assert response.status_code == 301
        assert response["Location"] == "https://testserver/admin/login/"

    def test_a_plain_http_api_call_keeps_the_documented_403(self, client):
        response = client.post("/api/stamps/add", {"user": "a@example.com"})

        assert response.status_code == 403
        assert response.json() == {"detail": "Please use https instead of http"}

    def test_the_admin_over_https_sends_the_security_headers(self, client):
        response = client.get("/admin/login/", secure=True)

        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=31536000"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert response.cookies["csrftoken"]["secure"] is True

    def test_the_api_answers_json_without_the_admin_pages_policy(self, client):
        response = client.get("/api/memberships/status", secure=True)

        assert response.status_code == 403
        assert "Content-Security-Policy" not in response

    def test_the_session_cookie_is_secure_and_out_of_scripts_reach(self, client, staff):
        user, password = staff
        client.get("/admin/login/", secure=True)

        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": user.username, "password": password},
            secure=True,
        )

        assert response.status_code == 302
        cookie = response.cookies["sessionid"]
        assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")


class TestStaffPasswords:
    @pytest.mark.parametrize(
        "weak",
        ["short1!", "password1234", "839204718365", "owner-example-com"],
        ids=["too short", "common", "all digits", "like the user"],
    )
    def test_a_weak_password_is_refused(self, db, weak):
        user = User(username="owner", email="owner-example-com@example.com")

        with pytest.raises(ValidationError):
            validate_password(weak, user)

    def test_a_long_random_password_is_accepted(self, db):
        assert validate_password(secrets.token_urlsafe(16), User(username="owner")) is None

    def test_the_admin_will_not_create_a_staff_user_with_a_weak_password(self, client, staff):
        client.force_login(staff[0])

        response = client.post(
            "/admin/auth/user/add/",
            {"username": "cashier", "password1": "password1234", "password2": "password1234"},
        )

        assert response.status_code == 200  # the form again, with its error
        assert "This password is too common." in response.content.decode()
        assert not User.objects.filter(username="cashier").exists()


class TestIdleSessions:
    def test_each_request_restarts_the_idle_time(self, client, staff):
        client.force_login(staff[0])
        Session.objects.update(expire_date=timezone.now() + timedelta(seconds=5))

        assert client.get("/admin/").status_code == 200

        (session,) = Session.objects.all()
        idle_for = timedelta(seconds=django_settings.SESSION_COOKIE_AGE)
        assert session.expire_date > timezone.now() + idle_for - timedelta(minutes=1)
        assert django_settings.SESSION_COOKIE_AGE == 30 * 60

    def test_a_session_idle_past_its_time_is_over(self, client, staff):
        client.force_login(staff[0])
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

        response = client.get("/admin/")

        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
