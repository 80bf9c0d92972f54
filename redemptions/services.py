from datetime import datetime

from django.db import transaction
from django.db.models import F

from loyalty import ledger, pg_ledger
from loyalty.lock_objects import membership_qs_for_update
from loyalty.members import UserNotFound, membership_lock
from loyalty.models import (
    DeductionPurpose,
    DeductionStatus,
    Membership,
    Merchant,
    StampsDeduction,
    Store,
)
from loyalty.services import stamps_spend, store_get
from redemptions.models import Redemption, RedemptionStatus, Reward
from stamps_server.errors import DomainError, NotFound

OUT_OF_STOCK = "This reward is out of stock"
NOT_YET = "This reward is not available yet"
NO_LONGER = "This reward is no longer available"
NOT_AT_STORE = "This reward cannot be redeemed at this store"
# The PostgreSQL ledger's refusal codes (loyalty/sql/ledger.sql, stamps_redeem)
REFUSALS = {
    "not_yet_available": NOT_YET,
    "no_longer_available": NO_LONGER,
    "store_not_eligible": NOT_AT_STORE,
    "out_of_stock": OUT_OF_STOCK,
}


class InvalidReward(DomainError):
    code = "invalid_reward"
    message = "Invalid reward"
    field = "reward"


class RewardNotRedeemable(DomainError):
    code = "invalid_redemption"
    field = "reward"


def reward_get(*, merchant: Merchant, reward_id: int) -> Reward:
    reward = (
        Reward.objects.select_related("minimum_level")
        .filter(pk=reward_id, merchant=merchant, is_active=True)
        .first()
    )
    if reward is None:
        raise InvalidReward()
    return reward


def redemption_create(
    *,
    merchant: Merchant,
    customer: str,
    store_id: int,
    reward_id: int,
    now: datetime,
    invoice_number: str = "",
) -> Redemption:
    if pg_ledger.available():
        return redemption_create_in_postgres(
            merchant=merchant,
            customer=customer,
            store_id=store_id,
            reward_id=reward_id,
            now=now,
            invoice_number=invoice_number,
        )
    store = store_get(merchant=merchant, store_id=store_id)
    reward = reward_get(merchant=merchant, reward_id=reward_id)
    ensure_within_window(reward, now)
    ensure_redeemable_at(reward, store)
    with transaction.atomic():
        membership = customer_lock(merchant=merchant, customer=customer)
        ensure_level_reached(reward, membership)
        deduction = stamps_spend(
            membership=membership,
            stamps=reward.stamps_to_redeem,
            notes=redemption_notes(reward),
            purpose=DeductionPurpose.REDEMPTION,
            now=now,
        )
        if reward.stock is not None:
            reward_stock_take(reward)
        redemption = Redemption.objects.create(
            membership=membership,
            reward=reward,
            store=store,
            deduction=deduction,
            stamps_used=reward.stamps_to_redeem,
            invoice_number=invoice_number,
            created_at=now,
        )
    return redemption


def redemption_create_in_postgres(
    *,
    merchant: Merchant,
    customer: str,
    store_id: int,
    reward_id: int,
    now: datetime,
    invoice_number: str,
) -> Redemption:
    """The same checks, in the same order, as the path above, in one round trip."""
    try:
        redeemed = pg_ledger.redeem(
            merchant=merchant,
            user=customer,
            store_id=store_id,
            reward_id=reward_id,
            invoice_number=invoice_number,
            now=now,
        )
    except UserNotFound as not_found:
        raise UserNotFound("Customer not found", field="customer") from not_found
    except pg_ledger.RefusedByLedger as refusal:
        raise redemption_refusal(refusal) from refusal
    membership = redeemed.membership
    # Built as loaded rows (pg_ledger.loaded): Model.__init__ for the three was a sixth of a
    # redemption's Python
    deduction = pg_ledger.loaded(
        StampsDeduction,
        {"membership": membership},
        id=redeemed.deduction_id,
        stamps=redeemed.stamps_used,
        notes=redeemed.notes,
        purpose=DeductionPurpose.REDEMPTION,
        status=DeductionStatus.ACTIVE,
        created_at=now,
        canceled_at=None,
    )
    reward = pg_ledger.loaded(Reward, {}, id=reward_id, name=redeemed.reward_name)
    return pg_ledger.loaded(
        Redemption,
        {"membership": membership, "reward": reward, "deduction": deduction},
        id=redeemed.redemption_id,
        store_id=store_id,
        stamps_used=redeemed.stamps_used,
        status=RedemptionStatus.ACTIVE,
        invoice_number=invoice_number,
        created_at=now,
        canceled_at=None,
    )


