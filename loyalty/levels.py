"""Membership levels are reached by qualifying stamps (earned less cancelled awards);
spending never lowers a level. Every move between levels is recorded as a LevelChange."""

from datetime import datetime

from loyalty.models import Award, Level, LevelChange, LevelChangeKind, Membership

DEFAULT_LEVEL = {"number": 100, "name": "Blue", "minimum_qualifying_stamps": 0}


def merchant_levels(merchant_id: int) -> list[Level]:
    """The merchant's levels from lowest to highest; a merchant with none gets the default."""
    levels = list(
        Level.objects.filter(merchant_id=merchant_id).order_by("minimum_qualifying_stamps")
    )
    if not levels:
        level, _ = Level.objects.get_or_create(merchant_id=merchant_id, **DEFAULT_LEVEL)
        return [level]
    return levels


def level_reached(levels: list[Level], qualifying_stamps: int) -> Level:
    reached = [level for level in levels if level.minimum_qualifying_stamps <= qualifying_stamps]
    return reached[-1] if reached else levels[0]


def level_for(*, merchant_id: int, qualifying_stamps: int) -> Level:
    return level_reached(merchant_levels(merchant_id), qualifying_stamps)


def membership_level_refresh(membership: Membership, *, award: Award, now: datetime) -> None:
    """Moves a member the caller has locked to the level their qualifying stamps reach, and
    records the move when there is one; `award` is the grant or cancellation behind it."""
    levels = merchant_levels(membership.merchant_id)
    reached = level_reached(levels, membership.qualifying_stamps)
    if reached.pk != membership.level_id:
        previous = next(level for level in levels if level.pk == membership.level_id)
        LevelChange.objects.create(
            membership=membership,
            from_level=previous,
            to_level=reached,
            kind=(
                LevelChangeKind.UPGRADE
                if reached.minimum_qualifying_stamps > previous.minimum_qualifying_stamps
                else LevelChangeKind.DOWNGRADE
            ),
            award=award,
            created_at=now,
        )
    membership.level = reached
