"""The ledger through its services, with `now` passed in to move time."""

import datetime

import pytest

from loyalty import services
from loyalty.checks import ledger_mismatches
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Award, AwardStatus, EntryKind, LedgerEntry, Membership, StampsDeduction
from loyalty.refusals import LedgerRefusal
from redemptions.services import redemption_create
from tests.factories import (
    MembershipFactory,
    RewardFactory,
    StoreFactory,
    award_stamps,
    deduct_stamps,
)

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def lot(member, stamps, *, expires_in, now=NOW):
    return award_stamps(member, stamps, expiration_date=now.date() + days(expires_in), now=now)


def remaining(*awards):
    return tuple(Award.objects.get(pk=award.pk).stamps_remaining for award in awards)


def entries(**filters):
    return list(
        LedgerEntry.objects.filter(**filters).order_by("pk").values_list("award", "kind", "delta")
    )


def cancel(member, award, *, now=NOW):
    services.award_cancel(
        merchant=member.merchant,
        user=None,
        award_id=award.pk,
        now=now,
        actor=SYSTEM,
        membership_id=member.pk,
    )
    return Award.objects.get(pk=award.pk)


def refused(code):
    """The block must raise the ledger's refusal `code` (loyalty/refusals.py)."""
    return pytest.raises(LedgerRefusal, check=lambda refusal: refusal.ledger_code == code)


def balance(member):
    return Membership.objects.get(pk=member.pk).stamps


def assert_ledger_consistent():
    assert [str(mismatch) for mismatch in ledger_mismatches()] == []


@pytest.mark.django_db
class TestSpendingDrawsSoonestExpiringLotsFirst:
    def test_draws_from_the_lot_that_expires_first_whatever_the_order_they_were_given(self):
        member = MembershipFactory()
        late = lot(member, 10, expires_in=90)
        soon = lot(member, 4, expires_in=10)
        middle = lot(member, 6, expires_in=30)

        deduction = deduct_stamps(member, 7, now=NOW)

        assert remaining(soon, middle, late) == (0, 3, 10)
        assert entries(deduction=deduction) == [
            (soon.pk, EntryKind.SPEND, -4),
            (middle.pk, EntryKind.SPEND, -3),
        ]
        assert balance(member) == 13
        assert_ledger_consistent()

    def test_leaves_later_lots_untouched_when_the_first_lot_suffices(self):
        member = MembershipFactory()
        late = lot(member, 10, expires_in=90)
        soon = lot(member, 10, expires_in=10)

        deduct_stamps(member, 10, now=NOW)

        assert remaining(soon, late) == (0, 10)
        assert_ledger_consistent()

    def test_draws_the_older_of_two_lots_that_expire_on_the_same_day_first(self):
        member = MembershipFactory()
        older = lot(member, 5, expires_in=30)
        newer = lot(member, 5, expires_in=30)

        deduct_stamps(member, 6, now=NOW)

        assert remaining(older, newer) == (0, 4)
        assert_ledger_consistent()

    def test_moves_on_to_the_next_lot_across_successive_spends(self):
        member = MembershipFactory()
        soon = lot(member, 3, expires_in=5)
        late = lot(member, 3, expires_in=50)

        first = deduct_stamps(member, 2, now=NOW)
        second = deduct_stamps(member, 2, now=NOW)

        assert entries(deduction=first) == [(soon.pk, EntryKind.SPEND, -2)]
        assert entries(deduction=second) == [
            (soon.pk, EntryKind.SPEND, -1),
            (late.pk, EntryKind.SPEND, -1),
        ]
        assert remaining(soon, late) == (0, 2)
        assert_ledger_consistent()

    def test_refuses_more_than_the_member_holds_and_writes_nothing(self):
        member = MembershipFactory()
        only = lot(member, 5, expires_in=10)

        with refused("insufficient_stamps"):
            deduct_stamps(member, 6, now=NOW)

        assert remaining(only) == (5,)
        assert not StampsDeduction.objects.exists()
        assert balance(member) == 5
        assert_ledger_consistent()

    def test_spending_never_lowers_qualifying_stamps_or_the_level(self):
        member = MembershipFactory()
        lot(member, 60, expires_in=10)

        deduct_stamps(member, 60, now=NOW)

        member = Membership.objects.get(pk=member.pk)
        assert (member.stamps, member.qualifying_stamps, member.level.name) == (0, 60, "Silver")
        assert_ledger_consistent()

    def test_a_redemption_spends_through_the_same_lots(self):
        member = MembershipFactory()
        late = lot(member, 10, expires_in=90)
        soon = lot(member, 10, expires_in=10)

        store = StoreFactory(merchant=member.merchant)
        reward = RewardFactory(merchant=member.merchant, stamps_to_redeem=12)

        redemption_create(
            merchant=member.merchant,
            customer=member.email,
            store_id=store.pk,
            reward_id=reward.pk,
            now=NOW,
            actor=SYSTEM,
        )

        assert remaining(soon, late) == (0, 8)
        assert_ledger_consistent()


