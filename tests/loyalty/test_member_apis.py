import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import Gender, MaritalStatus, Membership
from tests.factories import MembershipFactory, StoreFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db
STATUS = "/api/memberships/status"
DETAILS = "/api/v2/memberships/details"
REGISTER = "/api/memberships/register"
JOURNALS = "/api/v2/expiration-journals/"
LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"
REQUIRED_USER = {
    "detail": "user: This field is required.",
    "error_message": "user: This field is required.",
    "error_code": "required",
    "errors": {"user": "This field is required."},
}


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def overdue_lot(member: Membership, stamps: int):
    """A lot past its date that no sweep or write has expired yet."""
    return award_stamps(
        member,
        stamps,
        expiration_date=days_from_today(-2),
        now=timezone.now() - datetime.timedelta(days=5),
    )


def field_error(response, field: str, code: str) -> str:
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["error_code"] == code
    assert list(payload["errors"]) == [field]
    assert payload["detail"] == payload["error_message"] == f"{field}: {payload['errors'][field]}"
    return payload["errors"][field]


def listed_error(response, field: str) -> str:
    """The older list shape memberships/status answers in; it carries no code."""
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"] == LEGACY_DETAIL
    [(name, message)] = [item for error in payload["errors"] for item in error.items()]
    assert name == field
    return message


class TestPing:
    def test_answers_with_the_merchant_of_the_token(self, tenant):
        response = tenant.post("/api/ping", {})

        assert response.status_code == 200
        assert response.json() == {
            "pong": {"merchant": tenant.merchant.name, "merchant_id": tenant.merchant.pk}
        }

    def test_takes_the_token_and_merchant_in_the_body(self, tenant):
        response = APIClient().post(
            "/api/ping", {"token": tenant.key, "merchant": tenant.merchant.pk}, format="json"
        )

        assert response.json()["pong"]["merchant_id"] == tenant.merchant.pk

    def test_refuses_another_merchants_id(self, tenant, other_tenant):
        response = tenant.post("/api/ping", {"merchant": other_tenant.merchant.pk})

        field_error(response, "merchant", "invalid")

    def test_refuses_a_request_without_credentials(self, anonymous):
        response = anonymous.post("/api/ping", {}, format="json")

        assert response.status_code == 403
        assert response.json() == {"detail": "Authentication credentials were not provided."}


