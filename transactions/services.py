"""Purchases: stamps earned at the merchant's rate, and undone with the purchase. Each is
one call of a ledger function (stamps_purchase, stamps_purchase_cancel)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from psycopg.types.json import Jsonb

from loyalty.ledger import MEMBER_COLUMNS, Actor, MemberAfter, ledger_write, merchant_date
from loyalty.models import Merchant
from loyalty.services import award_default_expiration

RECORDED = f"{MEMBER_COLUMNS}, transaction_id, stamps_earned, award_id"


@dataclass(frozen=True)
class Purchase:
    store: int
    invoice_number: str
    total_value: Decimal
    number_of_people: int
    created: datetime
    user: str | None = None
    stamps: int | None = None
    subtotal: Decimal | None = None
    discount: Decimal | None = None
    service_charge: Decimal | None = None
    tax: Decimal | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


class Recorded(NamedTuple):
    id: int
    total_value: Decimal
    stamps_earned: int
    membership_id: int | None
    member: MemberAfter | None  # None when nothing was written for the member


def transaction_create(
    *, merchant: Merchant, purchase: Purchase, now: datetime, actor: Actor
) -> Recorded:
    """Records a purchase; a member named by `user` earns `stamps`, or its total value at
    the merchant's rate. An invoice number is used once per store and (the merchant's) day:
    a retried till cannot earn twice."""
    today = merchant_date(merchant, now)
    row = ledger_write(
        "stamps_purchase",
        [
            merchant.pk,
            purchase.store,
            purchase.user or None,
            purchase.invoice_number,
            merchant_date(merchant, purchase.created),
            purchase.total_value,
            purchase.subtotal,
            purchase.discount,
            purchase.service_charge,
            purchase.tax,
            purchase.number_of_people,
            Jsonb(purchase.items),
            purchase.stamps,
            merchant.transaction_value_per_stamp,
            merchant.max_stamps_per_award,
            award_default_expiration(merchant, today),
            purchase.created,
            today,
            now,
            actor.token_id,
        ],
        RECORDED,
    )
    member_id, *_, transaction_id, stamps_earned, award_id = row
    return Recorded(
        id=transaction_id,
        total_value=purchase.total_value,
        stamps_earned=stamps_earned,
        membership_id=member_id,
        member=MemberAfter(*row[:5]) if award_id else None,
    )


class PurchaseCanceled(NamedTuple):
    id: int
    total_value: Decimal
    stamps_earned: int
    membership_id: int | None


def transaction_cancel(
    *,
    merchant: Merchant,
    transaction_id: int,
    cancel_related_redemptions: bool,
    now: datetime,
    actor: Actor,
    reason: str = "",
) -> PurchaseCanceled:
    """Undoes a purchase and the stamps it earned (refused when the member no longer holds
    them), after its member's redemptions with the same invoice number when asked."""
    membership_id, stamps_earned, total_value = ledger_write(
        "stamps_purchase_cancel",
        [
            merchant.pk,
            transaction_id,
            cancel_related_redemptions,
            merchant_date(merchant, now),
            now,
            actor.token_id,
            actor.staff_id,
            reason,
        ],
        "m_id, stamps_earned, total_value",
    )
    return PurchaseCanceled(
        id=transaction_id,
        total_value=total_value,
        stamps_earned=stamps_earned,
        membership_id=membership_id,
    )
