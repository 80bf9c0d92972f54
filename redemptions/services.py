"""Redeeming rewards and cancelling redemptions, each one call of a ledger function."""

from datetime import datetime
from typing import NamedTuple

from loyalty.ledger import (
    MEMBER_COLUMNS,
    Actor,
    MemberAfter,
    ledger_write,
    member_after,
    merchant_date,
)
from loyalty.models import Merchant

# The redemption endpoints name the member `customer`.
AS_CUSTOMER = {"user_not_found": "customer_not_found", "membership_blocked": "customer_blocked"}
REDEEMED = f"{MEMBER_COLUMNS}, redemption_id, reward_name, stamps_used"


class Redeemed(NamedTuple):
    id: int
    reward_name: str
    stamps_used: int
    member: MemberAfter


def redemption_create(
    *,
    merchant: Merchant,
    customer: str | None,
    store_id: int,
    reward_id: int,
    now: datetime,
    actor: Actor,
    invoice_number: str = "",
    membership_id: int | None = None,
) -> Redeemed:
    """The store, the reward (active, in its window, offered at the store) and the member
    (not blocked, the reward's level reached, enough stamps, stock left) are checked in
    that order, then the reward's price is spent from the soonest-expiring lots."""
    row = ledger_write(
        "stamps_redeem",
        [
            merchant.pk,
            membership_id,
            customer,
            store_id,
            reward_id,
            invoice_number,
            merchant_date(merchant, now),
            now,
            actor.token_id,
            actor.staff_id,
        ],
        REDEEMED,
        renamed=AS_CUSTOMER,
    )
    return Redeemed(id=row[5], reward_name=row[6], stamps_used=row[7], member=member_after(row))


class RedemptionCanceled(NamedTuple):
    id: int
    member: MemberAfter


def redemption_cancel(
    *, merchant: Merchant, redemption_id: int, now: datetime, actor: Actor, reason: str = ""
) -> RedemptionCanceled:
    """Gives the stamps back to the lots they came from (those still spendable) and the
    reward back to a limited stock."""
    row = ledger_write(
        "stamps_redemption_cancel",
        [
            merchant.pk,
            redemption_id,
            merchant_date(merchant, now),
            now,
            actor.token_id,
            actor.staff_id,
            reason,
        ],
        MEMBER_COLUMNS,
    )
    return RedemptionCanceled(id=redemption_id, member=member_after(row))
