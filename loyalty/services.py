"""Writes that tills and the admin make: award, cancel and deduct stamps, create members.

Each balance change is one call of a ledger function (loyalty.ledger); a refusal is raised
as a LedgerRefusal before anything is written. Inside a caller's transaction (an idempotent
request, an admin form) a refused call leaves that transaction usable."""

import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction

from core.db import objects_insert
from core.errors import DomainError
from loyalty.ledger import (
    MEMBER_COLUMNS,
    Actor,
    MemberAfter,
    ledger_write,
    ledger_write_many,
    member_after,
    merchant_date,
)
from loyalty.levels import level_for
from loyalty.models import DeductionPurpose, Level, Membership, Merchant, Store
from loyalty.refusals import LedgerRefusal


class AwardRequest(NamedTuple):
    user: str | None  # None when the caller names the member by id
    store: int
    number_of_stamps: int
    notes: str = ""
    expiration_date: date | None = None
    require_email_notification: bool = True


class Awarded(NamedTuple):
    id: int
    number_of_stamps: int
    member: MemberAfter


AWARDED = f"{MEMBER_COLUMNS}, award_id"
CANCELED = f"{MEMBER_COLUMNS}, number_of_stamps"


def award_default_expiration(merchant: Merchant, today: date) -> date:
    """When an award's stamps expire if nobody says: the merchant's validity from today."""
    return today + timedelta(days=merchant.stamps_validity_days)


def award_create(
    *,
    merchant: Merchant,
    request: AwardRequest,
    now: datetime,
    actor: Actor,
    membership_id: int | None = None,
) -> Awarded:
    """POST /api/stamps/add, and the admin's award (which names the member by id)."""
    row = ledger_write(
        "stamps_award", award_arguments(merchant, request, now, actor, membership_id), AWARDED
    )
    return Awarded(id=row[5], number_of_stamps=request.number_of_stamps, member=member_after(row))


def awards_create(
    *,
    merchant: Merchant,
    requests: Sequence[tuple[int, AwardRequest]],
    now: datetime,
    actor: Actor,
) -> list[int]:
    """Many awards, each to a member by id, in one statement (an import's opening lots): the
    awards' ids, or BatchRefusal for the first refused (roll the transaction back)."""
    calls = [award_arguments(merchant, request, now, actor, member) for member, request in requests]
    return [row[5] for row in ledger_write_many("stamps_award", calls, AWARDED)]


def award_arguments(
    merchant: Merchant,
    request: AwardRequest,
    now: datetime,
    actor: Actor,
    membership_id: int | None,
) -> list[Any]:
    today = merchant_date(merchant, now)
    return [
        merchant.pk,
        request.store,
        membership_id,
        request.user,
        request.number_of_stamps,
        merchant.max_stamps_per_award,
        request.notes,
        request.expiration_date or award_default_expiration(merchant, today),
        request.require_email_notification,
        today,
        now,
        actor.token_id,
        actor.staff_id,
    ]


class Canceled(NamedTuple):
    id: int
    number_of_stamps: int
    member: MemberAfter


def award_cancel(
    *,
    merchant: Merchant,
    user: str | None,
    award_id: int,
    now: datetime,
    actor: Actor,
    membership_id: int | None = None,
    reason: str = "",
) -> Canceled:
    """POST /api/stamps/cancel. Stamps already spent from the lot are drawn again from the
    member's other lots; refused when they hold too few."""
    row = ledger_write(
        "stamps_cancel",
        [
            merchant.pk,
            membership_id,
            user,
            award_id,
            merchant_date(merchant, now),
            now,
            actor.token_id,
            actor.staff_id,
            reason,
        ],
        CANCELED,
    )
    return Canceled(id=award_id, number_of_stamps=row[5], member=member_after(row))


class Deducted(NamedTuple):
    id: int
    stamps: int
    notes: str
    created_at: datetime
    member: MemberAfter
    referral_code: str
    member_since: datetime


# The member's creation as Unix seconds: loaded as a timestamp it would go through Django's
# Python-level loader, a tenth of a deduction's Python.
DEDUCTED = (
    f"{MEMBER_COLUMNS}, m_referral_code, extract(epoch FROM m_created_at)::float8, deduction_id"
)