class TestMembershipStatus:
    def test_answers_with_the_documented_body(self, tenant):
        member = tenant.member
        member.phone = "+6281234567"
        member.birthday = datetime.date(1991, 10, 19)
        member.gender = Gender.FEMALE
        member.address = "221b Baker Street"
        member.save()
        award_stamps(member, 60)

        response = tenant.client.get(STATUS, {"user": member.email})

        assert response.status_code == 200
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response.json() == {
            "id": member.pk,
            "stamps": 60,
            "membership_status": "Silver",
            "name": member.name,
            "phone": "+6281234567",
            "birthday": "1991-10-19",
            "address": "221b Baker Street",
            "gender": 2,
            "member_ids": [member.member_id],
            "balance": 0,
        }

    def test_takes_token_and_merchant_from_the_query_string(self, tenant):
        response = APIClient().get(
            STATUS,
            {"token": tenant.key, "merchant": tenant.merchant.pk, "user": tenant.member.member_id},
        )

        assert response.status_code == 200
        assert response.json()["id"] == tenant.member.pk

    def test_shows_null_and_empty_for_what_the_member_never_gave(self, tenant):
        bare = MembershipFactory(merchant=tenant.merchant, member_id=None)

        body = tenant.client.get(STATUS, {"user": bare.email}).json()

        assert (body["birthday"], body["gender"], body["address"]) == (None, None, "")
        assert body["member_ids"] == []

    def test_leaves_out_stamps_past_their_date_before_any_sweep(self, tenant, refreshed):
        award_stamps(tenant.member, 3)
        overdue_lot(tenant.member, 7)  # written last: a write would expire it

        body = tenant.client.get(STATUS, {"user": tenant.member.email}).json()

        assert refreshed(tenant.member).stamps == 10  # the write-off has not happened yet
        assert body["stamps"] == 3

    def test_refuses_a_missing_user_in_the_documented_list_shape(self, tenant):
        response = tenant.client.get(STATUS, {"merchant": tenant.merchant.pk})

        assert response.status_code == 400
        assert response.json() == {
            "detail": "Your transaction cannot be completed due to the following error(s)",
            "errors": [{"user": "This field is required"}],
        }

    def test_refuses_an_unknown_user(self, tenant):
        response = tenant.client.get(STATUS, {"user": "nobody@example.com"})

        assert listed_error(response, "user") == "User not found"

    def test_refuses_a_merchant_id_other_than_the_tokens(self, tenant, other_tenant):
        response = tenant.client.get(
            STATUS, {"user": tenant.member.email, "merchant": other_tenant.merchant.pk}
        )

        listed_error(response, "merchant")

    def test_refuses_a_merchant_that_is_not_a_number(self, tenant):
        response = tenant.client.get(STATUS, {"user": tenant.member.email, "merchant": "x"})

        listed_error(response, "merchant")

    @pytest.mark.parametrize("by", ["email", "member_id", "pk"])
    def test_never_shows_another_merchants_member(self, tenant, other_tenant, by):
        response = tenant.client.get(STATUS, {"user": str(getattr(other_tenant.member, by))})

        listed_error(response, "user")
        assert other_tenant.member.name not in response.content.decode()

    def test_refuses_a_request_without_credentials(self, tenant, anonymous):
        response = anonymous.get(STATUS, {"user": tenant.member.email})

        assert response.status_code == 403

    def test_refuses_a_wrong_token_with_401(self, tenant):
        response = APIClient().get(STATUS, {"user": tenant.member.email, "token": "wrong"})

        assert response.status_code == 401

    def test_refuses_post(self, tenant):
        response = tenant.post(STATUS, {"user": tenant.member.email})

        assert response.status_code == 405


