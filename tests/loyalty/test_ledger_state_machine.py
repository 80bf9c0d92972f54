"""A model-based test: random sequences of awards, cancels, deductions, redemptions,
expiry sweeps and clock moves, checked after every step against a plain-Python model."""

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.errors import DomainError
from loyalty import services
from loyalty.checks import ledger_mismatches
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Level, LevelChange, LevelChangeKind, Membership
from loyalty.refusals import LedgerRefusal
from redemptions.services import redemption_create
from tests.factories import MembershipFactory, MerchantFactory, RewardFactory, StoreFactory

REWARD_COST = 3
LOW_THRESHOLDS = {"Silver": 15, "Gold": 40}


@dataclass
class ModelLot:
    award_id: int
    member: int
    size: int
    expires: datetime.date
    remaining: int
    open: bool = True


@dataclass
class LedgerModel:
    """What each member should hold: lots spent soonest-expiring first; expired lots are
    written off by the sweep or by the member's next change that succeeds (a refused
    request writes nothing, not even the write-off)."""

    lots: list[ModelLot] = field(default_factory=list)

    def expire(self, member: int | None, today: datetime.date) -> None:
        for lot in self.lots:
            if lot.open and lot.expires < today and member in (None, lot.member):
                lot.remaining, lot.open = 0, False

    def spendable(self, member: int, today: datetime.date, skip: int | None = None):
        usable = [
            lot
            for lot in self.lots
            if lot.member == member
            and lot.open
            and lot.remaining
            and lot.expires >= today
            and lot.award_id != skip
        ]
        return sorted(usable, key=lambda lot: (lot.expires, lot.award_id))

    def take(self, member: int, stamps: int, today: datetime.date, skip: int | None = None):
        lots = self.spendable(member, today, skip)
        if sum(lot.remaining for lot in lots) < stamps:
            return False
        self.expire(member, today)
        for lot in lots:
            taken = min(lot.remaining, stamps)
            lot.remaining -= taken
            stamps -= taken
        return True

    def cancel(self, lot: ModelLot, today: datetime.date) -> bool:
        if not lot.open or lot.expires < today:
            return False
        if not self.take(lot.member, lot.size - lot.remaining, today, skip=lot.award_id):
            return False
        lot.remaining, lot.open = 0, False
        return True

    def balance(self, member: int) -> int:
        return sum(lot.remaining for lot in self.lots if lot.member == member and lot.open)


class StampsLedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open_shop(self) -> None:
        self.merchant = MerchantFactory()
        for name, threshold in LOW_THRESHOLDS.items():  # so a few awards cross them
            Level.objects.filter(merchant=self.merchant, name=name).update(
                minimum_qualifying_stamps=threshold
            )
        self.store = StoreFactory(merchant=self.merchant)
        self.reward = RewardFactory(merchant=self.merchant, stamps_to_redeem=REWARD_COST)
        self.members = [MembershipFactory(merchant=self.merchant).pk for _ in range(2)]
        self.lowest_level_id = Membership.objects.get(pk=self.members[0]).level_id
        self.now = timezone.now()
        self.model = LedgerModel()

    @property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)

    @rule(member=st.integers(0, 1), stamps=st.integers(1, 20), valid_days=st.integers(0, 10))
    def award(self, member: int, stamps: int, valid_days: int) -> None:
        member_pk = self.members[member]
        expires = self.today + datetime.timedelta(days=valid_days)
        award = services.award_create(
            merchant=self.merchant,
            request=services.AwardRequest(
                user=None,
                store=self.store.pk,
                number_of_stamps=stamps,
                expiration_date=expires,
            ),
            now=self.now,
            actor=SYSTEM,
            membership_id=member_pk,
        )
        self.model.expire(member_pk, self.today)  # an award always succeeds here
        self.model.lots.append(ModelLot(award.id, member_pk, stamps, expires, stamps))

    @precondition(lambda self: self.model.lots)
    @rule(pick=st.integers(0, 10_000))
    def cancel(self, pick: int) -> None:
        lot = self.model.lots[pick % len(self.model.lots)]
        expected = self.model.cancel(lot, self.today)
        try:
            services.award_cancel(
                merchant=self.merchant,
                user=None,
                award_id=lot.award_id,
                now=self.now,
                actor=SYSTEM,
                membership_id=lot.member,
            )
            cancelled = True
        except DomainError:
            cancelled = False
        assert cancelled == expected

    @rule(member=st.integers(0, 1), stamps=st.integers(1, 25))
    def deduct(self, member: int, stamps: int) -> None:
        member_pk = self.members[member]
        expected = self.model.take(member_pk, stamps, self.today)
        try:
            services.stamps_deduct(
                merchant=self.merchant,
                user=None,
                stamps=stamps,
                notes="model",
                now=self.now,
                actor=SYSTEM,
                membership_id=member_pk,
            )
            deducted = True
        except LedgerRefusal:
            deducted = False
        assert deducted == expected

    @rule(member=st.integers(0, 1))
    def redeem(self, member: int) -> None:
        member_pk = self.members[member]
        expected = self.model.take(member_pk, REWARD_COST, self.today)
        try:
            redemption_create(
                merchant=self.merchant,
                customer=None,
                store_id=self.store.pk,
                reward_id=self.reward.pk,
                now=self.now,
                actor=SYSTEM,
                membership_id=member_pk,
            )
            redeemed = True
        except LedgerRefusal:
            redeemed = False
        assert redeemed == expected

    @rule()
    def sweep_expired(self) -> None:
        stamps_expire_due(now=self.now)
        self.model.expire(None, self.today)

    @rule(days=st.integers(1, 6))
    def advance_clock(self, days: int) -> None:
        self.now += datetime.timedelta(days=days)

    @invariant()
    def balances_match_the_model(self) -> None:
        if not hasattr(self, "members"):
            return
        for member_pk in self.members:
            assert Membership.objects.get(pk=member_pk).stamps == self.model.balance(member_pk)

    @invariant()
    def level_changes_chain_to_the_current_level(self) -> None:
        """Each change starts where the previous one ended, the last ends at the member's
        level, and each is an upgrade exactly when it moves to a higher threshold."""
        if not hasattr(self, "members"):
            return
        for member_pk in self.members:
            level = self.lowest_level_id
            for change in (
                LevelChange.objects.filter(membership=member_pk)
                .select_related("from_level", "to_level")
                .order_by("pk")
            ):
                assert change.from_level_id == level
                rises = (
                    change.to_level.minimum_qualifying_stamps
                    > change.from_level.minimum_qualifying_stamps
                )
                assert (change.kind == LevelChangeKind.UPGRADE) == rises
                level = change.to_level_id
            assert Membership.objects.get(pk=member_pk).level_id == level

    @invariant()
    def ledger_check_passes(self) -> None:
        assert list(ledger_mismatches()) == []


@pytest.mark.django_db
def test_the_ledger_behaves_like_its_model():
    run_state_machine_as_test(
        StampsLedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