@pytest.mark.django_db
class TestCancelingAPartlySpentAward:
    def test_redraws_the_spent_stamps_from_the_members_other_lots(self):
        member = MembershipFactory()
        soon = lot(member, 10, expires_in=10)
        other = lot(member, 10, expires_in=60)
        deduction = deduct_stamps(member, 4, now=NOW)

        cancel(member, soon)

        assert entries(deduction=deduction) == [
            (soon.pk, EntryKind.SPEND, -4),
            (other.pk, EntryKind.REDRAW, -4),
            (soon.pk, EntryKind.REDRAW, 4),
        ]
        assert entries(award=soon)[-1] == (soon.pk, EntryKind.AWARD_CANCEL, -10)
        assert remaining(soon, other) == (0, 6)
        assert balance(member) == 6
        assert_ledger_consistent()

    def test_keeps_the_deduction_fully_paid_from_lots_still_standing(self):
        member = MembershipFactory()
        soon = lot(member, 10, expires_in=10)
        lot(member, 10, expires_in=60)
        deduction = deduct_stamps(member, 7, now=NOW)

        cancel(member, soon)

        on_canceled = LedgerEntry.objects.filter(deduction=deduction, award=soon)
        elsewhere = LedgerEntry.objects.filter(deduction=deduction).exclude(award=soon)
        assert sum(entry.delta for entry in on_canceled) == 0
        assert -sum(entry.delta for entry in elsewhere) == deduction.stamps
        assert_ledger_consistent()

    def test_redraws_from_the_soonest_expiring_of_the_other_lots(self):
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=5)
        late = lot(member, 10, expires_in=90)
        soon = lot(member, 3, expires_in=20)
        deduct_stamps(member, 5, now=NOW)

        cancel(member, canceled)

        assert remaining(soon, late) == (0, 8)
        assert_ledger_consistent()

    def test_redraws_each_deduction_that_drew_on_the_lot(self):
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=5)
        other = lot(member, 20, expires_in=90)
        first = deduct_stamps(member, 3, now=NOW)
        second = deduct_stamps(member, 4, now=NOW)

        cancel(member, canceled)

        for deduction in (first, second):
            redrawn = LedgerEntry.objects.get(
                deduction=deduction, award=other, kind=EntryKind.REDRAW
            )
            assert redrawn.delta == -deduction.stamps
        assert remaining(other) == (13,)
        assert balance(member) == 13
        assert_ledger_consistent()

    def test_a_fully_spent_award_can_be_canceled_when_other_lots_cover_it(self):
        member = MembershipFactory()
        canceled = lot(member, 5, expires_in=5)
        other = lot(member, 10, expires_in=90)
        deduct_stamps(member, 5, now=NOW)

        award = cancel(member, canceled)

        assert award.status == AwardStatus.CANCELED
        assert remaining(canceled, other) == (0, 5)
        assert balance(member) == 5
        assert_ledger_consistent()

    def test_redrawn_stamps_move_again_when_their_new_lot_is_canceled_too(self):
        member = MembershipFactory()
        first = lot(member, 10, expires_in=5)
        second = lot(member, 10, expires_in=30)
        third = lot(member, 10, expires_in=90)
        deduction = deduct_stamps(member, 5, now=NOW)

        cancel(member, first)
        cancel(member, second)

        assert remaining(first, second, third) == (0, 0, 5)
        assert balance(member) == 5
        net = {}
        for award_id, _, delta in entries(deduction=deduction):
            net[award_id] = net.get(award_id, 0) + delta
        assert net == {first.pk: 0, second.pk: 0, third.pk: -5}
        assert_ledger_consistent()

    def test_refuses_with_insufficient_stamps_when_the_member_no_longer_holds_them(self):
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=5)
        other = lot(member, 3, expires_in=90)
        deduct_stamps(member, 8, now=NOW)
        entries_before = LedgerEntry.objects.count()

        with refused("award_stamps_spent") as refusal:
            cancel(member, canceled)

        assert refusal.value.code == "insufficient_stamps"
        assert Award.objects.get(pk=canceled.pk).status == AwardStatus.ACTIVE
        assert remaining(canceled, other) == (2, 3)
        assert LedgerEntry.objects.count() == entries_before
        assert Membership.objects.get(pk=member.pk).qualifying_stamps == 13
        assert balance(member) == 5
        assert_ledger_consistent()

    def test_refuses_when_the_only_other_stamps_have_expired(self):
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=60)
        deduct_stamps(member, 4, now=NOW)
        expiring = lot(member, 20, expires_in=3)

        with refused("award_stamps_spent"):
            cancel(member, canceled, now=NOW + days(10))

        assert Award.objects.get(pk=canceled.pk).status == AwardStatus.ACTIVE
        assert remaining(canceled, expiring) == (6, 20)
        assert not LedgerEntry.objects.filter(kind=EntryKind.REDRAW).exists()
        assert_ledger_consistent()

    def test_an_unspent_award_is_canceled_without_any_redraw(self):
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=5)
        spent_from = lot(member, 10, expires_in=1)
        deduct_stamps(member, 4, now=NOW)

        cancel(member, canceled)

        assert not LedgerEntry.objects.filter(kind=EntryKind.REDRAW).exists()
        assert remaining(spent_from) == (6,)
        assert balance(member) == 6
        assert_ledger_consistent()

    def test_a_blocked_members_award_can_still_be_canceled(self):
        # blocking stops a member earning and spending, not a till undoing a mistake
        member = MembershipFactory()
        canceled = lot(member, 10, expires_in=5)
        Membership.objects.filter(pk=member.pk).update(is_blocked=True)

        award = cancel(member, canceled)

        assert award.status == AwardStatus.CANCELED
        assert Membership.objects.get(pk=member.pk).is_blocked is True
        assert balance(member) == 0

    def test_cancel_lowers_qualifying_stamps_and_the_level_they_reached(self):
        member = MembershipFactory()
        lot(member, 30, expires_in=30)
        canceled = lot(member, 30, expires_in=30)
        assert Membership.objects.get(pk=member.pk).level.name == "Silver"

        cancel(member, canceled)

        member = Membership.objects.get(pk=member.pk)
        assert (member.qualifying_stamps, member.level.name) == (30, "Blue")
        assert_ledger_consistent()