class TestMembershipDetails:
    def test_answers_with_the_documented_body(self, tenant):
        member = tenant.member
        member.phone = "081234567"
        member.birthday = datetime.date(1990, 1, 2)
        member.gender = Gender.FEMALE
        member.address = "Jalan Anggrek No. 1"
        member.postal_code = "10310"
        member.marital_status = MaritalStatus.MARRIED
        member.religion = 1
        member.wedding_date = datetime.date(2015, 6, 7)
        member.notes = "Prefers oat milk"
        member.picture_url = "https://example.com/alice.png"
        member.tags = ["vip", "office"]
        member.allow_newsletters = True
        member.allow_whatsapp_marketing = True
        member.save()
        award_stamps(member, 160)
        deduct_stamps(member, 10)

        response = tenant.client.get(DETAILS, {"user": member.member_id})

        member.refresh_from_db()
        joined = timezone.localdate(member.created_at).isoformat()
        assert response.status_code == 200
        assert response.json() == {
            "membership": {
                "tags": ["vip", "office"],
                "level": 300,
                "level_text": "Gold",
                "member_status": "Active",
                "stamps": 150,
                "stamps_owed": 0,
                "balance": 0,
                "is_blocked": False,
                "referral_code": member.referral_code,
                "start_date": joined,
                "created": joined,
                "allow_newsletters": True,
                "allow_sms_marketing": False,
                "allow_whatsapp_marketing": True,
                "redemption_allowed": True,
                "primary_card": None,
            },
            "tags": ["vip", "office"],
            "user": {
                "address": "Jalan Anggrek No. 1",
                "birthday": "1990-01-02",
                "email": member.email,
                "email_is_verified": False,
                "gender": "female",
                "has_incorrect_email": False,
                "has_pin": False,
                "pin_is_blocked": False,
                "has_password": False,
                "id": str(member.pk),
                "id_card_file_name": "",
                "id_number": None,
                "is_active": True,
                "is_anonymized": False,
                "marital_status": 2,
                "member_ids": [member.member_id],
                "name": member.name,
                "notes": "Prefers oat milk",
                "phone": "081234567",
                "phone_is_verified": False,
                "picture_url": "https://example.com/alice.png",
                "postal_code": "10310",
                "protected_redemption": False,
                "referral_code": member.referral_code,
                "registration_status": "Full",
                "religion": 1,
                "wedding_date": "2015-06-07",
                "site_activity": {"id": member.pk, "registration_method": "Admin"},
            },
        }

    def test_a_member_known_by_a_member_id_alone_is_partly_registered(self, tenant):
        card_only = MembershipFactory(
            merchant=tenant.merchant, email=None, name="", birthday=None, gender=None
        )

        user = tenant.client.get(DETAILS, {"user": card_only.member_id}).json()["user"]

        assert (user["registration_status"], user["email"], user["gender"]) == (
            "Partial",
            None,
            None,
        )

    def test_a_blocked_member_may_not_redeem(self, tenant):
        blocked = MembershipFactory(merchant=tenant.merchant, is_blocked=True)

        membership = tenant.client.get(DETAILS, {"user": blocked.email}).json()["membership"]

        assert membership["redemption_allowed"] is False

    def test_shows_a_blocked_member_as_blocked(self, tenant):
        blocked = MembershipFactory(merchant=tenant.merchant, is_blocked=True)

        membership = tenant.client.get(DETAILS, {"user": blocked.email}).json()["membership"]

        assert (membership["member_status"], membership["is_blocked"]) == ("Blocked", True)

    def test_leaves_out_stamps_past_their_date(self, tenant):
        overdue_lot(tenant.member, 4)

        response = tenant.client.get(DETAILS, {"user": tenant.member.email})

        assert response.json()["membership"]["stamps"] == 0

    def test_refuses_a_missing_user_in_the_field_map_shape(self, tenant):
        response = tenant.client.get(DETAILS)

        assert response.status_code == 400
        assert response.json() == REQUIRED_USER

    def test_never_shows_another_merchants_member(self, tenant, other_tenant):
        response = tenant.client.get(DETAILS, {"user": other_tenant.member.email})

        assert response.status_code == 400
        assert response.json() == {
            "errors": {"__all__": "User not found"},
            "error_message": "User not found",
            "error_code": "invalid_data",
            "detail": "__all__: User not found",
        }