def stamps_deduct(
    *,
    merchant: Merchant,
    user: str | None,
    stamps: int,
    notes: str,
    now: datetime,
    actor: Actor,
    membership_id: int | None = None,
) -> Deducted:
    """POST /api/memberships/deduct-stamps, and the admin's deduction."""
    no_reward = [None, None, 0, None, ""]  # a redemption passes its reward's (redeem)
    row = ledger_write(
        "stamps_spend",
        [
            merchant.pk,
            membership_id,
            user,
            stamps,
            notes,
            DeductionPurpose.DEDUCTION,
            merchant_date(merchant, now),
            now,
            *no_reward,
            actor.token_id,
            actor.staff_id,
        ],
        DEDUCTED,
    )
    return Deducted(
        id=row[7],
        stamps=stamps,
        notes=notes,
        created_at=now,
        member=member_after(row),
        referral_code=row[5],
        member_since=datetime.fromtimestamp(row[6], UTC),
    )


def store_get(*, merchant: Merchant, store_id: int) -> Store:
    """An active store of the merchant, for the endpoints that only read."""
    store = Store.objects.filter(pk=store_id, merchant=merchant, is_active=True).first()
    if store is None:
        raise LedgerRefusal("invalid_store")
    return store


REFERRAL_ALPHABET = string.ascii_uppercase + string.digits


class MemberExists(DomainError):
    code = "unique"

    def __init__(self, message: str, *, field: str, index: int = 0) -> None:
        super().__init__(message, field=field)
        self.index = index  # which of the people being created


def membership_create(
    *,
    merchant: Merchant,
    email: str | None = None,
    member_id: str | None = None,
    name: str = "",
    phone: str = "",
) -> Membership:
    (member,) = memberships_create(
        merchant=merchant,
        people=[{"email": email, "member_id": member_id, "name": name, "phone": phone}],
    )
    return member


def memberships_create(
    *, merchant: Merchant, people: Sequence[Mapping[str, Any]]
) -> list[Membership]:
    """New members, each from its fields (`email`, `member_id` and profile fields), in one
    INSERT; MemberExists (with its `index` in `people`) when an email or Member ID is taken."""
    level = level_for(merchant=merchant, qualifying_stamps=0)
    for _ in range(5):
        ensure_identities_free(merchant=merchant, people=people)
        members = [membership_new(merchant, level, person) for person in people]
        try:
            with transaction.atomic():
                return objects_insert(members)
        except IntegrityError:
            continue  # a referral code collision, or a concurrent twin caught on the next check
    raise RuntimeError("could not create the memberships")


def membership_new(merchant: Merchant, level: Level, person: Mapping[str, Any]) -> Membership:
    fields = dict(person)
    email, member_id = fields.pop("email", None), fields.pop("member_id", None)
    return Membership(
        merchant=merchant,
        level=level,
        email=email_normalized(email),
        member_id=member_id or None,
        referral_code="".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(6)),
        **fields,
    )


def email_normalized(email: str | None) -> str | None:
    """A member's email as stored and looked up: lower case; none when empty."""
    return email.lower() if email else None


def is_digits(text: str | None) -> bool:
    return bool(text) and text.isascii() and text.isdigit() and len(text) <= 18


def ensure_identities_free(*, merchant: Merchant, people: Sequence[Mapping[str, Any]]) -> None:
    """MemberExists, with the person's `index`, for an email or Member ID already taken."""
    emails = {email_normalized(p["email"]): n for n, p in enumerate(people) if p.get("email")}
    cards = {p["member_id"]: n for n, p in enumerate(people) if p.get("member_id")}
    # `user` names a member by Member ID before numeric id: digits that are another member's
    # id would take that member over.
    ids = {int(card): n for card, n in cards.items() if is_digits(card)}
    members = Membership.objects.filter(merchant=merchant)
    checks = [
        ("email", emails, "A member with this email already exists"),
        ("member_id", cards, "A member with this Member ID already exists"),
        ("pk", ids, "This Member ID is another member's id"),
    ]
    for key, wanted, message in checks:
        taken = members.filter(**{f"{key}__in": wanted}).values_list(key, flat=True)
        if wanted and (found := list(taken)):
            field = "email" if key == "email" else "member_id"
            raise MemberExists(message, field=field, index=min(wanted[v] for v in found))
