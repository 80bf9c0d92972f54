"""Every served endpoint answers, on success and on each documented error, with every key
the Stamps documents print and the JSON type they print it with (tests/contract/shapes.py).
The scene gives the member, store and reward every field they can have, so an answer that
drops a key for empty data cannot pass unnoticed."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Gender, MaritalStatus
from loyalty.services import award_cancel
from redemptions.services import redemption_create
from tests.conftest import Tenant
from tests.contract.shapes import Contract, documented, mismatches
from tests.factories import RewardFactory, award_stamps, deduct_stamps
from transactions.services import Purchase, transaction_create

pytestmark = pytest.mark.django_db

EXACT = Contract()
# The older list style names the request's own fields, whatever the example names.
ERROR_LIST = Contract(free_keys=frozenset({"errors[]"}))
# What this server has no concept of yet answers with the documented empty value.
NO_CARDS = Contract(may_be_null=frozenset({"membership.primary_card"}))
# The rewards table names the customer's stamps and level otherwise than the example does;
# the reference says to send both names.
BOTH_NAMES = frozenset({"customer.stamps_remaining", "customer.status"})


def ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


@pytest.fixture
def scene(tenant: Tenant) -> Tenant:
    """A member with a whole profile and every kind of history this server keeps."""
    store, member = tenant.store, tenant.member
    store.name, store.display_name = "A301", "ST ACE KARAWACI MAL"
    store.save()
    member.phone, member.address, member.postal_code = "+628555756061", "Jalan Anggrek", "10310"
    member.birthday, member.gender = datetime.date(1993, 5, 30), Gender.FEMALE
    member.marital_status, member.religion = MaritalStatus.SINGLE, 1
    member.wedding_date, member.notes = datetime.date(2020, 2, 2), "Regular"
    member.picture_url, member.tags = "https://example.com/p.png", ["vip"]
    member.save()
    overdue = timezone.localdate() - datetime.timedelta(days=6)
    award_stamps(member, 4, store=store, expiration_date=overdue, now=ago(days=10))
    stamps_expire_due(now=ago(days=5))  # an expiry
    crossing = award_stamps(member, 60, store=store, now=ago(days=4), notes="Welcome")  # upgrade
    award_cancel(  # a downgrade
        merchant=tenant.merchant,
        user=member.email,
        award_id=crossing.pk,
        now=ago(days=3),
        actor=SYSTEM,
    )
    award_stamps(member, 30, store=store, now=ago(days=3))
    deduct_stamps(member, 3, now=ago(days=2))
    redemption_create(
        merchant=tenant.merchant,
        customer=member.email,
        store_id=store.pk,
        reward_id=full_reward(tenant).pk,
        now=ago(days=1),
        actor=SYSTEM,
    )
    transaction_create(
        merchant=tenant.merchant,
        purchase=Purchase(
            store=store.pk,
            invoice_number="INV-17",
            total_value=Decimal(30000),
            number_of_people=2,
            created=ago(hours=2),
            user=member.email,
            stamps=3,
        ),
        now=ago(hours=2),
        actor=SYSTEM,
    )
    return tenant


def full_reward(tenant: Tenant):
    return RewardFactory(
        merchant=tenant.merchant,
        name="Mee Goreng",
        code="A001",
        description="reward description",
        stamps_to_redeem=10,
        image_url="https://example.com/mee.png",
        landscape_url="https://example.com/mee-wide.png",
        terms="Dine-in only",
        price=Decimal(15000),
        merchant_code="SKU-1",
        extra_data={"SKU": "A001SKU"},
    )


def assert_documented(name: str, response, contract: Contract = EXACT, status: int = 200):
    assert response.status_code == status, response.content
    assert mismatches(documented(name), response.json(), contract) == []


class TestMemberReads:
    def test_details(self, scene):
        response = scene.client.get("/api/v2/memberships/details", {"user": scene.member.email})

        assert_documented("memberships-details", response, NO_CARDS)

    def test_details_of_an_unknown_user(self, scene):
        response = scene.client.get("/api/v2/memberships/details", {"user": "no@example.com"})

        assert response.status_code == 400
        assert response.json() == documented("memberships-details.unknown-user")

    def test_status(self, scene):
        response = scene.client.get("/api/memberships/status", {"user": scene.member.email})

        assert_documented("memberships-status", response)

    def test_status_without_a_user(self, scene):
        response = scene.client.get("/api/memberships/status")

        assert_documented("memberships-status.missing-parameter", response, ERROR_LIST, 400)

    def test_expiration_journals(self, scene):
        response = scene.client.get("/api/v2/expiration-journals/", {"user": scene.member.email})

        assert len(response.json()["expiration_journals"]) >= 1
        assert_documented("expiration-journals", response)

    def test_activities_list_every_documented_type_this_server_keeps(self, scene):
        response = scene.client.get("/api/v3/activities/", {"user": scene.member.email})

        types = {activity["type"] for activity in response.json()["activities"]}
        assert types == {0, 1, 2, 5, 6, 10, 15}
        assert_documented("activities", response, Contract(variant_key={"activities": "type"}))


class TestRewards:
    def test_with_a_user(self, scene):
        full_reward(scene)
        query = {"user": scene.member.email, "store": scene.store.pk}

        response = scene.client.get("/api/rewards/", query)

        assert_documented("rewards", response, Contract(extra=BOTH_NAMES))

    def test_without_a_user_leaves_out_what_is_about_the_user(self, scene):
        full_reward(scene)
        contract = Contract(optional=frozenset({"customer", "rewards[].redeemable"}))

        response = scene.client.get("/api/rewards/", {"store": scene.store.pk})

        assert "customer" not in response.json()
        assert_documented("rewards", response, contract)

    def test_without_a_store(self, scene):
        response = scene.client.get("/api/rewards/", {"user": scene.member.email})

        assert_documented("rewards.missing-parameter", response, ERROR_LIST, 400)


class TestWrites:
    def test_register(self, scene):
        response = scene.post(
            "/api/memberships/register",
            {
                "name": "me",
                "email": "me@mail.com",
                "member_id": "123412341234",
                "phone": "+62215600010",
                "birthday": "1991-10-19",
                "gender": "Female",
                "merchant": scene.merchant.pk,
                "address": "221b Baker Street",
                "store": scene.store.pk,
            },
        )

        assert_documented("memberships-register", response)

    def test_stamps_add_and_cancel(self, scene):
        body = {"user": scene.member.email, "store": scene.store.pk, "number_of_stamps": 10}
        added = scene.post("/api/stamps/add", body)
        award_id = added.json()["award"]["id"]

        canceled = scene.post("/api/stamps/cancel", {"user": scene.member.email, "id": award_id})

        assert_documented("stamps-add", added)
        assert_documented("stamps-cancel", canceled)

    def test_deduct_stamps(self, scene):
        body = {"user": scene.member.email, "stamps": 1, "notes": "test"}

        assert_documented("deduct-stamps", scene.post("/api/memberships/deduct-stamps", body))

    def test_deduct_stamps_without_notes(self, scene):
        body = {"user": scene.member.email, "stamps": 1}

        response = scene.post("/api/memberships/deduct-stamps", body)

        assert response.status_code == 400
        assert response.json() == documented("deduct-stamps.invalid-field")

    def test_redemption_add_and_cancel(self, scene):
        reward = full_reward(scene)
        body = {"customer": scene.member.email, "store": scene.store.pk, "reward": reward.pk}
        added = scene.post("/api/redemptions/add", body)

        canceled = scene.post("/api/redemptions/cancel", {"id": added.json()["redemption"]["id"]})

        assert_documented("redemptions-add", added)
        assert_documented("redemptions-cancel", canceled)

    def test_redemption_without_a_reward(self, scene):
        body = {"customer": scene.member.email, "store": scene.store.pk}

        response = scene.post("/api/redemptions/add", body)

        assert response.status_code == 400
        assert response.json() == documented("redemptions-add.missing-parameter")

    def test_transaction_add_and_cancel(self, scene):
        added = scene.post(
            "/api/transactions/add",
            {
                "user": scene.member.email,
                "store": scene.store.pk,
                "invoice_number": "secret123456",
                "total_value": 50000,
                "number_of_people": 8,
                "tax": 5000,
                "created": "2013-02-15T13:01:01+07",
                "items": [
                    {"product_name": "Cappucino", "quantity": 2, "price": 10000},
                    {"product_name": "Iced Tea", "quantity": 4, "price": 5000},
                ],
            },
        )

        canceled = scene.post("/api/transactions/cancel", {"id": added.json()["transaction"]["id"]})

        assert_documented("transactions-add", added)
        assert_documented("transactions-cancel", canceled)

    def test_transaction_add_with_invalid_fields(self, scene):
        response = scene.post(
            "/api/transactions/add",
            {"user": scene.member.email, "store": 10**9, "total_value": 1, "created": "x"},
        )

        assert_documented("transactions-add.invalid-fields", response, ERROR_LIST, 400)
        assert all(
            message.endswith(".") or message == "Invalid store"
            for error in response.json()["errors"]
            for message in error.values()
        )

    def test_transaction_cancel_without_the_stamps_to_take_back(self, scene):
        added = scene.post(
            "/api/transactions/add",
            {
                "user": scene.member.email,
                "store": scene.store.pk,
                "invoice_number": "INV-99",
                "total_value": 1000,
                "number_of_people": 1,
                "created": "2026-11-22T10:00:00+07:00",
                "stamps": 40,
            },
        )
        deduct_stamps(scene.member, 30)  # of the 20 + 40 held: 30 left, short of the 40

        response = scene.post("/api/transactions/cancel", {"id": added.json()["transaction"]["id"]})

        assert response.status_code == 400
        assert response.json() == documented("transactions-cancel.insufficient-stamps")

    def test_transaction_cancel_of_an_unknown_id(self, scene):
        response = scene.post("/api/transactions/cancel", {"id": 10**9})

        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