@pytest.mark.django_db
class TestExpiredLots:
    def test_a_lot_is_still_spendable_on_its_expiration_date(self):
        member = MembershipFactory()
        lot(member, 5, expires_in=10)

        deduct_stamps(member, 5, now=NOW + days(10))

        assert balance(member) == 0
        assert not LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).exists()
        assert_ledger_consistent()

    def test_a_lot_cannot_be_spent_the_day_after_its_expiration_date(self):
        member = MembershipFactory()
        expiring = lot(member, 5, expires_in=10)

        with refused("insufficient_stamps"):
            deduct_stamps(member, 1, now=NOW + days(11))

        assert remaining(expiring) == (5,)
        assert not StampsDeduction.objects.exists()
        assert_ledger_consistent()

    def test_spending_skips_an_expired_lot_and_records_its_expiry(self):
        member = MembershipFactory()
        expired = lot(member, 20, expires_in=3)
        valid = lot(member, 5, expires_in=90)

        deduction = deduct_stamps(member, 5, now=NOW + days(10))

        assert entries(deduction=deduction) == [(valid.pk, EntryKind.SPEND, -5)]
        assert entries(kind=EntryKind.EXPIRY) == [(expired.pk, EntryKind.EXPIRY, -20)]
        assert Award.objects.get(pk=expired.pk).status == AwardStatus.EXPIRED
        assert remaining(expired, valid) == (0, 0)
        assert balance(member) == 0
        assert_ledger_consistent()

    def test_refuses_to_spend_stamps_that_exist_only_in_expired_lots(self):
        member = MembershipFactory()
        expired = lot(member, 20, expires_in=3)
        lot(member, 5, expires_in=90)

        with refused("insufficient_stamps"):
            deduct_stamps(member, 6, now=NOW + days(10))

        assert Award.objects.get(pk=expired.pk).status == AwardStatus.ACTIVE
        assert not StampsDeduction.objects.exists()
        assert_ledger_consistent()

    def test_expires_only_what_is_left_of_a_partly_spent_lot(self):
        member = MembershipFactory()
        partly_spent = lot(member, 10, expires_in=3)
        deduct_stamps(member, 4, now=NOW)

        award_stamps(member, 1, now=NOW + days(5))

        assert entries(kind=EntryKind.EXPIRY) == [(partly_spent.pk, EntryKind.EXPIRY, -6)]
        assert balance(member) == 1
        assert_ledger_consistent()

    def test_a_new_award_reports_a_balance_without_the_expired_stamps(self):
        member = MembershipFactory()
        lot(member, 20, expires_in=3)
        lot(member, 7, expires_in=90)

        store = StoreFactory(merchant=member.merchant)
        request = services.AwardRequest(user=member.email, store=store.pk, number_of_stamps=2)

        awarded = services.award_create(
            merchant=member.merchant, request=request, now=NOW + days(4), actor=SYSTEM
        )

        assert awarded.member.stamps == 9
        assert balance(member) == 9
        assert_ledger_consistent()

    def test_expiry_keeps_the_qualifying_stamps_and_the_level(self):
        member = MembershipFactory()
        lot(member, 60, expires_in=3)

        award_stamps(member, 1, now=NOW + days(5))

        member = Membership.objects.get(pk=member.pk)
        assert (member.stamps, member.qualifying_stamps, member.level.name) == (1, 61, "Silver")
        assert_ledger_consistent()

    def test_the_expiry_day_follows_the_merchants_time_zone(self):
        member = MembershipFactory(merchant__time_zone="Asia/Jakarta")
        lot(member, 5, expires_in=10)
        evening_in_utc = datetime.datetime.combine(
            TODAY + days(10), datetime.time(20, 0), tzinfo=datetime.UTC
        )

        with refused("insufficient_stamps"):
            deduct_stamps(member, 1, now=evening_in_utc)

        deduct_stamps(member, 1, now=evening_in_utc - datetime.timedelta(hours=4))
        assert balance(member) == 4
        assert_ledger_consistent()

    def test_the_expiry_sweep_reports_how_many_stamps_it_expired(self):
        member = MembershipFactory()
        lot(member, 4, expires_in=1)
        lot(member, 6, expires_in=2)
        lot(member, 9, expires_in=30)

        expired = stamps_expire_due(now=NOW + days(3))

        assert expired == 10
        assert balance(member) == 9
        assert Award.objects.filter(status=AwardStatus.EXPIRED).count() == 2
        assert_ledger_consistent()

    def test_an_expired_award_cannot_be_canceled(self):
        member = MembershipFactory()
        expired = lot(member, 10, expires_in=3)

        with refused("award_expired"):
            cancel(member, expired, now=NOW + days(4))

        assert Award.objects.get(pk=expired.pk).status == AwardStatus.ACTIVE
        assert_ledger_consistent()

    def test_an_award_cannot_be_given_an_expiration_date_in_the_past(self):
        member = MembershipFactory()

        with refused("expiration_in_past"):
            lot(member, 10, expires_in=-1)

        assert not Award.objects.exists()
        assert_ledger_consistent()
