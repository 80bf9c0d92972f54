"""Reads about rewards: which a merchant offers now, and which a member could redeem, by the
ledger's own rules (loyalty/sql: the reward's window and stores, the member's standing), so a
reward listed as redeemable is one a till can redeem."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Coalesce

from loyalty.models import Membership, Merchant, Store
from loyalty.selectors import Activity, ActivityType, ActivityWindow, store_brief
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


def rewards_offered(
    *, merchant: Merchant, now: datetime, standing: Standing | None = None
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
    if standing is not None:
        rewards = rewards.annotate(refusal=redemption_refusal(standing))
    return list(rewards)


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
        Redemption.objects.filter(membership=membership).select_related("reward", "store")
    )
    return [
        Activity(
            type=ActivityType.REDEMPTION,
            id=redemption.pk,
            stamps=redemption.stamps_used,
            created_at=redemption.created_at,
            details={
                "redemption": {
                    "reward": redemption.reward.name,
                    "reward_id": redemption.reward_id,
                    "stamps": redemption.stamps_used,
                    "status": redemption.status,
                    "status_text": RedemptionStatus(redemption.status).label,
                },
                "store": store_brief(redemption.store),
            },
        )
        for redemption in redemptions
    ]
