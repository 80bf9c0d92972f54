"""Membership levels are reached by qualifying stamps (earned less cancelled awards);
spending never lowers a level. The ledger moves members between levels and records each
move (loyalty.models.LevelChange); the rule is stamps_level_reached (loyalty/sql)."""

from django.db.models.expressions import RawSQL

from loyalty.models import Level, Merchant

DEFAULT_LEVEL = {"number": 100, "name": "Blue", "minimum_qualifying_stamps": 0}


def level_for(*, merchant: Merchant, qualifying_stamps: int) -> Level:
    """The level `qualifying_stamps` reach; a merchant with no levels gets the default one."""
    reached = RawSQL(
        "(SELECT id FROM stamps_level_reached(%s, %s))", [merchant.pk, qualifying_stamps]
    )
    level = Level.objects.filter(pk=reached).first()
    if level is None:
        level, _ = Level.objects.get_or_create(merchant=merchant, **DEFAULT_LEVEL)
    return level
