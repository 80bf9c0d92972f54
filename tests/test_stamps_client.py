"""The public Stamps Python client (stamps-python, `stamps.client.Client`), unchanged, against
this server over real HTTP: a till's whole flow, and each family's refusals reaching the client
as the exception class it maps the status to (400 InvalidRequest, 403 AuthenticationError,
anything else ServerError), with the documented body.

The client sends `token` and `merchant` in every body and query string, and every parameter it
knows, null when the caller gave none."""

import pytest
from django.db import connection
from stamps.client import Client
from stamps.exceptions import AuthenticationError, InvalidRequest, ServerError

from redemptions.models import Redemption, RedemptionStatus
from tests.error_styles import LEGACY_DETAIL
from tests.factories import RewardFactory, award_stamps

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads committed rows
NOW = "2026-11-22T10:00:00+07:00"


@pytest.fixture(autouse=True)
def server_closes_connections_after_each_request(monkeypatch):
    """The client's last connection of a test may stay open, and the live server's thread
    waiting on it would keep its database connection to the end of the run, where the test
    database cannot be dropped while it is open: CONN_MAX_AGE 0 closes it after each request."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def stamps(live_server, tenant) -> Client:
    return Client(
        token=tenant.key,
        merchant_id=tenant.merchant.pk,
        store_id=tenant.store.pk,
        host=live_server.url,
    )


def field_error(field: str, message: str, code: str) -> dict:
    return {
        "detail": f"{field}: {message}",
        "error_message": f"{field}: {message}",
        "error_code": code,
        "errors": {field: message},
    }


def listed_error(field: str, message: str) -> dict:
    """The older style the status, rewards and purchase endpoints document."""
    return {"detail": LEGACY_DETAIL, "errors": [{field: message}]}


def refused(call, exception_class) -> tuple[int, dict]:
    with pytest.raises(exception_class) as refusal:
        call()
    return refusal.value.http_status, refusal.value.error_messages


def buy(stamps: Client, member, invoice: str = "INV-1", total_value: int = 125000) -> dict:
    return stamps.transactions.add(
        user=member.email,
        total_value=total_value,
        invoice_number=invoice,
        created=NOW,
        number_of_people=2,
    )


class TestMembershipsStatus:
    def test_looks_a_member_up_by_email_or_member_id(self, stamps, tenant):
        award_stamps(tenant.member, 7, store=tenant.store)

        by_email = stamps.memberships.status(user=tenant.member.email)
        by_card = stamps.memberships.status(user=tenant.member.member_id)

        assert by_email == by_card
        assert by_email["id"] == tenant.member.pk
        assert (by_email["stamps"], by_email["membership_status"]) == (7, "Blue")
        assert by_email["member_ids"] == [tenant.member.member_id]
        assert by_email["balance"] == 0

    def test_an_unknown_member_is_an_invalid_request(self, stamps):
        status, body = refused(
            lambda: stamps.memberships.status(user="nobody@example.com"), InvalidRequest
        )

        assert (status, body) == (400, listed_error("user", "User not found"))


class TestMembershipsRegister:
    def test_registers_a_member_with_every_optional_field(self, stamps, tenant):
        customer = stamps.memberships.register(
            name="Dewi",
            email="Dewi@Example.com",
            birthday="1990-05-17",
            gender="female",
            member_id="DEWI-0001",
            phone="+6281234567",
            address="Jl. Sudirman 1",
            store=tenant.store.pk,
        )["customer"]

        assert customer == {
            "id": customer["id"],
            "name": "Dewi",
            "email": "dewi@example.com",
            "identifier": "dewi@example.com",
            "member_id": "DEWI-0001",
            "phone": "081234567",
            "birthday": "1990-05-17",
            "gender": "female",
        }
        assert stamps.memberships.status(user="DEWI-0001")["address"] == "Jl. Sudirman 1"

    def test_optional_fields_the_client_sends_as_null_count_as_not_given(self, stamps, tenant):
        customer = stamps.memberships.register(
            name="Budi",
            email="budi@example.com",
            birthday="1988-01-02",
            gender="male",
            store=tenant.store.pk,
        )["customer"]

        assert customer["member_id"].isdigit() and len(customer["member_id"]) == 12
        assert (customer["phone"], customer["gender"]) == ("", "male")
        assert stamps.memberships.status(user=customer["identifier"])["id"] == customer["id"]

    def test_a_required_field_sent_as_null_is_an_invalid_request(self, stamps, tenant):
        status, body = refused(
            lambda: stamps.memberships.register(
                name="Budi", email="budi@example.com", gender="male", store=tenant.store.pk
            ),
            InvalidRequest,
        )

        assert (status, body) == (
            400,
            field_error("birthday", "This field may not be null.", "null"),
        )


class TestRewardsAvailable:
    def test_lists_the_rewards_at_the_clients_store(self, stamps, tenant):
        cheap = RewardFactory(merchant=tenant.merchant, name="Free Coffee", stamps_to_redeem=5)
        RewardFactory(merchant=tenant.merchant, name="Free Cake", stamps_to_redeem=50)

        body = stamps.rewards.available()

        assert set(body) == {"rewards", "vouchers"}
        assert body["vouchers"] == []  # no vouchers in this server yet: the documented empty list
        assert [reward["name"] for reward in body["rewards"]] == ["Free Coffee", "Free Cake"]
        assert body["rewards"][0] == {
            "id": cheap.pk,
            "name": "Free Coffee",
            "stamps_to_redeem": 5,
            "membership": "Blue",  # no minimum level: the lowest one
            "is_visible": True,
            "code": "",
            "type": 1,
            "description": "",
            "image_url": "",
            "landscape_url": None,
            "price": None,  # no price set
            "merchant_code": None,
            "terms": "",
            "extra_data": {},
        }

    def test_says_which_a_member_can_redeem(self, stamps, tenant):
        award_stamps(tenant.member, 8, store=tenant.store)
        RewardFactory(merchant=tenant.merchant, stamps_to_redeem=5)
        RewardFactory(merchant=tenant.merchant, stamps_to_redeem=50)

        body = stamps.rewards.available(user=tenant.member.email)

        assert [reward["redeemable"] for reward in body["rewards"]] == [True, False]
        assert body["customer"] == {
            "id": tenant.member.pk,
            "stamps": 8,
            "membership_status": "Blue",
            "stamps_remaining": 8,
            "status": "Blue",
        }

    def test_a_store_of_another_merchant_is_an_invalid_request(
        self, live_server, tenant, other_tenant
    ):
        stamps = Client(token=tenant.key, store_id=other_tenant.store.pk, host=live_server.url)

        status, body = refused(stamps.rewards.available, InvalidRequest)

        assert (status, body) == (400, listed_error("store", "Invalid store"))

    def test_without_a_store_is_an_invalid_request(self, live_server, tenant):
        stamps = Client(token=tenant.key, host=live_server.url)

        status, body = refused(stamps.rewards.available, InvalidRequest)

        assert (status, body) == (400, listed_error("store", "This field is required"))


class TestRedemptions:
    def test_redeems_for_the_user_the_client_names(self, stamps, tenant):
        award_stamps(tenant.member, 25, store=tenant.store)
        reward = RewardFactory(merchant=tenant.merchant, name="Free Coffee", stamps_to_redeem=10)

        body = stamps.redemptions.add(user=tenant.member.email, id=reward.pk)

        redemption = Redemption.objects.get()
        assert body == {
            "customer": {"id": tenant.member.pk, "stamps_remaining": 15},
            "redemption": {"reward": "Free Coffee", "id": redemption.pk, "stamps_used": 10},
        }

    def test_too_few_stamps_is_an_invalid_request_in_the_older_shape(self, stamps, tenant):
        award_stamps(tenant.member, 9, store=tenant.store)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)

        status, body = refused(
            lambda: stamps.redemptions.add(user=tenant.member.email, id=reward.pk), InvalidRequest
        )

        assert (status, body) == (
            400,
            {
                "detail": "Your transaction cannot be completed due to the following error(s)",
                "errors": [{"stamps": "Membership has insufficient stamps"}],
            },
        )
        assert not Redemption.objects.exists()

    def test_a_missing_reward_is_an_invalid_request_in_the_older_shape(self, stamps, tenant):
        status, body = refused(
            lambda: stamps.redemptions.add(user=tenant.member.email), InvalidRequest
        )

        assert (status, body) == (
            400,
            {
                "detail": "Your transaction cannot be completed due to the following error(s)",
                "errors": [{"reward": "This field may not be null"}],
            },
        )

    def test_cancel_gives_the_stamps_back(self, stamps, tenant):
        award_stamps(tenant.member, 25, store=tenant.store)
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)
        redemption_id = stamps.redemptions.add(user=tenant.member.email, id=reward.pk)[
            "redemption"
        ]["id"]

        body = stamps.redemptions.cancel(id=redemption_id)

        assert body == {
            "redemption": {"id": redemption_id, "status": "Canceled"},
            "customer": {"status": "Blue", "id": tenant.member.pk, "stamps_remaining": 25},
        }

    def test_cancelling_an_unknown_redemption_is_a_404_the_client_calls_a_server_error(
        self, stamps
    ):
        status, body = refused(lambda: stamps.redemptions.cancel(id=10**12), ServerError)

        assert status == 404
        assert (body["error_code"], list(body["errors"])) == ("not_found", ["id"])


class TestTransactions:
    def test_a_purchase_earns_at_the_merchants_rate(self, stamps, tenant):
        body = stamps.transactions.add(
            user=tenant.member.member_id,
            total_value=125000,
            invoice_number="INV-1",
            created=NOW,
            number_of_people=2,
            items=[{"product_name": "Latte", "quantity": 2, "price": 62500}],
        )

        assert body["customer"] == {
            "status": "Blue",
            "id": tenant.member.pk,
            "stamps_remaining": 12,
            "balance": 0,
        }
        assert (body["transaction"]["stamps_earned"], body["transaction"]["value"]) == (
            12,
            125000.0,
        )

    def test_created_is_required_even_though_the_client_defaults_it_to_null(self, stamps, tenant):
        status, body = refused(
            lambda: stamps.transactions.add(
                user=tenant.member.email,
                total_value=10000,
                invoice_number="INV-1",
                number_of_people=1,
            ),
            InvalidRequest,
        )

        assert (status, body) == (400, listed_error("created", "This field may not be null."))

    def test_an_invoice_used_twice_today_is_an_invalid_request(self, stamps, tenant):
        buy(stamps, tenant.member)

        status, body = refused(lambda: buy(stamps, tenant.member), InvalidRequest)

        assert status == 400
        assert body["detail"] == LEGACY_DETAIL
        assert [set(error) for error in body["errors"]] == [{"invoice_number"}]

    def test_cancel_takes_back_the_stamps_and_the_redemptions_on_the_invoice(self, stamps, tenant):
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)
        transaction_id = buy(stamps, tenant.member, invoice="A-1")["transaction"]["id"]
        stamps.redemptions.add(user=tenant.member.email, id=reward.pk, invoice_number="A-1")

        body = stamps.transactions.cancel(id=transaction_id, cancel_related_redemptions=True)

        assert body == {
            "transaction": {
                "stamps_earned": 12,
                "id": transaction_id,
                "value": 125000.0,
                "status": "Canceled",
            },
            "customer": {
                "status": "Blue",
                "id": tenant.member.pk,
                "stamps_remaining": 0,
            },
        }
        assert Redemption.objects.get().status == RedemptionStatus.CANCELED

    def test_cancel_is_refused_when_the_stamps_were_spent(self, stamps, tenant):
        reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=10)
        transaction_id = buy(stamps, tenant.member)["transaction"]["id"]
        stamps.redemptions.add(user=tenant.member.email, id=reward.pk)

        status, body = refused(
            lambda: stamps.transactions.cancel(id=transaction_id), InvalidRequest
        )

        assert (status, body) == (
            400,
            {"errors": {"info": "Transaction can't be canceled due to insufficient Stamps"}},
        )


class TestCredentials:
    def test_no_token_is_an_authentication_error(self, live_server, tenant):
        stamps = Client(merchant_id=tenant.merchant.pk, host=live_server.url)

        status, body = refused(
            lambda: stamps.memberships.status(user=tenant.member.email), AuthenticationError
        )

        assert (status, body) == (403, {"detail": "Authentication credentials were not provided."})

    def test_plain_http_where_https_is_required_is_an_authentication_error(
        self, settings, stamps, tenant
    ):
        settings.STAMPS_REQUIRE_HTTPS = True

        status, body = refused(lambda: buy(stamps, tenant.member), AuthenticationError)

        assert (status, body) == (403, {"detail": "Please use https instead of http"})

    def test_a_wrong_token_is_a_401_the_client_calls_a_server_error(self, live_server, tenant):
        stamps = Client(token="not-a-key", store_id=tenant.store.pk, host=live_server.url)

        status, body = refused(lambda: stamps.redemptions.cancel(id=1), ServerError)

        assert (status, body) == (401, {"detail": "Invalid token"})

    def test_another_merchants_id_is_an_invalid_request(self, stamps, tenant, other_tenant):
        stamps.merchant_id = other_tenant.merchant.pk

        status, body = refused(
            lambda: stamps.memberships.status(user=tenant.member.email), InvalidRequest
        )

        assert (status, body) == (
            400,
            listed_error("merchant", "Does not match the merchant of this token"),
        )


def test_a_tills_whole_flow(stamps, tenant):
    reward = RewardFactory(merchant=tenant.merchant, name="Free Coffee", stamps_to_redeem=10)
    user = tenant.member.member_id

    assert stamps.memberships.status(user=user)["stamps"] == 0
    purchase = buy(stamps, tenant.member, invoice="A-1", total_value=100000)
    assert purchase["customer"]["stamps_remaining"] == 10
    offer = stamps.rewards.available(user=user)
    assert [(r["id"], r["redeemable"]) for r in offer["rewards"]] == [(reward.pk, True)]
    redeemed = stamps.redemptions.add(user=user, id=reward.pk, invoice_number="A-1")
    assert redeemed["customer"]["stamps_remaining"] == 0
    canceled = stamps.transactions.cancel(
        id=purchase["transaction"]["id"], cancel_related_redemptions=True
    )

    assert canceled["transaction"]["status"] == "Canceled"
    assert stamps.memberships.status(user=user)["stamps"] == 0
    assert Redemption.objects.get().status == RedemptionStatus.CANCELED


UNIMPLEMENTED = {
    "memberships.add_stamps": lambda c: c.memberships.add_stamps(user="a@b.co", stamps=1),
    "memberships.change": lambda c: c.memberships.change(user_id=1, name="A"),
    "authentication.login": lambda c: c.authentication.login(email="a@b.co", password="p"),
    "authentication.password_reset": lambda c: c.authentication.password_reset(email="a@b.co"),
    "authentication.change_password": lambda c: c.authentication.change_password(
        email="a@b.co", old_password="p", new_password="q"
    ),
}


@pytest.mark.parametrize("call", UNIMPLEMENTED.values(), ids=UNIMPLEMENTED.keys())
def test_a_method_whose_endpoint_is_not_served_gets_a_json_404(stamps, call):
    status, body = refused(lambda: call(stamps), ServerError)

    assert (status, body) == (404, {"detail": "Not found."})
