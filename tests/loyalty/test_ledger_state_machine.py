"""A model-based test: random sequences of awards, cancels, deductions, redemptions and
their cancels, blocks, expiry sweeps and clock moves, each checked against a plain-Python
model of the ledger's rules, refusals and their order included.

The shop: a merchant in a time zone where the local date is often not UTC's, levels low
enough to cross, two stores, and three rewards: one anyone can have anywhere, one that needs
Silver, has a limited stock and is offered at one store only, and one open only for a few
days. Derandomized, with a fixed budget (STAMPS_MODEL_EXAMPLES, `make mutate` raises it), and
every example in its own transaction."""

import datetime
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
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

from core.db import function_value
from loyalty import services
from loyalty.checks import ledger_mismatches, totals_mismatches
from loyalty.expiry import stamps_expire_due
from loyalty.ledger import SYSTEM
from loyalty.models import Award, Level, LevelChange, LevelChangeKind, Membership
from loyalty.refusals import LedgerRefusal
from redemptions.models import Redemption, Reward
from redemptions.services import AS_CUSTOMER, redemption_cancel, redemption_create
from tests.factories import MembershipFactory, MerchantFactory, RewardFactory, StoreFactory

TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: the local date is UTC's tomorrow most of the day
START = datetime.datetime(2030, 1, 1, 20, 30, tzinfo=datetime.UTC)
THRESHOLDS = {"Blue": 0, "Silver": 15, "Gold": 40}
EXAMPLES = int(os.environ.get("STAMPS_MODEL_EXAMPLES", "120"))


@dataclass
class Lot:
    award_id: int
    member: int
    size: int
    expires: datetime.date
    remaining: int
    status: str = "active"  # active, canceled, expired


@dataclass
class Spend:
    deduction_id: int
    member: int
    draws: dict[int, int]  # lot's award id -> stamps it pays for this spend
    active: bool = True


@dataclass
class RewardSpec:
    cost: int
    level_needed: int = 0
    stock: int | None = None
    stores: tuple[int, ...] = ()  # none: every store
    starts: datetime.datetime | None = None
    ends: datetime.datetime | None = None


@dataclass
class LedgerModel:
    """The ledger's rules, written plainly (docs/ledger.md)."""

    lots: list[Lot] = field(default_factory=list)
    spends: dict[int, Spend] = field(default_factory=dict)
    redemptions: dict[int, tuple[int, int]] = field(default_factory=dict)  # -> (spend, reward)
    blocked: set[int] = field(default_factory=set)
    qualifying: dict[int, int] = field(default_factory=dict)

    def expire(self, member: int | None, today: datetime.date) -> None:
        for lot in self.lots:
            due = lot.status == "active" and lot.remaining and lot.expires < today
            if due and member in (None, lot.member):
                lot.remaining, lot.status = 0, "expired"

    def spendable_lots(self, member: int, today: datetime.date, skip: int | None = None):
        usable = [
            lot
            for lot in self.lots
            if lot.member == member
            and lot.status == "active"
            and lot.remaining
            and lot.expires >= today
            and lot.award_id != skip
        ]
        return sorted(usable, key=lambda lot: (lot.expires, lot.award_id))

    def spendable(self, member: int, today: datetime.date) -> int:
        return sum(lot.remaining for lot in self.spendable_lots(member, today))

    def draw(self, spend: Spend, stamps: int, today: datetime.date, skip: int | None = None):
        for lot in self.spendable_lots(spend.member, today, skip):
            taken = min(lot.remaining, stamps)
            lot.remaining -= taken
            spend.draws[lot.award_id] = spend.draws.get(lot.award_id, 0) + taken
            stamps -= taken
            if not stamps:
                return
        raise AssertionError("the model drew more than the member holds")

    def award_refusal(self, member: int) -> str | None:
        return "membership_blocked" if member in self.blocked else None

    def cancel_refusal(self, lot: Lot, today: datetime.date) -> str | None:
        if lot.status == "canceled":
            return "award_canceled"
        if lot.status == "expired" or lot.expires < today:
            return "award_expired"
        spent = lot.size - lot.remaining
        others = sum(o.remaining for o in self.spendable_lots(lot.member, today, lot.award_id))
        return "award_stamps_spent" if spent > others else None

    def cancel(self, lot: Lot, today: datetime.date) -> None:
        self.expire(lot.member, today)
        for spend_id in sorted(self.spends):
            spend = self.spends[spend_id]
            moved = spend.draws.get(lot.award_id, 0)
            if spend.active and spend.member == lot.member and moved:
                self.draw(spend, moved, today, skip=lot.award_id)
                spend.draws[lot.award_id] = 0
        lot.remaining, lot.status = 0, "canceled"
        self.qualifying[lot.member] -= lot.size

    def spend_refusal(
        self, member: int, stamps: int, today: datetime.date, level: int = 0, stock=None
    ) -> str | None:
        if member in self.blocked:
            return "membership_blocked"
        if self.level_minimum(member) < level:
            return "level_not_reached"
        if self.spendable(member, today) < stamps:
            return "insufficient_stamps"
        if stock is not None and stock <= 0:
            return "out_of_stock"
        return None

    def refund(self, spend: Spend, today: datetime.date) -> None:
        for award_id, stamps in spend.draws.items():
            lot = next(lot for lot in self.lots if lot.award_id == award_id)
            if stamps and lot.status == "active" and lot.expires >= today:
                lot.remaining += stamps
        spend.active = False

    def level_minimum(self, member: int) -> int:
        return max(t for t in THRESHOLDS.values() if t <= self.qualifying[member])

    def balance(self, member: int) -> int:
        return sum(lot.remaining for lot in self.lots if lot.member == member)


class StampsLedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open_shop(self) -> None:
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # rolled back in teardown: each example starts afresh
        self.merchant = MerchantFactory(time_zone=TIME_ZONE)
        for name, threshold in THRESHOLDS.items():
            Level.objects.filter(merchant=self.merchant, name=name).update(
                minimum_qualifying_stamps=threshold
            )
        self.stores = [StoreFactory(merchant=self.merchant).pk for _ in range(2)]
        self.now = START
        silver = Level.objects.get(merchant=self.merchant, name="Silver")
        specs = [
            RewardSpec(cost=3),
            RewardSpec(cost=5, level_needed=15, stock=3, stores=(self.stores[0],)),
            RewardSpec(
                cost=2,
                starts=START + datetime.timedelta(days=2),
                ends=START + datetime.timedelta(days=6),
            ),
        ]
        self.rewards: dict[int, RewardSpec] = {}
        for spec in specs:
            reward = RewardFactory(
                merchant=self.merchant,
                stamps_to_redeem=spec.cost,
                minimum_level=silver if spec.level_needed else None,
                stock=spec.stock,
                starts_at=spec.starts,
                ends_at=spec.ends,
            )
            reward.stores.set(spec.stores)
            self.rewards[reward.pk] = spec
        self.members = [MembershipFactory(merchant=self.merchant).pk for _ in range(2)]
        self.model = LedgerModel(qualifying={member: 0 for member in self.members})

    def teardown(self) -> None:
        if hasattr(self, "atomic"):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    @property
    def today(self) -> datetime.date:
        return self.now.astimezone(ZoneInfo(TIME_ZONE)).date()

    def refusal_of(self, call) -> str | None:
        try:
            call()
        except LedgerRefusal as refusal:
            return refusal.ledger_code
        return None

    @rule(member=st.integers(0, 1), stamps=st.integers(1, 20), valid_days=st.integers(0, 10))
    def award(self, member: int, stamps: int, valid_days: int) -> None:
        member_pk = self.members[member]
        expires = self.today + datetime.timedelta(days=valid_days)
        expected = self.model.award_refusal(member_pk)
        awarded = []

        def call() -> None:
            request = services.AwardRequest(
                user=None, store=self.stores[0], number_of_stamps=stamps, expiration_date=expires
            )
            awarded.append(
                services.award_create(
                    merchant=self.merchant,
                    request=request,
                    now=self.now,
                    actor=SYSTEM,
                    membership_id=member_pk,
                )
            )

        assert self.refusal_of(call) == expected
        if expected is None:
            self.model.expire(member_pk, self.today)
            self.model.lots.append(Lot(awarded[0].id, member_pk, stamps, expires, stamps))
            self.model.qualifying[member_pk] += stamps

    @precondition(lambda self: self.model.lots)
    @rule(pick=st.integers(0, 10_000))
    def cancel(self, pick: int) -> None:
        lot = self.model.lots[pick % len(self.model.lots)]
        expected = self.model.cancel_refusal(lot, self.today)

        refusal = self.refusal_of(
            lambda: services.award_cancel(
                merchant=self.merchant,
                user=None,
                award_id=lot.award_id,
                now=self.now,
                actor=SYSTEM,
                membership_id=lot.member,
            )
        )

        assert refusal == expected
        if expected is None:
            self.model.cancel(lot, self.today)

    @rule(member=st.integers(0, 1), stamps=st.integers(1, 25))
    def deduct(self, member: int, stamps: int) -> None:
        member_pk = self.members[member]
        expected = self.model.spend_refusal(member_pk, stamps, self.today)
        deducted = []

        def call() -> None:
            deducted.append(
                services.stamps_deduct(
                    merchant=self.merchant,
                    user=None,
                    stamps=stamps,
                    notes="model",
                    now=self.now,
                    actor=SYSTEM,
                    membership_id=member_pk,
                )
            )

        assert self.refusal_of(call) == expected
        if expected is None:
            self.spend(member_pk, deducted[0].id, stamps)

    def spend(self, member: int, deduction_id: int, stamps: int) -> None:
        self.model.expire(member, self.today)
        spend = self.model.spends[deduction_id] = Spend(deduction_id, member, {})
        self.model.draw(spend, stamps, self.today)

    def redemption_refusal(self, member: int, reward: RewardSpec, store: int) -> str | None:
        if reward.starts is not None and self.now < reward.starts:
            return "not_yet_available"
        if reward.ends is not None and self.now >= reward.ends:
            return "no_longer_available"
        if reward.stores and store not in reward.stores:
            return "store_not_eligible"
        return self.model.spend_refusal(
            member, reward.cost, self.today, level=reward.level_needed, stock=reward.stock
        )

    @rule(member=st.integers(0, 1), pick=st.integers(0, 2), store=st.integers(0, 1))
    def redeem(self, member: int, pick: int, store: int) -> None:
        member_pk, store_pk = self.members[member], self.stores[store]
        reward_pk = sorted(self.rewards)[pick]
        reward = self.rewards[reward_pk]
        expected = self.redemption_refusal(member_pk, reward, store_pk)
        redeemed = []

        def call() -> None:
            redeemed.append(
                redemption_create(
                    merchant=self.merchant,
                    customer=None,
                    store_id=store_pk,
                    reward_id=reward_pk,
                    now=self.now,
                    actor=SYSTEM,
                    membership_id=member_pk,
                )
            )

        assert self.refusal_of(call) == AS_CUSTOMER.get(expected, expected)  # its field's name
        if expected is None:
            deduction_id = Redemption.objects.get(pk=redeemed[0].id).deduction_id
            self.spend(member_pk, deduction_id, reward.cost)
            self.model.redemptions[redeemed[0].id] = (deduction_id, reward_pk)
            if reward.stock is not None:
                reward.stock -= 1

    @precondition(lambda self: self.model.redemptions)
    @rule(pick=st.integers(0, 10_000))
    def cancel_redemption(self, pick: int) -> None:
        redemption_id = sorted(self.model.redemptions)[pick % len(self.model.redemptions)]
        deduction_id, reward_pk = self.model.redemptions[redemption_id]
        spend = self.model.spends[deduction_id]
        expected = None if spend.active else "redemption_canceled"

        refusal = self.refusal_of(
            lambda: redemption_cancel(
                merchant=self.merchant, redemption_id=redemption_id, now=self.now, actor=SYSTEM
            )
        )

        assert refusal == expected
        if expected is None:
            self.model.expire(spend.member, self.today)
            self.model.refund(spend, self.today)
            reward = self.rewards[reward_pk]
            if reward.stock is not None:
                reward.stock += 1

    @rule(member=st.integers(0, 1))
    def toggle_block(self, member: int) -> None:
        member_pk = self.members[member]
        blocked = member_pk not in self.model.blocked
        Membership.objects.filter(pk=member_pk).update(is_blocked=blocked)
        (self.model.blocked.add if blocked else self.model.blocked.discard)(member_pk)

    @rule()
    def sweep_expired(self) -> None:
        stamps_expire_due(now=self.now)
        self.model.expire(None, self.today)

    @rule(hours=st.integers(1, 60))
    def advance_clock(self, hours: int) -> None:
        self.now += datetime.timedelta(hours=hours)

    @rule(limit=st.integers(1, 50))
    def fold_totals(self, limit: int) -> None:
        """The fold's two steps, in this example's transaction (totals_fold runs them only
        outside one, for the lock's sake)."""
        function_value("stamps_entries_final", [])
        assert function_value("stamps_fold_totals", [limit]) is not None

    @invariant()
    def running_totals_match_the_entries(self) -> None:
        if hasattr(self, "members"):
            assert list(totals_mismatches()) == []

    @invariant()
    def every_lot_and_balance_matches_the_model(self) -> None:
        if not hasattr(self, "members"):
            return
        remaining = dict(
            Award.objects.filter(membership__in=self.members).values_list("pk", "stamps_remaining")
        )
        assert remaining == {lot.award_id: lot.remaining for lot in self.model.lots}
        for member_pk in self.members:
            assert Membership.objects.get(pk=member_pk).stamps == self.model.balance(member_pk)

    @invariant()
    def stock_matches_the_model(self) -> None:
        if not hasattr(self, "rewards"):
            return
        stock = dict(Reward.objects.filter(pk__in=self.rewards).values_list("pk", "stock"))
        assert stock == {pk: spec.stock for pk, spec in self.rewards.items()}

    @invariant()
    def each_level_is_the_one_the_qualifying_stamps_reach(self) -> None:
        if not hasattr(self, "members"):
            return
        for member_pk in self.members:
            member = Membership.objects.select_related("level").get(pk=member_pk)
            assert member.qualifying_stamps == self.model.qualifying[member_pk]
            assert member.level.minimum_qualifying_stamps == self.model.level_minimum(member_pk)

    @invariant()
    def level_changes_chain_to_the_current_level(self) -> None:
        """Each change starts where the previous one ended, the last ends at the member's
        level, and each is an upgrade exactly when it moves to a higher threshold."""
        if not hasattr(self, "members"):
            return
        for member_pk in self.members:
            level = Level.objects.get(merchant=self.merchant, name="Blue").pk
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
            max_examples=EXAMPLES,
            stateful_step_count=30,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