def registration(tenant, **changes):
    body = {
        "merchant": tenant.merchant.pk,
        "name": "Siti",
        "email": "Siti@Example.com",
        "birthday": "1991-10-19",
        "gender": "female",
        "store": tenant.store.pk,
        "member_id": "123412341234",
        "phone": "+62215600010",
        "address": "221b Baker Street",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


class TestMembershipRegister:
    def test_answers_with_the_documented_body(self, tenant):
        response = tenant.post(REGISTER, registration(tenant))

        member = Membership.objects.get(merchant=tenant.merchant, email="siti@example.com")
        assert response.status_code == 200
        assert response["Allow"] == "POST, OPTIONS"
        assert response.json() == {
            "customer": {
                "id": member.pk,
                "name": "Siti",
                "email": "siti@example.com",
                "identifier": "siti@example.com",
                "member_id": "123412341234",
                "phone": "0215600010",
                "birthday": "1991-10-19",
                "gender": "female",  # as sent
            }
        }
        assert (member.birthday, member.gender, member.address) == (
            datetime.date(1991, 10, 19),
            Gender.FEMALE,
            "221b Baker Street",
        )
        assert (member.stamps, member.level.name) == (0, "Blue")

    def test_issues_a_member_id_when_none_is_given(self, tenant):
        first = tenant.post(REGISTER, registration(tenant, member_id=None)).json()["customer"]
        second = tenant.post(
            REGISTER, registration(tenant, member_id="", email="two@example.com")
        ).json()["customer"]

        assert first["member_id"].isdigit() and len(first["member_id"]) == 12
        assert second["member_id"].isdigit() and second["member_id"] != first["member_id"]

    def test_registered_member_is_found_by_the_issued_member_id(self, tenant):
        customer = tenant.post(REGISTER, registration(tenant, member_id=None)).json()["customer"]

        response = tenant.client.get(STATUS, {"user": customer["member_id"]})

        assert response.json()["id"] == customer["id"]
        assert response.json()["gender"] == 2

    @pytest.mark.parametrize("gender", ["male", "Male", "MALE"])
    def test_takes_the_gender_in_any_case_echoes_it_and_the_optional_fields_absent(
        self, tenant, gender
    ):
        body = registration(tenant, gender=gender, member_id=None, phone=None, address=None)

        customer = tenant.post(REGISTER, body).json()["customer"]

        assert (customer["gender"], customer["phone"]) == (gender, "")
        assert Membership.objects.get(pk=customer["id"]).gender == Gender.MALE

    def test_a_phone_outside_indonesia_is_answered_as_sent(self, tenant):
        customer = tenant.post(REGISTER, registration(tenant, phone="+6591234567")).json()

        assert customer["customer"]["phone"] == "+6591234567"

    def test_refuses_a_member_id_that_is_another_members_id(self, tenant):
        existing = tenant.member

        response = tenant.post(REGISTER, registration(tenant, member_id=str(existing.pk)))
        found = tenant.client.get(STATUS, {"user": str(existing.pk)})

        assert response.status_code == 400
        assert response.json()["errors"] == {"member_id": "This Member ID is another member's id"}
        assert found.json()["id"] == existing.pk
        assert not Membership.objects.filter(email="siti@example.com").exists()

    def test_refuses_an_email_already_registered_with_the_merchant(self, tenant):
        tenant.post(REGISTER, registration(tenant))

        response = tenant.post(
            REGISTER, registration(tenant, email="SITI@example.COM", member_id="other")
        )

        assert field_error(response, "email", "unique") == "A member with this email already exists"
        assert Membership.objects.filter(merchant=tenant.merchant).count() == 2

    def test_refuses_a_member_id_already_registered_with_the_merchant(self, tenant):
        response = tenant.post(REGISTER, registration(tenant, member_id=tenant.member.member_id))

        assert (
            field_error(response, "member_id", "unique")
            == "A member with this Member ID already exists"
        )

    def test_lets_another_merchant_register_the_same_email_and_member_id(
        self, tenant, other_tenant
    ):
        tenant.post(REGISTER, registration(tenant))

        response = other_tenant.post(REGISTER, registration(other_tenant))

        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("changes", "field", "code"),
        [
            ({"name": None}, "name", "required"),
            ({"name": ""}, "name", "blank"),
            ({"email": None}, "email", "required"),
            ({"email": "not-an-email"}, "email", "invalid"),
            ({"birthday": None}, "birthday", "required"),
            ({"birthday": "19-10-1991"}, "birthday", "invalid"),
            ({"birthday": "2999-01-01"}, "birthday", "invalid"),
            ({"gender": None}, "gender", "required"),
            ({"gender": "other"}, "gender", "invalid_choice"),
            ({"gender": 1}, "gender", "invalid_choice"),
            ({"store": None}, "store", "required"),
            ({"store": 10**12}, "store", "invalid_store"),
            ({"merchant": None}, "merchant", "required"),
            ({"merchant": 10**12}, "merchant", "invalid"),
            ({"phone": "12345"}, "phone", "invalid"),
            ({"phone": "0812-3456-789"}, "phone", "invalid"),
            ({"phone": "+" + "1" * 21}, "phone", "invalid"),
            ({"phone": "٠٨١٢٣٤٥٦٧٨"}, "phone", "invalid"),
            ({"member_id": "a@b"}, "member_id", "invalid"),
            ({"member_id": "x" * 65}, "member_id", "max_length"),
            ({"address": "x" * 256}, "address", "max_length"),
        ],
    )
    def test_refuses_bad_input_in_the_field_map_shape(self, tenant, changes, field, code):
        response = tenant.post(REGISTER, registration(tenant, **changes))

        field_error(response, field, code)
        assert not Membership.objects.filter(email="siti@example.com").exists()

    def test_refuses_another_merchants_store(self, tenant, other_tenant):
        response = tenant.post(REGISTER, registration(tenant, store=other_tenant.store.pk))

        field_error(response, "store", "invalid_store")

    def test_refuses_an_inactive_store(self, tenant):
        closed = StoreFactory(merchant=tenant.merchant, is_active=False)

        response = tenant.post(REGISTER, registration(tenant, store=closed.pk))

        field_error(response, "store", "invalid_store")

    def test_refuses_an_unknown_gender_without_echoing_it(self, tenant):
        response = tenant.post(REGISTER, registration(tenant, gender="<b>robot</b>"))

        assert field_error(response, "gender", "invalid_choice") == 'Must be "male" or "female".'


