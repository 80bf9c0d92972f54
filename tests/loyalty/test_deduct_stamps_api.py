import datetime

import pytest
from django.utils import timezone

from loyalty.checks import ledger_mismatches
from loyalty.models import (
    Award,
    DeductionPurpose,
    DeductionStatus,
    EntryKind,
    LedgerEntry,
    Membership,
    StampsDeduction,
)
from tests.error_styles import assert_field_map
from tests.factories import MembershipFactory, award_stamps

pytestmark = pytest.mark.django_db
URL = "/api/memberships/deduct-stamps"


def assert_field_map_error(response, *, status, field, code):
    assert response.status_code == status
    payload = response.json()
    assert assert_field_map(payload)[0] == field
    assert payload["error_code"] == code
    return payload


def nothing_spent():
    return (
        not StampsDeduction.objects.exists()
        and not LedgerEntry.objects.filter(kind=EntryKind.SPEND).exists()
    )


class TestDeductStamps:
    def test_answers_with_the_documented_body(self, tenant, refreshed):
        award_stamps(tenant.member, 8)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 1, "notes": "test"})

        deduction = StampsDeduction.objects.get(membership=tenant.member)
        member = refreshed(tenant.member)
        created = deduction.created_at.astimezone(datetime.UTC).replace(microsecond=0)
        assert response.status_code == 200
        assert response["Allow"] == "POST, OPTIONS"
        assert response.json() == {
            "membership": {
                "id": member.pk,
                "group_id": tenant.merchant.pk,
                "status": 100,
                "status_text": "Blue",
                "stamps": 7,
                "balance": 0,
                "referral_code": member.referral_code,
                "is_blocked": False,
                "created": timezone.localdate(member.created_at).isoformat(),
            },
            "stamps_deduction": {
                "id": deduction.pk,
                "stamps": 1,
                "notes": "test",
                "created": created.isoformat(),
                "created_timestamp": int(created.timestamp()),
                "status": 1,
            },
        }

    def test_gives_the_creation_time_in_utc_with_an_offset_and_as_a_unix_timestamp(self, tenant):
        award_stamps(tenant.member, 8)
        before = int(timezone.now().timestamp())

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 1, "notes": "n"})

        body = response.json()["stamps_deduction"]
        created = datetime.datetime.fromisoformat(body["created"])
        assert body["created"].endswith("+00:00")
        assert "." not in body["created"]
        assert int(created.timestamp()) == body["created_timestamp"]
        assert before <= body["created_timestamp"] <= int(timezone.now().timestamp())

    def test_accepts_the_numeric_user_of_the_documented_payload(self, tenant, refreshed):
        award_stamps(tenant.member, 3)

        response = tenant.post(URL, {"user": tenant.member.pk, "stamps": 1, "notes": "test"})

        assert response.status_code == 200
        assert response.json()["membership"]["id"] == tenant.member.pk
        assert refreshed(tenant.member).stamps == 2

    @pytest.mark.parametrize("identify_by", ["email", "member_id", "pk"])
    def test_finds_the_member_by_email_member_id_or_numeric_id(self, tenant, identify_by):
        award_stamps(tenant.member, 3)

        response = tenant.post(
            URL, {"user": str(getattr(tenant.member, identify_by)), "stamps": 2, "notes": "n"}
        )

        assert response.status_code == 200
        assert response.json()["membership"]["stamps"] == 1

    def test_prefers_a_member_id_over_a_numeric_id_with_the_same_digits(self, tenant, refreshed):
        award_stamps(tenant.member, 5)
        card_holder = MembershipFactory(merchant=tenant.merchant, member_id=str(tenant.member.pk))
        award_stamps(card_holder, 5)

        response = tenant.post(URL, {"user": str(tenant.member.pk), "stamps": 1, "notes": "n"})

        assert response.json()["membership"]["id"] == card_holder.pk
        assert refreshed(card_holder).stamps == 4
        assert refreshed(tenant.member).stamps == 5

    def test_matches_email_case_insensitively(self, tenant):
        award_stamps(tenant.member, 3)

        response = tenant.post(
            URL, {"user": tenant.member.email.upper(), "stamps": 1, "notes": "n"}
        )

        assert response.json()["membership"]["id"] == tenant.member.pk

    def test_records_a_deduction_drawn_from_the_ledger(self, tenant):
        award = award_stamps(tenant.member, 10)

        tenant.post(URL, {"user": tenant.member.email, "stamps": 4, "notes": "broken cup"})

        deduction = StampsDeduction.objects.get(membership=tenant.member)
        assert (deduction.stamps, deduction.notes) == (4, "broken cup")
        assert deduction.purpose == DeductionPurpose.DEDUCTION
        assert deduction.status == DeductionStatus.ACTIVE
        spend = LedgerEntry.objects.get(kind=EntryKind.SPEND)
        assert (spend.award_id, spend.deduction_id, spend.delta) == (award.pk, deduction.pk, -4)
        award.refresh_from_db()
        assert award.stamps_remaining == 6
        assert list(ledger_mismatches()) == []

    def test_spends_the_soonest_expiring_stamps_first(self, tenant):
        today = timezone.localdate()
        late = award_stamps(tenant.member, 5, expiration_date=today + datetime.timedelta(days=90))
        soon = award_stamps(tenant.member, 5, expiration_date=today + datetime.timedelta(days=10))

        tenant.post(URL, {"user": tenant.member.email, "stamps": 7, "notes": "n"})

        late.refresh_from_db()
        soon.refresh_from_db()
        assert (soon.stamps_remaining, late.stamps_remaining) == (0, 3)

    def test_may_spend_the_whole_balance(self, tenant):
        award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 5, "notes": "n"})

        assert response.status_code == 200
        assert response.json()["membership"]["stamps"] == 0

    def test_never_lowers_the_level(self, tenant):
        award_stamps(tenant.member, 60)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 60, "notes": "n"})

        membership = response.json()["membership"]
        assert (membership["status"], membership["status_text"]) == (200, "Silver")
        assert membership["stamps"] == 0

    def test_refuses_more_stamps_than_the_member_holds(self, tenant, refreshed):
        award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 6, "notes": "n"})

        assert_field_map_error(response, status=400, field="stamps", code="insufficient_stamps")
        assert refreshed(tenant.member).stamps == 5
        assert nothing_spent()

    def test_does_not_count_expired_stamps(self, tenant, refreshed):
        then = timezone.now() - datetime.timedelta(days=20)
        award_stamps(tenant.member, 50, expiration_date=timezone.localdate(then), now=then)
        award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 6, "notes": "n"})

        assert_field_map_error(response, status=400, field="stamps", code="insufficient_stamps")
        assert nothing_spent()

    def test_spends_only_unexpired_stamps_and_reports_the_balance_without_the_expired(self, tenant):
        then = timezone.now() - datetime.timedelta(days=20)
        expired = award_stamps(
            tenant.member, 50, expiration_date=timezone.localdate(then), now=then
        )
        valid = award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 2, "notes": "n"})

        assert response.json()["membership"]["stamps"] == 3
        valid.refresh_from_db()
        expired.refresh_from_db()
        assert valid.stamps_remaining == 3
        assert expired.stamps_remaining == 0
        assert list(ledger_mismatches()) == []

    def test_refuses_a_blocked_member(self, tenant, refreshed):
        award_stamps(tenant.member, 5)
        Membership.objects.filter(pk=tenant.member.pk).update(is_blocked=True)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 1, "notes": "n"})

        assert_field_map_error(response, status=400, field="user", code="membership_blocked")
        assert refreshed(tenant.member).stamps == 5
        assert nothing_spent()

    def test_refuses_an_unknown_user(self, tenant):
        response = tenant.post(URL, {"user": "nobody@example.com", "stamps": 1, "notes": "n"})

        payload = assert_field_map_error(response, status=400, field="user", code="invalid_data")
        assert payload["errors"]["user"] == "User not found"

    def test_answers_missing_notes_exactly_as_documented(self, tenant):
        award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "stamps": 1})

        assert response.status_code == 400
        assert response["Allow"] == "POST, OPTIONS"
        assert response.json() == {
            "detail": "notes: This field is required.",
            "error_message": "notes: This field is required.",
            "error_code": "required",
            "errors": {"notes": "This field is required."},
        }
        assert nothing_spent()

    @pytest.mark.parametrize(
        ("body", "field", "code"),
        [
            ({"stamps": 1, "notes": "n"}, "user", "required"),
            ({"user": "U", "notes": "n"}, "stamps", "required"),
            ({"user": "U", "stamps": 0, "notes": "n"}, "stamps", "min_value"),
            ({"user": "U", "stamps": -3, "notes": "n"}, "stamps", "min_value"),
            ({"user": "U", "stamps": 10**30, "notes": "n"}, "stamps", "max_value"),
            ({"user": "U", "stamps": "three", "notes": "n"}, "stamps", "invalid"),
            ({"user": "U", "stamps": 1.5, "notes": "n"}, "stamps", "invalid"),
            ({"user": "U", "stamps": True, "notes": "n"}, "stamps", "invalid"),
            ({"user": "U", "stamps": None, "notes": "n"}, "stamps", "null"),
            ({"user": "U", "stamps": 1, "notes": ""}, "notes", "blank"),
            ({"user": "U", "stamps": 1, "notes": "n" * 256}, "notes", "max_length"),
            ({"user": "U", "stamps": 1, "notes": {"a": 1}}, "notes", "invalid"),
            (
                {"user": "U", "stamps": 1, "notes": "nul\x00"},
                "notes",
                "null_characters_not_allowed",
            ),
            ({"user": "", "stamps": 1, "notes": "n"}, "user", "blank"),
            ({"user": True, "stamps": 1, "notes": "n"}, "user", "invalid"),
            ({"user": "x" * 255, "stamps": 1, "notes": "n"}, "user", "max_length"),
        ],
    )
    def test_refuses_bad_input_in_the_field_map_shape(self, tenant, refreshed, body, field, code):
        award_stamps(tenant.member, 5)
        resolved = {
            key: tenant.member.email if value == "U" else value for key, value in body.items()
        }

        response = tenant.post(URL, resolved)

        assert_field_map_error(response, status=400, field=field, code=code)
        assert nothing_spent()
        assert refreshed(tenant.member).stamps == 5

    def test_refuses_a_lone_surrogate_in_the_notes(self, tenant):
        award_stamps(tenant.member, 5)
        body = f'{{"user": "{tenant.member.email}", "stamps": 1, "notes": "\\udfff"}}'

        response = tenant.client.post(URL, body, content_type="application/json")

        assert response.status_code == 400
        payload = response.json()
        assert set(payload) == {"detail", "error_message", "error_code", "errors"}
        # refused while parsing the body or while validating the field: either way, no 500
        assert payload["error_code"] in ("parse_error", "invalid")
        assert nothing_spent()

    @pytest.mark.parametrize("user", ["²", "0", "-1", "9" * 30])
    def test_refuses_digit_like_users_that_name_no_member_without_a_server_error(
        self, tenant, user
    ):
        award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": user, "stamps": 1, "notes": "n"})

        assert_field_map_error(response, status=400, field="user", code="invalid_data")
        assert nothing_spent()

    def test_the_award_lots_are_left_untouched_by_a_refusal(self, tenant):
        award = award_stamps(tenant.member, 5)

        tenant.post(URL, {"user": tenant.member.email, "stamps": 50, "notes": "n"})

        assert Award.objects.get(pk=award.pk).stamps_remaining == 5
