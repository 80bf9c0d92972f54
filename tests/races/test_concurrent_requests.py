"""Real threads on PostgreSQL, released together, against the real endpoints."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.checks import ledger_mismatches
from loyalty.models import Award, AwardStatus, LedgerEntry, Membership, StampsDeduction
from loyalty.totals import totals_fold
from tests.conftest import make_tenant
from tests.factories import MembershipFactory, RewardFactory, StoreFactory, award_stamps

pytestmark = [pytest.mark.django_db(transaction=True)]
DAY = datetime.timedelta(days=1)


def till(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def statuses(responses: list) -> list[int]:
    return sorted(response.status_code for response in responses)


class TestConcurrentDeductions:
    def test_fifty_tills_deducting_one_stamp_from_ten_leave_exactly_zero(self, concurrently):
        tenant = make_tenant()
        award_stamps(tenant.member, 10)

        responses = concurrently(
            50,
            lambda i: till(tenant.key).post(
                "/api/memberships/deduct-stamps",
                {"user": tenant.member.email, "stamps": 1, "notes": f"till {i}"},
                format="json",
            ),
        )

        assert statuses(responses) == [200] * 10 + [400] * 40
        refusals = [r.json() for r in responses if r.status_code == 400]
        assert {body["error_code"] for body in refusals} == {"insufficient_stamps"}
        assert Membership.objects.get(pk=tenant.member.pk).stamps == 0
        assert StampsDeduction.objects.filter(membership=tenant.member).count() == 10
        assert list(ledger_mismatches()) == []


class TestConcurrentCancels:
    def test_ten_cancels_of_one_award_succeed_exactly_once(self, concurrently):
        tenant = make_tenant()
        award = award_stamps(tenant.member, 7)

        responses = concurrently(
            10,
            lambda i: till(tenant.key).post(
                "/api/stamps/cancel",
                {"user": tenant.member.email, "id": award.pk},
                format="json",
            ),
        )

        assert statuses(responses) == [200] + [400] * 9
        award.refresh_from_db()
        assert award.status == AwardStatus.CANCELED
        assert Membership.objects.get(pk=tenant.member.pk).stamps == 0
        assert list(ledger_mismatches()) == []


class TestSpendsRacingACancel:
    def test_redemptions_and_deductions_racing_a_cancel_keep_the_ledger_whole(self, concurrently):
        tenant = make_tenant()
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=3)
        award_stamps(tenant.member, 10, store=tenant.store)
        contested = award_stamps(tenant.member, 10, store=tenant.store)
        member = tenant.member.email

        def act(i: int):
            client = till(tenant.key)
            if i == 0:
                return client.post(
                    "/api/stamps/cancel", {"user": member, "id": contested.pk}, format="json"
                )
            if i % 2:
                return client.post(
                    "/api/redemptions/add",
                    {"customer": member, "store": tenant.store.pk, "reward": reward.pk},
                    format="json",
                )
            return client.post(
                "/api/memberships/deduct-stamps",
                {"user": member, "stamps": 2, "notes": "race"},
                format="json",
            )

        responses = concurrently(16, act)

        assert all(r.status_code in (200, 400) for r in responses), statuses(responses)
        membership = Membership.objects.get(pk=tenant.member.pk)
        assert membership.stamps >= 0
        assert list(ledger_mismatches()) == []
        spent = sum(d.stamps for d in StampsDeduction.objects.filter(membership=membership))
        cancelled = 10 if responses[0].status_code == 200 else 0
        assert membership.stamps == 20 - cancelled - spent


class TestConcurrentIdempotentRetries:
    def test_twenty_retries_with_one_key_apply_once(self, concurrently):
        tenant = make_tenant()
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 4}

        responses = concurrently(
            20,
            lambda i: till(tenant.key).post(
                "/api/stamps/add", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7-sale-42"
            ),
        )

        assert Award.objects.filter(membership=tenant.member).count() == 1
        assert LedgerEntry.objects.filter(membership=tenant.member).count() == 1
        successes = [r for r in responses if r.status_code == 200]
        assert successes, statuses(responses)
        assert len({r.content for r in successes}) == 1
        assert all(r.status_code in (200, 409) for r in responses), statuses(responses)
        assert Membership.objects.get(pk=tenant.member.pk).stamps == 4


class TestSpendsAcrossStores:
    def test_spends_drawing_two_stores_lots_in_opposite_orders_all_apply(self, concurrently):
        """Each spend adds to the dashboard's totals of both stores, half of them store A's
        lot first and half store B's: totals kept by updating one row per store would lock
        them in opposite orders (a deadlock); the appended sums wait on nothing."""
        tenant = make_tenant()
        other_store = StoreFactory(merchant=tenant.merchant)
        today = timezone.localdate()
        members = [MembershipFactory(merchant=tenant.merchant) for _ in range(16)]
        for i, member in enumerate(members):
            first, second = (tenant.store, other_store)[:: 1 if i % 2 else -1]
            award_stamps(member, 3, store=first, expiration_date=today + 10 * DAY)
            award_stamps(member, 3, store=second, expiration_date=today + 20 * DAY)

        responses = concurrently(
            len(members),
            lambda i: till(tenant.key).post(
                "/api/memberships/deduct-stamps",
                {"user": members[i].email, "stamps": 5, "notes": "both lots"},
                format="json",
            ),
        )

        assert statuses(responses) == [200] * len(members)
        assert list(ledger_mismatches()) == []
        assert totals_fold() > 0
        assert list(ledger_mismatches()) == []
