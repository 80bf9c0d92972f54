"""Membership levels are reached by qualifying stamps (earned less cancelled awards);
spending never lowers a level."""

from loyalty.models import Level, Membership

DEFAULT_LEVEL = {"number": 100, "name": "Blue", "minimum_qualifying_stamps": 0}


def level_for(*, merchant_id: int, qualifying_stamps: int) -> Level:
    levels = list(
        Level.objects.filter(merchant_id=merchant_id).order_by("minimum_qualifying_stamps")
    )
    if not levels:
        level, _ = Level.objects.get_or_create(merchant_id=merchant_id, **DEFAULT_LEVEL)
        return level
    reached = [level for level in levels if level.minimum_qualifying_stamps <= qualifying_stamps]
    return reached[-1] if reached else levels[0]


def membership_level_refresh(membership: Membership) -> None:
    membership.level = level_for(
        merchant_id=membership.merchant_id, qualifying_stamps=membership.qualifying_stamps
    )
