import datetime

import pytest
from django.utils import timezone

from loyalty.models import Award, EmailOutbox, LedgerEntry
from tests.factories import MembershipFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db
URL = "/api/stamps/add"


class TestStampsAdd:
    def test_answers_with_the_documented_body(self, tenant, refreshed):
        award_stamps(tenant.member, 8)

        response = tenant.post(
            URL,
            {
                "user": tenant.member.email,
                "store": tenant.store.pk,
                "number_of_stamps": 10,
                "notes": "bonus",
                "require_email_notification": False,
            },
        )

        award = Award.objects.get(membership=tenant.member, notes="bonus")
        assert response.status_code == 200
        assert response.json() == {
            "customer": {"id": tenant.member.pk, "stamps": 18, "status": "Blue"},
            "award": {"id": award.pk, "number_of_stamps": 10},
        }
        assert response["Allow"] == "POST, OPTIONS"
        assert refreshed(tenant.member).stamps == 18

    def test_answers_the_balance_not_the_stamps_ever_earned(self, tenant):
        award_stamps(tenant.member, 8)
        deduct_stamps(tenant.member, 5)

        response = tenant.post(
            URL, {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
        )

        assert response.json()["customer"]["stamps"] == 5  # 8 - 5 + 2; 10 were ever earned

    def test_finds_the_member_by_member_id_and_by_numeric_id(self, tenant):
        by_card = tenant.post(
            URL, {"user": tenant.member.member_id, "store": tenant.store.pk, "number_of_stamps": 1}
        )
        by_id = tenant.post(
            URL, {"user": tenant.member.pk, "store": tenant.store.pk, "number_of_stamps": 1}
        )

        assert by_card.json()["customer"]["stamps"] == 1
        assert by_id.json()["customer"]["stamps"] == 2

    def test_matches_email_case_insensitively(self, tenant):
        response = tenant.post(
            URL,
            {"user": tenant.member.email.upper(), "store": tenant.store.pk, "number_of_stamps": 3},
        )

        assert response.json()["customer"]["id"] == tenant.member.pk

    def test_defaults_expiry_to_the_merchants_validity_days(self, tenant):
        tenant.merchant.stamps_validity_days = 30
        tenant.merchant.save()

        tenant.post(
            URL, {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
        )

        award = Award.objects.get(membership=tenant.member)
        assert award.expiration_date == timezone.localdate() + datetime.timedelta(days=30)

    def test_keeps_an_explicit_expiration_date(self, tenant):
        tenant.post(
            URL,
            {
                "user": tenant.member.email,
                "store": tenant.store.pk,
                "number_of_stamps": 2,
                "expiration_date": "2099-01-31",
            },
        )

        assert Award.objects.get(membership=tenant.member).expiration_date == datetime.date(
            2099, 1, 31
        )

    def test_queues_an_email_unless_told_not_to(self, tenant):
        tenant.post(
            URL, {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
        )
        tenant.post(
            URL,
            {
                "user": tenant.member.email,
                "store": tenant.store.pk,
                "number_of_stamps": 2,
                "require_email_notification": False,
            },
        )

        assert EmailOutbox.objects.filter(recipient=tenant.member.email).count() == 1

    def test_takes_an_optional_field_sent_as_null_as_not_given(self, tenant):
        body = {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 2}
        nulls = {"notes": None, "expiration_date": None, "require_email_notification": None}

        response = tenant.post(URL, body | nulls)

        award = Award.objects.get(membership=tenant.member)
        assert response.status_code == 200, response.content
        assert (award.notes, award.expiration_date) == (
            "",
            timezone.localdate() + datetime.timedelta(days=tenant.merchant.stamps_validity_days),
        )
        assert EmailOutbox.objects.filter(recipient=tenant.member.email).count() == 1

    def test_raises_the_level_when_qualifying_stamps_reach_it(self, tenant):
        response = tenant.post(
            URL, {"user": tenant.member.email, "store": tenant.store.pk, "number_of_stamps": 50}
        )

        assert response.json()["customer"]["status"] == "Silver"

    @pytest.mark.parametrize(
        ("body", "field", "code"),
        [
            ({"store": "S", "number_of_stamps": 1}, "user", "required"),
            ({"user": "U", "number_of_stamps": 1}, "store", "required"),
            ({"user": "U", "store": "S"}, "number_of_stamps", "required"),
            ({"user": "U", "store": "S", "number_of_stamps": 0}, "number_of_stamps", "min_value"),
            ({"user": "U", "store": "S", "number_of_stamps": -5}, "number_of_stamps", "min_value"),
            (
                {"user": "U", "store": "S", "number_of_stamps": 10**30},
                "number_of_stamps",
                "max_value",
            ),
            ({"user": "U", "store": "S", "number_of_stamps": "ten"}, "number_of_stamps", "invalid"),
            ({"user": "U", "store": "S", "number_of_stamps": 1.5}, "number_of_stamps", "invalid"),
            (
                {"user": "U", "store": "S", "number_of_stamps": 1, "expiration_date": "31-01-2099"},
                "expiration_date",
                "invalid",
            ),
            (
                {"user": "U", "store": "S", "number_of_stamps": 1, "expiration_date": "2000-01-01"},
                "expiration_date",
                "invalid",
            ),
            (
                {"user": "nobody@example.com", "store": "S", "number_of_stamps": 1},
                "user",
                "invalid_data",
            ),
            ({"user": "U", "store": 10**12, "number_of_stamps": 1}, "store", "invalid_store"),
            (
                {"user": "U", "store": "S", "number_of_stamps": 1001},
                "number_of_stamps",
                "max_value",
            ),
            ({"user": {"a": 1}, "store": "S", "number_of_stamps": 1}, "user", "invalid"),
        ],
    )
    def test_refuses_bad_input_in_the_field_map_shape(self, tenant, body, field, code):
        resolved = {
            k: {"U": tenant.member.email, "S": tenant.store.pk}.get(v, v)
            if isinstance(v, str)
            else v
            for k, v in body.items()
        }

        response = tenant.post(URL, resolved)

        assert response.status_code == 400
        payload = response.json()
        assert payload["error_code"] == code
        assert field in payload["errors"]
        assert payload["detail"] == payload["error_message"]
        assert payload["detail"].startswith(f"{field}: ")
        assert not LedgerEntry.objects.exists()

    def test_refuses_a_lone_surrogate_that_no_database_could_store(self, tenant):
        body = f'{{"user": "\\ud800", "store": {tenant.store.pk}, "number_of_stamps": 1}}'

        response = tenant.client.post(URL, body, content_type="application/json")

        assert response.status_code == 400
        assert response.json()["error_code"] in ("parse_error", "invalid")
        assert not LedgerEntry.objects.exists()

    def test_refuses_a_blocked_member(self, tenant):
        blocked = MembershipFactory(merchant=tenant.merchant, is_blocked=True)

        response = tenant.post(
            URL, {"user": blocked.email, "store": tenant.store.pk, "number_of_stamps": 1}
        )

        assert response.status_code == 400
        assert response.json()["error_code"] == "membership_blocked"
