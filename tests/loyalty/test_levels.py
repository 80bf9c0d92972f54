"""Levels follow qualifying stamps, and every move between levels leaves a LevelChange.
The award runs in PL/pgSQL on PostgreSQL and in Python on SQLite; these tests run on both."""

import datetime

import pytest

from loyalty import services
from loyalty.checks import ledger_mismatches
from loyalty.ledger import SYSTEM
from loyalty.models import Level, LevelChange, LevelChangeKind, Membership
from tests.factories import MembershipFactory, award_stamps, deduct_stamps

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


def cancel(member, award, *, now=NOW):
    return services.award_cancel(
        merchant=member.merchant, user=str(member.pk), award_id=award.pk, now=now, actor=SYSTEM
    )


def changes(member) -> list[tuple]:
    return list(
        LevelChange.objects.filter(membership=member)
        .order_by("pk")
        .values_list("from_level__name", "to_level__name", "kind", "award", "created_at")
    )


def level_of(member) -> str:
    return Membership.objects.get(pk=member.pk).level.name


def assert_ledger_consistent():
    assert [str(mismatch) for mismatch in ledger_mismatches()] == []


class TestAnAwardThatReachesANewLevel:
    def test_records_one_upgrade_naming_the_award(self):
        member = MembershipFactory()
        award_stamps(member, 30, now=NOW)

        award = award_stamps(member, 20, now=NOW)

        assert changes(member) == [("Blue", "Silver", LevelChangeKind.UPGRADE, award.pk, NOW)]
        assert level_of(member) == "Silver"
        assert_ledger_consistent()

    def test_records_a_jump_over_a_level_as_one_upgrade(self):
        member = MembershipFactory()

        award = award_stamps(member, 150, now=NOW)

        assert changes(member) == [("Blue", "Gold", LevelChangeKind.UPGRADE, award.pk, NOW)]
        assert_ledger_consistent()

    def test_answers_with_the_new_level(self):
        member = MembershipFactory()

        award = award_stamps(member, 50, now=NOW)

        assert award.membership.level.name == "Silver"


class TestWritesThatKeepTheLevel:
    def test_an_award_below_the_next_threshold_records_nothing(self):
        member = MembershipFactory()

        award_stamps(member, 49, now=NOW)

        assert changes(member) == []
        assert level_of(member) == "Blue"
        assert_ledger_consistent()

    def test_an_award_within_the_level_already_reached_records_nothing(self):
        member = MembershipFactory()
        award_stamps(member, 60, now=NOW)

        award_stamps(member, 10, now=NOW)

        assert len(changes(member)) == 1

    def test_a_cancel_that_stays_above_the_threshold_records_nothing(self):
        member = MembershipFactory()
        award_stamps(member, 60, now=NOW)
        extra = award_stamps(member, 5, now=NOW)

        cancel(member, extra)

        assert len(changes(member)) == 1
        assert level_of(member) == "Silver"
        assert_ledger_consistent()

    def test_spending_records_nothing(self):
        member = MembershipFactory()
        award_stamps(member, 60, now=NOW)

        deduct_stamps(member, 60, now=NOW)

        assert len(changes(member)) == 1
        assert level_of(member) == "Silver"


class TestACancelThatDropsBelowTheLevel:
    def test_records_one_downgrade_naming_the_cancelled_award(self):
        member = MembershipFactory()
        award_stamps(member, 30, now=NOW)
        crossing = award_stamps(member, 30, now=NOW)
        later = NOW + datetime.timedelta(hours=1)

        cancel(member, crossing, now=later)

        assert changes(member) == [
            ("Blue", "Silver", LevelChangeKind.UPGRADE, crossing.pk, NOW),
            ("Silver", "Blue", LevelChangeKind.DOWNGRADE, crossing.pk, later),
        ]
        assert level_of(member) == "Blue"
        assert_ledger_consistent()

    def test_records_a_fall_over_a_level_as_one_downgrade(self):
        member = MembershipFactory()
        award_stamps(member, 10, now=NOW)
        big = award_stamps(member, 150, now=NOW)

        cancel(member, big)

        assert changes(member)[-1][:3] == ("Gold", "Blue", LevelChangeKind.DOWNGRADE)
        assert_ledger_consistent()

    def test_records_the_downgrade_when_stamps_had_been_spent_from_the_lot(self):
        member = MembershipFactory()
        award_stamps(member, 30, now=NOW)
        soon = NOW.date() + datetime.timedelta(days=10)
        crossing = award_stamps(member, 30, expiration_date=soon, now=NOW)
        deduct_stamps(member, 5, now=NOW)  # drawn from the lot expiring first: crossing

        cancel(member, crossing)

        assert changes(member)[-1] == (
            "Silver",
            "Blue",
            LevelChangeKind.DOWNGRADE,
            crossing.pk,
            NOW,
        )
        assert_ledger_consistent()


class TestThresholdsEditedByTheMerchant:
    def test_an_award_after_a_threshold_was_raised_records_a_downgrade(self):
        member = MembershipFactory()
        award_stamps(member, 60, now=NOW)
        Level.objects.filter(merchant=member.merchant, name="Silver").update(
            minimum_qualifying_stamps=100
        )

        award = award_stamps(member, 1, now=NOW)

        assert changes(member)[-1] == ("Silver", "Blue", LevelChangeKind.DOWNGRADE, award.pk, NOW)
        assert level_of(member) == "Blue"
        assert_ledger_consistent()
