import datetime

import pytest
from django.utils import timezone

from loyalty.checks import ledger_mismatches
from loyalty.models import Award, AwardStatus, EntryKind, LedgerEntry
from tests.error_styles import assert_field_map
from tests.factories import MembershipFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db
URL = "/api/stamps/cancel"


def assert_field_map_error(response, *, status, field, code):
    assert response.status_code == status
    payload = response.json()
    assert assert_field_map(payload)[0] == field
    assert payload["error_code"] == code
    return payload


def ledger_snapshot(member):
    member.refresh_from_db()
    return (
        member.stamps,
        member.qualifying_stamps,
        member.level_id,
        LedgerEntry.objects.count(),
        sorted(Award.objects.values_list("pk", "status", "stamps_remaining")),
    )


class TestStampsCancel:
    def test_answers_with_the_documented_body(self, tenant, refreshed):
        award_stamps(tenant.member, 8)
        award = award_stamps(tenant.member, 10)

        response = tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        assert response.status_code == 200
        assert response.json() == {
            "customer": {"id": tenant.member.pk, "stamps": 8, "status": "Blue"},
            "award": {"id": award.pk, "number_of_stamps": 10, "status": "Canceled"},
        }
        assert response["Allow"] == "POST, OPTIONS"
        assert refreshed(tenant.member).stamps == 8

    def test_accepts_the_store_field_the_documented_example_sends(self, tenant):
        award = award_stamps(tenant.member, 10, store=tenant.store)

        response = tenant.post(
            URL, {"user": tenant.member.email, "store": tenant.store.pk, "id": award.pk}
        )

        assert response.status_code == 200
        assert response.json()["award"]["status"] == "Canceled"

    @pytest.mark.parametrize("identify_by", ["email", "member_id", "pk"])
    def test_finds_the_member_by_email_member_id_or_numeric_id(self, tenant, identify_by):
        award = award_stamps(tenant.member, 4)

        response = tenant.post(URL, {"user": getattr(tenant.member, identify_by), "id": award.pk})

        assert response.status_code == 200
        assert response.json()["customer"] == {
            "id": tenant.member.pk,
            "stamps": 0,
            "status": "Blue",
        }

    def test_marks_the_award_canceled_and_records_a_reversing_entry(self, tenant):
        award = award_stamps(tenant.member, 6)

        tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        award.refresh_from_db()
        assert award.status == AwardStatus.CANCELED
        assert award.stamps_remaining == 0
        assert award.canceled_at is not None
        entries = list(LedgerEntry.objects.filter(award=award).values_list("kind", "delta"))
        assert entries == [(EntryKind.AWARD, 6), (EntryKind.AWARD_CANCEL, -6)]
        assert list(ledger_mismatches()) == []

    def test_keeps_the_original_award_entry_so_the_audit_trail_survives(self, tenant):
        award = award_stamps(tenant.member, 6)
        original = LedgerEntry.objects.get(award=award)

        tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        assert LedgerEntry.objects.filter(pk=original.pk, delta=6).exists()

    def test_lowers_the_level_the_canceled_stamps_had_reached(self, tenant, refreshed):
        award_stamps(tenant.member, 20)
        award = award_stamps(tenant.member, 30)
        assert refreshed(tenant.member).level.name == "Silver"

        response = tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        assert response.json()["customer"]["status"] == "Blue"
        member = refreshed(tenant.member)
        assert member.level.name == "Blue"
        assert member.qualifying_stamps == 20

    def test_takes_spent_stamps_back_from_the_members_other_lots(self, tenant, refreshed):
        soon = award_stamps(
            tenant.member, 10, expiration_date=timezone.localdate() + datetime.timedelta(days=5)
        )
        award_stamps(tenant.member, 10)
        deduct_stamps(tenant.member, 4)

        response = tenant.post(URL, {"user": tenant.member.email, "id": soon.pk})

        assert response.status_code == 200
        assert response.json()["customer"]["stamps"] == 6
        assert refreshed(tenant.member).stamps == 6
        assert LedgerEntry.objects.filter(kind=EntryKind.REDRAW).count() == 2
        assert list(ledger_mismatches()) == []

    def test_refuses_when_the_member_no_longer_holds_the_awarded_stamps(self, tenant):
        award = award_stamps(tenant.member, 10)
        deduct_stamps(tenant.member, 7)
        before = ledger_snapshot(tenant.member)

        response = tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        assert_field_map_error(response, status=400, field="__all__", code="insufficient_stamps")
        message = "The member no longer holds the stamps of this award"
        assert response.json()["error_message"] == message
        assert ledger_snapshot(tenant.member) == before

    def test_refuses_an_award_that_is_already_canceled(self, tenant):
        award = award_stamps(tenant.member, 5)
        tenant.post(URL, {"user": tenant.member.email, "id": award.pk})
        before = ledger_snapshot(tenant.member)

        again = tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        payload = assert_field_map_error(again, status=400, field="id", code="invalid_award")
        assert payload["errors"]["id"] == "Award is already canceled"
        assert ledger_snapshot(tenant.member) == before

    def test_refuses_an_award_past_its_expiration_date(self, tenant):
        then = timezone.now() - datetime.timedelta(days=30)
        award = award_stamps(tenant.member, 5, expiration_date=timezone.localdate(then), now=then)

        response = tenant.post(URL, {"user": tenant.member.email, "id": award.pk})

        payload = assert_field_map_error(response, status=400, field="id", code="invalid_award")
        assert payload["errors"]["id"] == "Award has expired"
        award.refresh_from_db()
        assert award.status != AwardStatus.CANCELED
        assert not LedgerEntry.objects.filter(kind=EntryKind.AWARD_CANCEL).exists()

    def test_answers_404_for_an_award_that_does_not_exist(self, tenant):
        award = award_stamps(tenant.member, 5)
        missing = Award.objects.order_by("-pk").first().pk + 1000

        response = tenant.post(URL, {"user": tenant.member.email, "id": missing})

        payload = assert_field_map_error(response, status=404, field="id", code="not_found")
        assert payload["errors"]["id"] == "Award not found"
        award.refresh_from_db()
        assert award.status == AwardStatus.ACTIVE

    def test_answers_404_for_another_members_award(self, tenant, refreshed):
        neighbour = MembershipFactory(merchant=tenant.merchant)
        award_stamps(tenant.member, 5)
        theirs = award_stamps(neighbour, 5)

        response = tenant.post(URL, {"user": tenant.member.email, "id": theirs.pk})

        assert_field_map_error(response, status=404, field="id", code="not_found")
        assert refreshed(neighbour).stamps == 5
        assert refreshed(tenant.member).stamps == 5

    def test_refuses_an_unknown_user(self, tenant):
        award = award_stamps(tenant.member, 5)

        response = tenant.post(URL, {"user": "nobody@example.com", "id": award.pk})

        payload = assert_field_map_error(response, status=400, field="user", code="invalid_data")
        assert payload["errors"]["user"] == "User not found"

    @pytest.mark.parametrize(
        ("body", "field", "code"),
        [
            ({"id": "A"}, "user", "required"),
            ({"user": "U"}, "id", "required"),
            ({"user": "U", "id": 0}, "id", "min_value"),
            ({"user": "U", "id": -1}, "id", "min_value"),
            ({"user": "U", "id": 2**63}, "id", "max_value"),
            ({"user": "U", "id": "one"}, "id", "invalid"),
            ({"user": "U", "id": 1.5}, "id", "invalid"),
            ({"user": "U", "id": None}, "id", "null"),
            ({"user": "", "id": "A"}, "user", "blank"),
            ({"user": None, "id": "A"}, "user", "null"),
            ({"user": ["U"], "id": "A"}, "user", "invalid"),
            ({"user": "x" * 255, "id": "A"}, "user", "max_length"),
        ],
    )
    def test_refuses_bad_input_in_the_field_map_shape(self, tenant, body, field, code):
        award = award_stamps(tenant.member, 5)
        placeholders = {"U": tenant.member.email, "A": award.pk}
        resolved = {
            key: placeholders.get(value, value) if isinstance(value, str) else value
            for key, value in body.items()
        }

        response = tenant.post(URL, resolved)

        assert_field_map_error(response, status=400, field=field, code=code)
        award.refresh_from_db()
        assert award.status == AwardStatus.ACTIVE
