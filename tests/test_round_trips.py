"""Pins the database round trips of the hot endpoints on PostgreSQL, so they cannot creep back
(README, Benchmark). Counted after a first request has cached the API key."""

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import RewardFactory, award_stamps

pytestmark = [pytest.mark.django_db]
PREPARE_THRESHOLD = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]


@pytest.fixture
def warm(tenant):
    award_stamps(tenant.member, 100, store=tenant.store)
    tenant.post("/api/ping", {})
    return tenant


class TestRoundTrips:
    def test_an_award_is_one_round_trip(self, warm, django_assert_num_queries):
        body = {"user": warm.member.email, "store": warm.store.pk, "number_of_stamps": 1}

        with django_assert_num_queries(1):
            response = warm.post("/api/stamps/add", body)

        assert response.status_code == 200

    def test_a_deduction_is_one_round_trip(self, warm, django_assert_num_queries):
        body = {"user": warm.member.email, "stamps": 1, "notes": "n"}

        with django_assert_num_queries(1):
            response = warm.post("/api/memberships/deduct-stamps", body)

        assert response.status_code == 200

    def test_a_redemption_is_one_round_trip(self, warm, django_assert_num_queries):
        reward = RewardFactory(merchant=warm.merchant, stamps_to_redeem=5)
        body = {"customer": warm.member.email, "store": warm.store.pk, "reward": reward.pk}

        with django_assert_num_queries(1):  # the ledger function: store and reward checks included
            response = warm.post("/api/redemptions/add", body)

        assert response.status_code == 200

    def test_cancelling_a_whole_award_is_one_round_trip(self, warm, django_assert_num_queries):
        award = award_stamps(warm.member, 3, store=warm.store)
        body = {"user": warm.member.email, "id": award.pk}

        with django_assert_num_queries(1):
            response = warm.post("/api/stamps/cancel", body)

        assert response.status_code == 200
        assert response.json()["award"]["status"] == "Canceled"

    def test_an_idempotent_award_is_five_statements(self, warm, django_assert_num_queries):
        body = {"user": warm.member.email, "store": warm.store.pk, "number_of_stamps": 1}

        # savepoint and release (the test's own transaction stands in for BEGIN/COMMIT),
        # key claim with stored-response look-up, the ledger function, the stored response
        with django_assert_num_queries(5):
            response = warm.post("/api/stamps/add", body, HTTP_IDEMPOTENCY_KEY="k-1")

        assert response.status_code == 200


class TestPreparedStatements:
    """The ledger call is prepared once a connection has run it a few times
    (STAMPS_PREPARED_STATEMENTS), so PostgreSQL stops parsing and planning it per award."""

    def test_the_award_call_is_prepared_once(self, warm):
        body = {"user": warm.member.email, "store": warm.store.pk, "number_of_stamps": 1}
        for _ in range(PREPARE_THRESHOLD + 2):
            assert warm.post("/api/stamps/add", body).status_code == 200

        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            statements = [row[0] for row in cursor.fetchall()]
        assert len([s for s in statements if "FROM stamps_award(" in s]) == 1