class TestExpirationJournals:
    def test_lists_each_lot_that_still_holds_stamps_soonest_first(self, tenant):
        later = award_stamps(tenant.member, 5, expiration_date=days_from_today(30))
        sooner = award_stamps(tenant.member, 8, expiration_date=days_from_today(10))
        same_day = award_stamps(tenant.member, 2, expiration_date=days_from_today(30))
        deduct_stamps(tenant.member, 3)  # taken from the soonest lot

        response = tenant.client.get(JOURNALS, {"user": tenant.member.email})

        assert response.status_code == 200
        assert response.json() == {
            "expiration_journals": [
                {
                    "id": sooner.pk,
                    "stamps_to_expire": 5,
                    "expiration_date": days_from_today(10).isoformat(),
                },
                {
                    "id": later.pk,
                    "stamps_to_expire": 5,
                    "expiration_date": days_from_today(30).isoformat(),
                },
                {
                    "id": same_day.pk,
                    "stamps_to_expire": 2,
                    "expiration_date": days_from_today(30).isoformat(),
                },
            ]
        }

    def test_leaves_out_spent_and_overdue_lots(self, tenant):
        spent = award_stamps(tenant.member, 4, expiration_date=days_from_today(1))
        deduct_stamps(tenant.member, 4)
        today = award_stamps(tenant.member, 1, expiration_date=days_from_today(0))
        overdue_lot(tenant.member, 6)

        journals = tenant.client.get(JOURNALS, {"user": tenant.member.email}).json()

        assert [row["id"] for row in journals["expiration_journals"]] == [today.pk]
        assert spent.pk not in [row["id"] for row in journals["expiration_journals"]]

    def test_starts_at_the_minimum_expiration_date(self, tenant):
        award_stamps(tenant.member, 5, expiration_date=days_from_today(10))
        kept = award_stamps(tenant.member, 5, expiration_date=days_from_today(20))
        minimum = days_from_today(20).isoformat()

        by_name = tenant.client.get(
            JOURNALS, {"user": tenant.member.email, "minimum_expiration_date": minimum}
        ).json()
        by_older_name = tenant.client.get(
            JOURNALS, {"user": tenant.member.email, "expiration_date": minimum}
        ).json()

        assert [row["id"] for row in by_name["expiration_journals"]] == [kept.pk]
        assert by_older_name == by_name

    def test_treats_a_past_minimum_date_as_today(self, tenant):
        overdue_lot(tenant.member, 6)

        response = tenant.client.get(
            JOURNALS,
            {"user": tenant.member.email, "minimum_expiration_date": days_from_today(-30)},
        )

        assert response.json() == {"expiration_journals": []}

    def test_refuses_a_badly_formatted_date(self, tenant):
        response = tenant.client.get(
            JOURNALS, {"user": tenant.member.email, "minimum_expiration_date": "31-01-2099"}
        )

        field_error(response, "minimum_expiration_date", "invalid")

    def test_refuses_a_missing_user_in_the_field_map_shape(self, tenant):
        response = tenant.client.get(JOURNALS)

        assert response.json() == REQUIRED_USER

    def test_never_shows_another_merchants_member(self, tenant, other_tenant):
        award_stamps(other_tenant.member, 5)

        response = tenant.client.get(JOURNALS, {"user": other_tenant.member.member_id})

        field_error(response, "user", "invalid_data")
