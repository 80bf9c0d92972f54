import datetime
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.checks import ledger_mismatches
from loyalty.models import (
    ApiToken,
    Award,
    EmailOutbox,
    LedgerEntry,
    Level,
    LevelChange,
    Membership,
    Merchant,
    OutboxStatus,
    Store,
)
from loyalty.notifications import MAX_ATTEMPTS, outbox_purge
from loyalty.tokens import api_token_authenticate
from redemptions.models import Reward
from tests.factories import MembershipFactory, award_stamps

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def seed_json(*args):
    out, _ = run("seed_demo", "--json", *args)
    return json.loads(out)


def till(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def demo_counts(merchant_name="Demo Coffee"):
    merchant = Merchant.objects.get(name=merchant_name)
    return {
        "levels": Level.objects.filter(merchant=merchant).count(),
        "stores": Store.objects.filter(merchant=merchant).count(),
        "members": Membership.objects.filter(merchant=merchant).count(),
        "rewards": Reward.objects.filter(merchant=merchant).count(),
        "awards": Award.objects.filter(membership__merchant=merchant).count(),
        "entries": LedgerEntry.objects.filter(membership__merchant=merchant).count(),
        "stamps": sorted(
            Membership.objects.filter(merchant=merchant).values_list("stamps", flat=True)
        ),
    }


class TestSeedDemo:
    def test_prints_json_in_the_documented_shape(self):
        data = seed_json()

        assert set(data) == {"merchant_id", "store_ids", "token", "members", "rewards", "staff"}
        merchant = Merchant.objects.get(pk=data["merchant_id"])
        assert sorted(data["store_ids"]) == sorted(
            Store.objects.filter(merchant=merchant).values_list("pk", flat=True)
        )
        assert isinstance(data["token"], str) and data["token"]
        assert len(data["members"]) == 3
        for member in data["members"]:
            assert set(member) == {"id", "email", "member_id"}
            assert Membership.objects.filter(
                pk=member["id"], merchant=merchant, email=member["email"]
            ).exists()
        assert {(r["name"], r["stamps_required"]) for r in data["rewards"]} == set(
            Reward.objects.filter(merchant=merchant).values_list("name", "stamps_to_redeem")
        )
        for reward in data["rewards"]:
            assert set(reward) == {"id", "name", "stamps_required"}
            assert Reward.objects.get(pk=reward["id"]).merchant == merchant

    def test_gives_each_demo_member_welcome_stamps_through_the_ledger(self):
        data = seed_json()

        stamps = [Membership.objects.get(pk=m["id"]).stamps for m in data["members"]]
        assert all(count > 0 for count in stamps)
        assert list(ledger_mismatches()) == []

    def test_is_idempotent(self):
        seed_json()
        first = demo_counts()

        seed_json()

        assert demo_counts() == first
        assert Merchant.objects.filter(name="Demo Coffee").count() == 1
        assert list(ledger_mismatches()) == []

    def test_a_second_run_names_the_same_merchant_stores_members_and_rewards(self):
        first = seed_json()

        second = seed_json()

        fresh = {"token", "staff"}  # a new key and new staff passwords each run
        assert {key: value for key, value in second.items() if key not in fresh} == {
            key: value for key, value in first.items() if key not in fresh
        }
        assert second["token"] != first["token"]

    def test_a_new_name_makes_a_separate_merchant(self):
        demo = seed_json()

        other = seed_json("--name", "Other Bakery")

        assert other["merchant_id"] != demo["merchant_id"]
        assert Merchant.objects.get(pk=other["merchant_id"]).name == "Other Bakery"
        assert set(other["store_ids"]).isdisjoint(demo["store_ids"])
        assert {m["id"] for m in other["members"]}.isdisjoint({m["id"] for m in demo["members"]})
        assert {r["id"] for r in other["rewards"]}.isdisjoint({r["id"] for r in demo["rewards"]})
        assert demo_counts("Other Bakery")["members"] == demo_counts()["members"]

    def test_a_larger_member_count_adds_members(self):
        data = seed_json("--members", "5")

        assert len(data["members"]) == 5
        assert Membership.objects.filter(merchant_id=data["merchant_id"]).count() == 5
        assert len({m["email"] for m in data["members"]}) == 5

    def test_every_run_prints_a_token_that_works_against_the_api(self):
        for _ in range(2):
            data = seed_json()
            member = data["members"][0]
            response = till(data["token"]).post(
                "/api/stamps/add",
                {"user": member["email"], "store": data["store_ids"][0], "number_of_stamps": 1},
                format="json",
            )
            assert response.status_code == 200
            assert response.json()["customer"]["id"] == member["id"]
        assert ApiToken.objects.filter(merchant_id=data["merchant_id"]).count() == 2

    def test_the_printed_token_reaches_only_its_own_merchant(self):
        demo = seed_json()
        other = seed_json("--name", "Other Bakery")

        response = till(other["token"]).post(
            "/api/memberships/deduct-stamps",
            {"user": demo["members"][0]["id"], "stamps": 1, "notes": "n"},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["error_code"] == "invalid_data"

    def test_the_human_summary_prints_a_working_token_and_a_curl_line(self):
        out, _ = run("seed_demo")

        key = re.search(r"API token \(shown once\): (\S+)", out).group(1)
        assert "curl -X POST" in out
        assert f"Authorization: Token {key}" in out
        response = till(key).post(
            "/api/memberships/deduct-stamps",
            {"user": "alice@example.com", "stamps": 1, "notes": "n"},
            format="json",
        )
        assert response.status_code == 200

    def test_every_run_prints_an_admin_login_that_works(self):
        first, _ = run("seed_demo")
        second, _ = run("seed_demo")

        old = re.search(r"user admin, password (\S+)", first).group(1)
        new = re.search(r"user admin, password (\S+)", second).group(1)
        admin = get_user_model().objects.get(username="admin")
        assert admin.check_password(new)
        assert not admin.check_password(old)

    def test_every_run_leaves_one_live_demo_key(self):
        first = seed_json()["token"]
        second = seed_json()["token"]

        assert ApiToken.objects.filter(name="seed_demo", revoked_at__isnull=True).count() == 1
        assert api_token_authenticate(key=first) is None
        assert api_token_authenticate(key=second) is not None


class TestCheckLedger:
    def test_passes_when_every_balance_agrees_with_the_ledger(self):
        member = MembershipFactory()
        award_stamps(member, 10)

        out, err = run("check_ledger")

        assert "ledger check passed" in out
        assert err == ""

    def test_fails_with_a_report_when_a_balance_is_tampered_with(self):
        member = MembershipFactory()
        award_stamps(member, 10)
        Membership.objects.filter(pk=member.pk).update(stamps=F("stamps") + 5)
        err = io.StringIO()

        with pytest.raises(CommandError) as failure:
            call_command("check_ledger", stdout=io.StringIO(), stderr=err)

        assert failure.value.returncode != 0
        report = err.getvalue()
        assert f"membership stamps vs entries {member.pk}: cached 15, ledger says 10" in report
        assert f"membership stamps vs lots {member.pk}: cached 15, ledger says 10" in report

    def test_reports_a_level_the_latest_level_change_does_not_name(self):
        member = MembershipFactory()
        award_stamps(member, 50)
        silver = Membership.objects.get(pk=member.pk).level
        gold = Level.objects.get(merchant=member.merchant, name="Gold")
        Membership.objects.filter(pk=member.pk).update(level=gold)

        report = [str(mismatch) for mismatch in ledger_mismatches()]

        assert report == [
            f"membership level vs level changes {member.pk}: cached {gold.pk}, "
            f"ledger says {silver.pk}"
        ]

    def test_a_level_reached_before_changes_were_recorded_has_nothing_to_compare(self):
        member = MembershipFactory()
        award_stamps(member, 60)
        LevelChange.objects.filter(membership=member).delete()  # as before migration 0007

        assert list(ledger_mismatches()) == []

    def test_exits_non_zero_from_the_command_line(self, monkeypatch, capsys):
        member = MembershipFactory()
        award_stamps(member, 10)
        Membership.objects.filter(pk=member.pk).update(stamps=3)
        # run_from_argv closes every connection when done, which would end the test's transaction
        monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
        from loyalty.management.commands.check_ledger import Command

        with pytest.raises(SystemExit) as exit_info:
            Command().run_from_argv(["manage.py", "check_ledger"])

        assert exit_info.value.code != 0
        assert f"membership stamps vs entries {member.pk}: cached 3" in capsys.readouterr().err

    def test_reports_a_tampered_lot(self):
        member = MembershipFactory()
        award = award_stamps(member, 10)
        Award.objects.filter(pk=award.pk).update(stamps_remaining=7)

        with pytest.raises(CommandError):
            run("check_ledger")

        mismatches = [str(mismatch) for mismatch in ledger_mismatches()]
        assert f"award remaining {award.pk}: cached 7, ledger says 10" in mismatches

    def test_reports_tampered_qualifying_stamps(self):
        member = MembershipFactory()
        award_stamps(member, 10)
        Membership.objects.filter(pk=member.pk).update(qualifying_stamps=99)
        err = io.StringIO()

        with pytest.raises(CommandError):
            call_command("check_ledger", stdout=io.StringIO(), stderr=err)

        assert f"membership qualifying stamps {member.pk}: cached 99, ledger says 10" in (
            err.getvalue()
        )

    def test_reports_a_deleted_ledger_entry(self):
        member = MembershipFactory()
        award_stamps(member, 10)
        award_stamps(member, 4)
        LedgerEntry.objects.filter(membership=member, delta=4).delete()

        with pytest.raises(CommandError):
            run("check_ledger")

    def test_limit_caps_the_report(self):
        for _ in range(3):
            member = MembershipFactory()
            award_stamps(member, 10)
            Membership.objects.filter(pk=member.pk).update(stamps=1)
        err = io.StringIO()

        with pytest.raises(CommandError):
            call_command("check_ledger", "--limit", "2", stdout=io.StringIO(), stderr=err)

        assert len(err.getvalue().strip().splitlines()) == 2


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp server is down")


def queued_email(member, stamps=5):
    award = award_stamps(member, stamps, notify=True)
    return EmailOutbox.objects.get(award=award)


class TestSendEmails:
    def test_delivers_an_award_email_queued_by_the_api(self, tenant):
        tenant.post(
            "/api/stamps/add",
            {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 4},
        )

        out, _ = run("send_emails")

        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [tenant.member.email]
        assert mail.outbox[0].subject == "You earned 4 stamps"
        assert "sent 1 email(s)" in out
        row = EmailOutbox.objects.get(recipient=tenant.member.email)
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 1
        assert row.sent_at is not None

    def test_sends_each_email_only_once(self):
        queued_email(MembershipFactory())
        run("send_emails")

        out, _ = run("send_emails")

        assert len(mail.outbox) == 1
        assert out == ""

    def test_leaves_emails_that_are_not_due_yet(self):
        email = queued_email(MembershipFactory())
        EmailOutbox.objects.filter(pk=email.pk).update(
            next_attempt_at=timezone.now() + datetime.timedelta(hours=1)
        )

        run("send_emails")

        assert mail.outbox == []
        assert EmailOutbox.objects.get(pk=email.pk).status == OutboxStatus.PENDING

    def test_a_failing_backend_leaves_the_row_pending_to_retry_later(self, settings):
        settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
        email = queued_email(MembershipFactory())
        first_due = email.next_attempt_at

        run("send_emails")

        email.refresh_from_db()
        assert email.status == OutboxStatus.PENDING
        assert email.attempts == 1
        assert email.next_attempt_at > first_due
        assert email.next_attempt_at > timezone.now()
        assert "smtp server is down" in email.last_error
        assert email.sent_at is None
        assert mail.outbox == []

    def test_a_failed_email_is_not_retried_before_its_next_attempt(self, settings):
        settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
        email = queued_email(MembershipFactory())
        run("send_emails")
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

        run("send_emails")

        email.refresh_from_db()
        assert (email.attempts, email.status) == (1, OutboxStatus.PENDING)
        assert mail.outbox == []

    def test_a_failed_email_is_delivered_once_it_is_due_again(self, settings):
        settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
        email = queued_email(MembershipFactory())
        run("send_emails")
        EmailOutbox.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

        run("send_emails")

        email.refresh_from_db()
        assert (email.attempts, email.status) == (2, OutboxStatus.SENT)
        assert len(mail.outbox) == 1

    def test_backs_off_further_after_each_failure(self, settings):
        settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
        email = queued_email(MembershipFactory())
        waits = []
        for _ in range(3):
            EmailOutbox.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
            before = timezone.now()
            run("send_emails")
            email.refresh_from_db()
            waits.append(email.next_attempt_at - before)

        assert waits[0] < waits[1] < waits[2]
        assert email.attempts == 3

    def test_gives_up_after_the_last_allowed_attempt(self, settings):
        settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
        email = queued_email(MembershipFactory())
        EmailOutbox.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)

        run("send_emails")
        EmailOutbox.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        run("send_emails")

        email.refresh_from_db()
        assert (email.attempts, email.status) == (MAX_ATTEMPTS, OutboxStatus.FAILED)
        assert mail.outbox == []


def email_aged(member, status: int, days: int) -> EmailOutbox:
    """An outbox row sent, given up on or still pending, written `days` ago."""
    email = queued_email(member)
    then = timezone.now() - datetime.timedelta(days=days)
    sent_at = then if status == OutboxStatus.SENT else None
    EmailOutbox.objects.filter(pk=email.pk).update(status=status, created_at=then, sent_at=sent_at)
    return email


class TestPurgeSentEmails:
    def test_deletes_emails_done_with_past_the_retention_and_keeps_the_rest(self):
        member = MembershipFactory()
        old_sent = email_aged(member, OutboxStatus.SENT, days=31)
        old_failed = email_aged(member, OutboxStatus.FAILED, days=31)
        kept = [
            email_aged(member, OutboxStatus.SENT, days=29),
            email_aged(member, OutboxStatus.FAILED, days=29),
            email_aged(member, OutboxStatus.PENDING, days=400),
        ]

        out, _ = run("purge_sent_emails")

        assert out.strip() == "purged 2 email(s)"
        remaining = set(EmailOutbox.objects.values_list("pk", flat=True))
        assert remaining == {email.pk for email in kept}
        assert not {old_sent.pk, old_failed.pk} & remaining

    def test_days_sets_the_retention_but_never_under_one_day(self):
        member = MembershipFactory()
        two_days = email_aged(member, OutboxStatus.SENT, days=2)
        today = email_aged(member, OutboxStatus.SENT, days=0)

        run("purge_sent_emails", "--days", "0")

        assert set(EmailOutbox.objects.values_list("pk", flat=True)) == {today.pk}
        assert not EmailOutbox.objects.filter(pk=two_days.pk).exists()

    def test_deletes_in_batches_until_none_is_left(self):
        member = MembershipFactory()
        for _ in range(5):
            email_aged(member, OutboxStatus.SENT, days=40)

        deleted = outbox_purge(now=timezone.now(), batch_size=2)

        assert deleted == 5
        assert not EmailOutbox.objects.exists()

    def test_leaves_the_ledger_alone(self):
        member = MembershipFactory()
        email = email_aged(member, OutboxStatus.SENT, days=40)
        entries = LedgerEntry.objects.count()

        run("purge_sent_emails")

        assert Award.objects.filter(pk=email.award_id).exists()
        assert LedgerEntry.objects.count() == entries
        assert list(ledger_mismatches()) == []
