"""Reads about rewards: which a merchant offers now, and which a member could redeem, by the
ledger's own rules (loyalty/sql: the reward's window and stores, the member's standing), so a
reward listed as redeemable is one a till can redeem."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, F, Func, Q, Value
from django.db.models.functions import Coalesce

from core.errors import DomainError
from loyalty.models import Channel, Level, Membership, Merchant, Store
from loyalty.selectors import (
    Activity,
    ActivityType,
    ActivityWindow,
    activity_status,
    merchant_brief,
    of_type,
    store_brief,
)
from redemptions.models import Redemption, RedemptionStatus, Reward


class RefusalFunc(Func):
    output_field = CharField()


class RewardWindowRefusal(RefusalFunc):
    function = "stamps_reward_window_refusal"


class RewardStoreRefusal(RefusalFunc):
    function = "stamps_reward_store_refusal"


class MemberRefusal(RefusalFunc):
    function = "stamps_member_refusal"


@dataclass(frozen=True)
class Standing:
    """A member asking, at a store: what decides which rewards they could redeem."""

    membership: Membership
    spendable_stamps: int
    store: Store


@dataclass(frozen=True)
class RewardPage:
    """Which of the offered rewards a listing wants: those after `after` (a reward id) in
    the listing's order, at most `size` (all when None), only those offered at `store`."""

    after: int | None = None
    size: int | None = None
    store: Store | None = None


def rewards_offered(
    *,
    merchant: Merchant,
    now: datetime,
    standing: Standing | None = None,
    page: RewardPage = RewardPage(),
) -> list[Reward]:
    """Active rewards inside their window, cheapest first, hidden ones included (they carry
    `is_visible` for the till to decide). With a `standing`, each carries `refusal`: what a
    redemption by that member at that store would be refused for after the window
    (stamps_redeem's checks), None when it would go through."""
    rewards = (
        Reward.objects.filter(merchant=merchant, is_active=True)
        .alias(window_refusal=RewardWindowRefusal("starts_at", "ends_at", Value(now)))
        .filter(window_refusal__isnull=True)
        .select_related("minimum_level")
        .order_by("stamps_to_redeem", "id")
    )
    if page.store is not None:
        rewards = rewards.alias(
            store_refusal=RewardStoreRefusal("id", Value(page.store.pk))
        ).filter(store_refusal__isnull=True)
    if page.after is not None:
        rewards = rewards.filter(listed_after(merchant, page.after))
    if standing is not None:
        rewards = rewards.annotate(refusal=redemption_refusal(standing))
    return list(rewards[: page.size] if page.size is not None else rewards)


class UnknownLastReward(DomainError):
    message = "Not a reward of this merchant"
    field = "last_reward_id"


def listed_after(merchant: Merchant, reward_id: int) -> Q:
    """The rewards after `reward_id` in the listing's order (it may since have left it)."""
    last = Reward.objects.filter(merchant=merchant, pk=reward_id).values("stamps_to_redeem").first()
    if last is None:
        raise UnknownLastReward()
    cost = last["stamps_to_redeem"]
    return Q(stamps_to_redeem__gt=cost) | Q(stamps_to_redeem=cost, pk__gt=reward_id)


def lowest_level_name(merchant: Merchant) -> str:
    """The level every member has: what a reward without a minimum level names."""
    level = Level.objects.filter(merchant=merchant).order_by("minimum_qualifying_stamps").first()
    return level.name if level is not None else ""


def redemption_refusal(standing: Standing) -> Coalesce:
    membership = standing.membership
    return Coalesce(
        RewardStoreRefusal("id", Value(standing.store.pk)),
        MemberRefusal(
            Value(membership.is_blocked),
            Value(membership.level.minimum_qualifying_stamps),
            Coalesce("minimum_level__minimum_qualifying_stamps", Value(0)),
            Value(standing.spendable_stamps),
            F("stamps_to_redeem"),
            F("stock"),
        ),
    )


def redemption_activities(membership: Membership, window: ActivityWindow) -> list[Activity]:
    redemptions = window.apply(
        Redemption.objects.filter(membership=membership).select_related("reward", "store"),
        of_type(ActivityType.REDEMPTION),
    )
    merchant = merchant_brief(membership.merchant)
    return [
        Activity(
            id=redemption.activity_id,
            type=ActivityType.REDEMPTION,
            created_at=redemption.created_at,
            body={
                "notes": "",
                "merchant": merchant,
                "store": store_brief(redemption.store),
                "redemption": {
                    "stamps": redemption.stamps_used,
                    "name": redemption.reward.name,
                    "status": activity_status(redemption.status == RedemptionStatus.CANCELED),
                    "channel": Channel(redemption.channel).label,
                },
            },
        )
        for redemption in redemptions
    ]
