"""Writes that POS calls and the admin make: award, cancel and deduct stamps.

Each service is its own transaction boundary; inside a caller's transaction (an idempotent
request, an admin form) it runs in a savepoint, so a refusal leaves the caller's work intact."""

import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction

from loyalty import ledger, pg_ledger
from loyalty.levels import level_for, membership_level_refresh
from loyalty.members import ensure_not_blocked, membership_lock
from loyalty.models import (
    Award,
    AwardStatus,
    DeductionPurpose,
    Membership,
    Merchant,
    StampsDeduction,
    Store,
)
from loyalty.notifications import award_email_enqueue
from stamps_server.errors import DomainError, NotFound


class InvalidStore(DomainError):
    code = "invalid_store"
    message = "Invalid store"
    field = "store"


class AwardTooLarge(DomainError):
    code = "max_value"
    field = "number_of_stamps"


class ExpirationInPast(DomainError):
    code = "invalid"
    message = "Expiration date cannot be in the past"
    field = "expiration_date"


class AwardNotCancelable(DomainError):
    code = "invalid_award"
    field = "id"


@dataclass(frozen=True)
class AwardRequest:
    user: str
    store: int
    number_of_stamps: int
    notes: str = ""
    expiration_date: date | None = None
    require_email_notification: bool = True


def store_get(*, merchant: Merchant, store_id: int) -> Store:
    store = Store.objects.filter(pk=store_id, merchant=merchant, is_active=True).first()
    if store is None:
        raise InvalidStore()
    return store


def award_create(*, merchant: Merchant, request: AwardRequest, now: datetime) -> Award:
    ensure_award_size(merchant, request.number_of_stamps)
    expiration_date = award_expiration_date(merchant, request.expiration_date, now=now)
    if pg_ledger.available():
        return pg_ledger.award_create(
            merchant=merchant,
            store_id=request.store,
            user=request.user,
            number_of_stamps=request.number_of_stamps,
            notes=request.notes,
            expiration_date=expiration_date,
            notify=request.require_email_notification,
            now=now,
        )
    store = store_get(merchant=merchant, store_id=request.store)
    with transaction.atomic():
        membership = membership_lock(merchant=merchant, user=request.user)
        ensure_not_blocked(membership)
        ledger.lots_expire_due(membership=membership, now=now)
        award = Award.objects.create(
            membership=membership,
            store=store,
            number_of_stamps=request.number_of_stamps,
            stamps_remaining=request.number_of_stamps,
            expiration_date=expiration_date,
            notes=request.notes,
            require_email_notification=request.require_email_notification,
            created_at=now,
        )
        ledger.lot_open(membership=membership, award=award, now=now)
        qualifying_stamps_change(membership, request.number_of_stamps, award=award, now=now)
        if request.require_email_notification and membership.email:
            award_email_enqueue(membership=membership, award=award, now=now)
    return award


def ensure_award_size(merchant: Merchant, number_of_stamps: int) -> None:
    if number_of_stamps > merchant.max_stamps_per_award:
        raise AwardTooLarge(
            f"Ensure this value is less than or equal to {merchant.max_stamps_per_award}."
        )


def award_expiration_date(merchant: Merchant, requested: date | None, *, now: datetime) -> date:
    today = ledger.local_date(now)
    expiration_date = requested or today + timedelta(days=merchant.stamps_validity_days)
    if expiration_date < today:
        raise ExpirationInPast()
    return expiration_date


def award_cancel(*, merchant: Merchant, user: str, award_id: int, now: datetime) -> Award:
    if pg_ledger.available():
        try:
            return pg_ledger.award_cancel(merchant=merchant, user=user, award_id=award_id, now=now)
        except pg_ledger.RefusedByLedger as refusal:
            if refusal.message != "spent_from_lot":
                raise AWARD_CANCEL_REFUSALS[refusal.message]() from refusal
            # stamps were spent from this lot: the Python ledger re-draws them below
    with transaction.atomic():
        membership = membership_lock(merchant=merchant, user=user)
        ledger.lots_expire_due(membership=membership, now=now)
        award = Award.objects.filter(pk=award_id, membership=membership).first()
        if award is None:
            raise award_not_found()
        if award.status == AwardStatus.CANCELED:
            raise award_already_canceled()
        if award.status == AwardStatus.EXPIRED or award.expiration_date < ledger.local_date(now):
            raise award_expired()
        try:
            ledger.lot_close_for_cancel(membership=membership, award=award, now=now)
        except ledger.InsufficientStamps as refusal:
            raise ledger.InsufficientStamps(
                "The member no longer holds the stamps of this award"
            ) from refusal
        qualifying_stamps_change(membership, -award.number_of_stamps, award=award, now=now)
    award.membership = membership
    return award