def redemption_refusal(refusal: "pg_ledger.RefusedByLedger") -> DomainError:
    if refusal.message == "invalid_reward":
        return InvalidReward()
    if refusal.message == "level_not_reached":
        return level_needed(refusal.detail)
    return RewardNotRedeemable(REFUSALS[refusal.message])


def redemption_notes(reward: Reward) -> str:
    return f"Redemption: {reward.name}"[:255]


def customer_lock(*, merchant: Merchant, customer: str) -> Membership:
    try:
        return membership_lock(merchant=merchant, user=customer)
    except UserNotFound as not_found:
        raise UserNotFound("Customer not found", field="customer") from not_found


def ensure_within_window(reward: Reward, now: datetime) -> None:
    """The window is [starts_at, ends_at), as `redemptions.selectors` lists it."""
    if reward.starts_at is not None and now < reward.starts_at:
        raise RewardNotRedeemable(NOT_YET)
    if reward.ends_at is not None and now >= reward.ends_at:
        raise RewardNotRedeemable(NO_LONGER)


def ensure_redeemable_at(reward: Reward, store: Store) -> None:
    stores = list(reward.stores.values_list("pk", flat=True))
    if stores and store.pk not in stores:
        raise RewardNotRedeemable(NOT_AT_STORE)


def ensure_level_reached(reward: Reward, membership: Membership) -> None:
    minimum = reward.minimum_level
    if minimum and membership.level.minimum_qualifying_stamps < minimum.minimum_qualifying_stamps:
        raise level_not_reached(reward)


def level_not_reached(reward: Reward) -> RewardNotRedeemable:
    assert reward.minimum_level is not None
    return level_needed(reward.minimum_level.name)


def level_needed(level_name: str | None) -> RewardNotRedeemable:
    return RewardNotRedeemable(f"This reward needs the {level_name} level")


def reward_stock_take(reward: Reward) -> None:
    """Takes one from a limited stock; the conditional update is the lock, after the member's."""
    taken = Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1)
    if not taken:
        raise RewardNotRedeemable(OUT_OF_STOCK)


class RedemptionNotCancelable(DomainError):
    code = "invalid_redemption"
    field = "id"


def redemption_cancel(*, merchant: Merchant, redemption_id: int, now: datetime) -> Redemption:
    """Gives the stamps back to the lots they came from (see ledger.spend_refund) and the
    reward back to a limited stock."""
    found = Redemption.objects.filter(pk=redemption_id, membership__merchant=merchant)
    membership_id = found.values_list("membership_id", flat=True).first()
    if membership_id is None:
        raise NotFound("Redemption not found", field="id")
    with transaction.atomic():
        membership = membership_qs_for_update().select_related("level").get(pk=membership_id)
        redemption = found.select_related("reward", "deduction").get()
        if redemption.status == RedemptionStatus.CANCELED:
            raise RedemptionNotCancelable("Redemption is already canceled")
        ledger.lots_expire_due(membership=membership, now=now)
        ledger.spend_refund(membership=membership, deduction=redemption.deduction, now=now)
        membership.save(update_fields=["stamps"])
        closed(redemption.deduction, now, status=DeductionStatus.CANCELED)
        closed(redemption, now, status=RedemptionStatus.CANCELED)
        if redemption.reward.stock is not None:
            Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
    redemption.membership = membership
    return redemption


def closed(record: Redemption | StampsDeduction, now: datetime, *, status: int) -> None:
    record.status = status
    record.canceled_at = now
    record.save(update_fields=["status", "canceled_at"])
