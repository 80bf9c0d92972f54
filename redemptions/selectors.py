"""Reads about rewards: which a merchant offers now, and which a member could redeem.

The rules mirror the checks `redemptions.services.redemption_create` makes, so a reward
listed as redeemable is one the till can redeem."""

from datetime import datetime

from django.db.models import Prefetch, Q

from loyalty.models import Membership, Merchant, Store
from loyalty.selectors import Activity, ActivityType, ActivityWindow, store_brief
from redemptions.models import Redemption, RedemptionStatus, Reward


def reward_window_q(now: datetime) -> Q:
    """Open at `now`: started (or no start) and not yet ended (or no end); ends_at excluded."""
    started = Q(starts_at__isnull=True) | Q(starts_at__lte=now)
    not_ended = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    return started & not_ended


def rewards_offered(*, merchant: Merchant, now: datetime) -> list[Reward]:
    """Active rewards inside their window, cheapest first, hidden ones included (they carry
    `is_visible` for the till to decide)."""
    return list(
        Reward.objects.filter(reward_window_q(now), merchant=merchant, is_active=True)
        .select_related("minimum_level")
        .prefetch_related(Prefetch("stores", queryset=Store.objects.only("pk")))
        .order_by("stamps_to_redeem", "id")
    )


def reward_offered_at(reward: Reward, store: Store) -> bool:
    stores = reward.stores.all()  # prefetched by rewards_offered
    return not stores or any(offered.pk == store.pk for offered in stores)


def reward_level_reached(reward: Reward, membership: Membership) -> bool:
    minimum = reward.minimum_level
    return (
        minimum is None
        or membership.level.minimum_qualifying_stamps >= minimum.minimum_qualifying_stamps
    )


def reward_redeemable(
    reward: Reward, *, membership: Membership, spendable_stamps: int, store: Store
) -> bool:
    return (
        not membership.is_blocked
        and spendable_stamps >= reward.stamps_to_redeem
        and reward_level_reached(reward, membership)
        and reward_offered_at(reward, store)
        and (reward.stock is None or reward.stock > 0)
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
