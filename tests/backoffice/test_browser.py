"""The back office in a real browser (Playwright driving Debian's Chromium): an owner and a
cashier log in, read the dashboard, and the cashier awards stamps from a member's page."""

import os
from pathlib import Path

import pytest
from django.db import connection, connections
from django.urls import reverse

from backoffice.models import Role
from backoffice.staff import staff_create
from loyalty.models import Award, Membership
from tests.backoffice.helpers import PASSWORD, populate_merchant

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium: `apt-get install chromium`"
    ),
    # The live server reads committed rows; the groups come back after each flush.
    pytest.mark.django_db(transaction=True),
]
SCREENSHOTS = os.environ.get("BACKOFFICE_SCREENSHOTS")  # a folder to save pages in, if set


@pytest.fixture(autouse=True)
def server_closes_connections_after_each_request(monkeypatch):
    """As in tests/test_stamps_client.py: the live server's thread must not keep a database
    connection open to the end of the run, where the test database is dropped."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls the tests
    # make around it are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()
        # Inside Playwright's greenlet the test's ORM calls opened a connection of their own
        # (Django keeps connections per context); it must not outlive the test database.
        connections.close_all()


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_an_owner_logs_in_and_reads_the_dashboard(browser_page, live_server):
    shop = populate_merchant("ZZA")
    populate_merchant("ZZB")
    staff_create(merchant=shop.merchant, username="owner1", password=PASSWORD, role=Role.OWNER)

    log_in(browser_page, live_server, "owner1")

    assert browser_page.text_content("#members-total").strip() == "1"
    assert browser_page.locator("svg.bo-chart").count() == 6
    assert "ZZA Merchant" in browser_page.content()
    assert "ZZB Merchant" not in browser_page.content()
    assert "zzb-member" not in browser_page.content()
    shot(browser_page, "dashboard")


def test_a_cashier_awards_stamps_from_a_members_page(browser_page, live_server):
    shop = populate_merchant("ZZA")
    staff_create(
        merchant=shop.merchant,
        username="cashier1",
        password=PASSWORD,
        role=Role.CASHIER,
        stores=[shop.store],
    )
    before = Membership.objects.get(pk=shop.member.pk).stamps
    log_in(browser_page, live_server, "cashier1")

    browser_page.goto(
        f"{live_server.url}{reverse('admin:loyalty_membership_change', args=[shop.member.pk])}"
    )
    shot(browser_page, "member")
    browser_page.click("a.member-action >> text=Award stamps")
    browser_page.fill("#id_number_of_stamps", "12")
    browser_page.fill("#id_reason", "welcome back")
    browser_page.click("#member-action-form input[type=submit]")
    browser_page.wait_for_selector(".messagelist")

    assert "Awarded 12 stamps" in browser_page.text_content(".messagelist")
    assert Membership.objects.get(pk=shop.member.pk).stamps == before + 12
    award = Award.objects.of_member(shop.member).order_by("-pk").first()
    assert award.created_by_staff.username == "cashier1"


def test_a_cashier_is_refused_another_merchants_member(browser_page, live_server):
    shop, other = populate_merchant("ZZA"), populate_merchant("ZZB")
    staff_create(merchant=shop.merchant, username="cashier2", password=PASSWORD, role=Role.CASHIER)
    log_in(browser_page, live_server, "cashier2")

    browser_page.goto(
        f"{live_server.url}{reverse('admin:loyalty_membership_change', args=[other.member.pk])}"
    )

    assert "ZZB Merchant" not in browser_page.content()
    assert "zzb-member" not in browser_page.content()
    assert "doesn’t exist" in browser_page.content() or "exist" in browser_page.content()