def award_not_found() -> DomainError:
    return NotFound("Award not found", field="id")


def award_already_canceled() -> DomainError:
    return AwardNotCancelable("Award is already canceled")


def award_expired() -> DomainError:
    return AwardNotCancelable("Award has expired")


# The PostgreSQL ledger's refusal codes (loyalty/sql/ledger.sql, stamps_cancel)
AWARD_CANCEL_REFUSALS = {
    "award_not_found": award_not_found,
    "award_canceled": award_already_canceled,
    "award_expired": award_expired,
}


def stamps_deduct(
    *, merchant: Merchant, user: str, stamps: int, notes: str, now: datetime
) -> StampsDeduction:
    if pg_ledger.available():
        return pg_ledger.stamps_spend(
            merchant=merchant, user=user, stamps=stamps, notes=notes, now=now
        )
    with transaction.atomic():
        membership = membership_lock(merchant=merchant, user=user)
        deduction = stamps_spend(
            membership=membership,
            stamps=stamps,
            notes=notes,
            purpose=DeductionPurpose.DEDUCTION,
            now=now,
        )
    return deduction


def stamps_spend(
    *, membership: Membership, stamps: int, notes: str, purpose: DeductionPurpose, now: datetime
) -> StampsDeduction:
    """Spends from a membership the caller has locked; redemptions spend through here too."""
    ledger.require_transaction()
    ensure_not_blocked(membership)
    ledger.lots_expire_due(membership=membership, now=now)
    if membership.stamps < stamps:
        raise ledger.InsufficientStamps(field="stamps")
    deduction = StampsDeduction.objects.create(
        membership=membership, stamps=stamps, notes=notes, purpose=purpose, created_at=now
    )
    ledger.lots_draw(membership=membership, deduction=deduction, stamps=stamps, now=now)
    membership.save(update_fields=["stamps"])
    deduction.membership = membership
    return deduction


def qualifying_stamps_change(
    membership: Membership, change: int, *, award: Award, now: datetime
) -> None:
    membership.qualifying_stamps += change
    membership_level_refresh(membership, award=award, now=now)
    membership.save(update_fields=["stamps", "qualifying_stamps", "level"])


REFERRAL_ALPHABET = string.ascii_uppercase + string.digits


class MemberExists(DomainError):
    code = "unique"


def membership_create(
    *,
    merchant: Merchant,
    email: str | None = None,
    member_id: str | None = None,
    name: str = "",
    phone: str = "",
) -> Membership:
    email = email.lower() if email else None
    level = level_for(merchant_id=merchant.pk, qualifying_stamps=0)
    for _ in range(5):
        ensure_identity_free(merchant=merchant, email=email, member_id=member_id)
        try:
            with transaction.atomic():
                return Membership.objects.create(
                    merchant=merchant,
                    level=level,
                    email=email,
                    member_id=member_id or None,
                    name=name,
                    phone=phone,
                    referral_code="".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(6)),
                )
        except IntegrityError:
            continue  # a referral code collision, or a concurrent twin caught on the next check
    raise RuntimeError("could not create the membership")


def ensure_identity_free(*, merchant: Merchant, email: str | None, member_id: str | None) -> None:
    members = Membership.objects.filter(merchant=merchant)
    if email and members.filter(email=email).exists():
        raise MemberExists("A member with this email already exists", field="email")
    if member_id and members.filter(member_id=member_id).exists():
        raise MemberExists("A member with this Member ID already exists", field="member_id")
