import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.idempotency.models import IdempotentResponse
from loyalty.models import Award, LedgerEntry, StampsDeduction
from tests.factories import RewardFactory, award_stamps

pytestmark = pytest.mark.django_db


def add_body(tenant, stamps=5):
    return {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": stamps}


class TestIdempotentRetries:
    def test_a_retry_gets_the_original_answer_byte_for_byte_and_changes_nothing(self, tenant):
        first = tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="sale-1")

        retry = tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="sale-1")

        assert first.status_code == retry.status_code == 200
        assert retry.content == first.content
        assert retry["Idempotent-Replayed"] == "true"
        assert Award.objects.filter(membership=tenant.member).count() == 1
        assert LedgerEntry.objects.count() == 1

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            (
                "/api/memberships/deduct-stamps",
                lambda t, r: {"user": t.member.email, "stamps": 2, "notes": "n"},
            ),
            (
                "/api/redemptions/add",
                lambda t, r: {"customer": t.member.email, "store": t.store.pk, "reward": r.pk},
            ),
        ],
    )
    def test_every_spend_endpoint_applies_a_key_once(self, tenant, path, body):
        award_stamps(tenant.member, 30)
        reward = RewardFactory(merchant=tenant.merchant)

        first = tenant.post(path, body(tenant, reward), HTTP_IDEMPOTENCY_KEY="k")
        retry = tenant.post(path, body(tenant, reward), HTTP_IDEMPOTENCY_KEY="k")

        assert first.status_code == 200
        assert retry.content == first.content
        assert StampsDeduction.objects.filter(membership=tenant.member).count() == 1

    def test_a_cancel_retried_after_success_replays_instead_of_refusing(self, tenant):
        award = award_stamps(tenant.member, 5)
        body = {"user": tenant.member.email, "id": award.pk}

        first = tenant.post("/api/stamps/cancel", body, HTTP_IDEMPOTENCY_KEY="undo-1")
        retry = tenant.post("/api/stamps/cancel", body, HTTP_IDEMPOTENCY_KEY="undo-1")

        assert first.status_code == retry.status_code == 200
        assert retry.content == first.content

    def test_a_retry_sending_an_optional_field_as_null_is_the_same_request(self, tenant):
        # The Stamps client sends null for every optional parameter its caller left out.
        first = tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="sale-3")
        body = {**add_body(tenant), "notes": None, "expiration_date": None}

        retry = tenant.post("/api/stamps/add", body, HTTP_IDEMPOTENCY_KEY="sale-3")

        assert retry.status_code == 200
        assert retry.content == first.content
        assert retry["Idempotent-Replayed"] == "true"
        assert Award.objects.filter(membership=tenant.member).count() == 1

    def test_the_same_key_with_a_different_body_is_refused_with_422(self, tenant):
        tenant.post("/api/stamps/add", add_body(tenant, 5), HTTP_IDEMPOTENCY_KEY="sale-2")

        reused = tenant.post("/api/stamps/add", add_body(tenant, 6), HTTP_IDEMPOTENCY_KEY="sale-2")

        assert reused.status_code == 422
        assert reused.json()["error_code"] == "idempotency_key_reused"
        assert Award.objects.filter(membership=tenant.member).count() == 1

    def test_the_same_key_on_another_endpoint_is_refused_with_422(self, tenant):
        award_stamps(tenant.member, 10)
        tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="shared")

        reused = tenant.post(
            "/api/memberships/deduct-stamps",
            {"user": tenant.member.email, "stamps": 1, "notes": "x"},
            HTTP_IDEMPOTENCY_KEY="shared",
        )

        assert reused.status_code == 422

    def test_the_same_key_and_body_on_another_endpoint_is_refused_with_422(self, tenant):
        """The endpoint is part of the request: a deduction's body sent to stamps/add is not
        a retry of the deduction, even word for word."""
        award_stamps(tenant.member, 10)
        body = {"user": tenant.member.email, "stamps": 1, "notes": "x"}
        tenant.post("/api/memberships/deduct-stamps", body, HTTP_IDEMPOTENCY_KEY="same")

        reused = tenant.post("/api/stamps/cancel", body, HTTP_IDEMPOTENCY_KEY="same")

        assert reused.status_code == 422, reused.content
        assert "Idempotent-Replayed" not in reused

    def test_a_refusal_is_the_keys_answer_even_once_it_would_apply(self, tenant):
        # A till gave up on its first attempt, still queued at the server; its retry was
        # refused; the customer then earned stamps; the first attempt finally runs. It must
        # not apply: the till was told no.
        body = {"user": tenant.member.email, "stamps": 5, "notes": "x"}
        refused = tenant.post("/api/memberships/deduct-stamps", body, HTTP_IDEMPOTENCY_KEY="d")
        award_stamps(tenant.member, 5)

        late = tenant.post("/api/memberships/deduct-stamps", body, HTTP_IDEMPOTENCY_KEY="d")

        assert refused.status_code == 400
        assert refused.json()["error_code"] == "insufficient_stamps"
        assert late.status_code == 400
        assert late.content == refused.content
        assert late["Idempotent-Replayed"] == "true"
        assert not StampsDeduction.objects.filter(membership=tenant.member).exists()

    def test_a_refusal_stores_its_answer_and_nothing_else(self, tenant):
        body = {"user": "nobody@example.com", "store": tenant.store.pk, "number_of_stamps": 1}

        refused = tenant.post("/api/stamps/add", body, HTTP_IDEMPOTENCY_KEY="r")

        assert refused.status_code == 400
        stored = IdempotentResponse.objects.get()
        assert (stored.status_code, bytes(stored.body)) == (400, refused.content)
        assert not Award.objects.exists()

    def test_a_malformed_body_stores_nothing(self, tenant):
        body = {"user": tenant.member.email, "stamps": "five", "notes": "x"}

        refused = tenant.post("/api/memberships/deduct-stamps", body, HTTP_IDEMPOTENCY_KEY="m")

        assert refused.status_code == 400
        assert not IdempotentResponse.objects.exists()

    def test_keys_are_scoped_to_the_merchant(self, tenant, other_tenant):
        mine = tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="same")

        theirs = other_tenant.post(
            "/api/stamps/add", add_body(other_tenant), HTTP_IDEMPOTENCY_KEY="same"
        )

        assert theirs.status_code == 200
        assert theirs.content != mine.content
        assert theirs.json()["customer"]["id"] == other_tenant.member.pk
        assert Award.objects.filter(membership=other_tenant.member).count() == 1

    @pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
    def test_a_malformed_key_is_refused_before_anything_happens(self, tenant, key):
        response = tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY=key)

        assert response.status_code == 400
        assert "idempotency_key" in response.json()["errors"]
        assert not Award.objects.exists()

    def test_the_purge_command_keeps_keys_for_at_least_a_day(self, tenant):
        tenant.post("/api/stamps/add", add_body(tenant), HTTP_IDEMPOTENCY_KEY="fresh")
        tenant.post("/api/stamps/add", add_body(tenant, 2), HTTP_IDEMPOTENCY_KEY="old")
        IdempotentResponse.objects.filter(key="old").update(
            created_at=timezone.now() - datetime.timedelta(hours=25)
        )

        call_command("purge_idempotency_keys", "--hours", "1")

        assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["fresh"]
