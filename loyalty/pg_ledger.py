"""Calls into the PostgreSQL ledger functions (loyalty/sql/ledger.sql): one round trip per
award or spend. Refusals come back as codes and become the same domain errors the Python
ledger raises; results come back as model instances carrying what the responses need."""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.db.models.base import ModelState

from loyalty.ledger import InsufficientStamps, local_date
from loyalty.members import MembershipBlocked, UserNotFound
from loyalty.models import (
    Award,
    AwardStatus,
    DeductionPurpose,
    DeductionStatus,
    Level,
    Membership,
    Merchant,
    StampsDeduction,
)
from stamps_server.db import default_connection, one_row
from stamps_server.errors import DomainError


class RefusedByLedger(DomainError):
    """Refusals only the redemption path can meet; redemptions re-raise them in its terms.
    `detail` carries what the message needs (the level a reward asks for)."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.detail = detail


def available() -> bool:
    return default_connection().vendor == "postgresql"


def refusal_raise(code: str, detail: str | None = None) -> None:
    from loyalty.services import InvalidStore  # services imports this module

    known: dict[str, DomainError] = {
        "invalid_store": InvalidStore(),
        "user_not_found": UserNotFound(),
        "membership_blocked": MembershipBlocked(),
        "insufficient_stamps": InsufficientStamps(field="stamps"),
    }
    raise known.get(code) or RefusedByLedger(code, detail)


# The member's columns every ledger function returns, in this order (loyalty/sql/ledger.sql).
MEMBER_COLUMNS = (
    "m_id, m_email, m_member_id, m_name, m_stamps, m_qualifying, m_level_id, m_level_number,"
    " m_level_name, m_referral_code, m_created_at"
)
# What the answers of an award, a cancel and a redemption read of the member (its id,
# balance and level): fetching only these spares a fifth of the call's Python (the rest are
# text and a timestamp for psycopg to load). The others load on first access, if anything
# asks for them (the admin's messages), as deferred fields do.
MEMBER_SUMMARY_COLUMNS = "m_id, m_stamps, m_qualifying, m_level_id, m_level_number, m_level_name"


def call(
    function: str, arguments: list[object], columns: str, *, refusal_columns: int = 1
) -> tuple:
    """One ledger function, one round trip, for the columns named after the refusal: the
    first column is the refusal code (NULL when it applied); with refusal_columns=2 the
    second is the refusal's detail."""
    query = call_query(function, len(arguments), columns, refusal_columns)
    row = one_row(query, arguments)
    assert row is not None  # a function call returns its row
    if row[0] is not None:
        refusal_raise(*row[:refusal_columns])
    return row[refusal_columns:]


@cache  # the same few texts on every call: built once each
def call_query(function: str, arity: int, columns: str, refusal_columns: int) -> str:
    placeholders = ", ".join(["%s"] * arity)
    refusal = "refusal, refusal_detail" if refusal_columns == 2 else "refusal"
    return f"SELECT {refusal}, {columns} FROM {function}({placeholders})"


M = TypeVar("M", bound=Model)


def loaded(model: type[M], related: dict[str, Model], **values: Any) -> M:
    """An instance as the ORM loads one from a row, minus Model.__init__'s walk over every
    field (a fifth of an award's Python). `values` are by attname; `related` gives the
    foreign keys, ids and caches both. A field not given loads on first access, like a
    deferred one."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    for name, target in related.items():
        instance.__dict__[model._meta.get_field(name).attname] = target.pk
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS  # what connection.alias is, without its look-up
    instance._state.fields_cache.update(related)
    return instance


def membership_from(merchant: Merchant, view: tuple, **known: Any) -> Membership:
    """The member as a ledger function returned them (MEMBER_COLUMNS); `known` adds what the
    call itself proves (an award or a spend refuses a blocked member, a cancel does not)."""
    (
        pk,
        email,
        member_id,
        name,
        stamps,
        qualifying,
        level_id,
        level_number,
        level_name,
        referral_code,
        created_at,
    ) = view
    return membership_summary_from(
        merchant,
        (pk, stamps, qualifying, level_id, level_number, level_name),
        email=email,
        member_id=member_id,
        name=name,
        referral_code=referral_code,
        created_at=created_at,
        **known,
    )


def membership_summary_from(merchant: Merchant, summary: tuple, **known: Any) -> Membership:
    """The member from MEMBER_SUMMARY_COLUMNS; its other fields load on first access."""
    pk, stamps, qualifying, level_id, level_number, level_name = summary
    level = loaded(
        Level,
        {"merchant": merchant},
        id=level_id,
        number=level_number,
        name=level_name,
    )
    return loaded(
        Membership,
        {"merchant": merchant, "level": level},
        id=pk,
        stamps=stamps,
        qualifying_stamps=qualifying,
        **known,
    )


def award_create(
    *,
    merchant: Merchant,
    store_id: int,
    user: str,
    number_of_stamps: int,
    notes: str,
    expiration_date: date,
    notify: bool,
    now: datetime,
) -> Award:
    *member, award_id = call(
        "stamps_award",
        [
            merchant.pk,
            store_id,
            user,
            number_of_stamps,
            notes,
            expiration_date,
            notify,
            local_date(now),
            now,
        ],
        f"{MEMBER_SUMMARY_COLUMNS}, award_id",
    )
    membership = membership_summary_from(merchant, tuple(member), is_blocked=False)
    return loaded(
        Award,
        {"membership": membership},
        id=award_id,
        store_id=store_id,
        number_of_stamps=number_of_stamps,
        stamps_remaining=number_of_stamps,
        expiration_date=expiration_date,
        status=AwardStatus.ACTIVE,
        notes=notes,
        require_email_notification=notify,
        created_at=now,
        canceled_at=None,
    )


def award_cancel(*, merchant: Merchant, user: str, award_id: int, now: datetime) -> Award:
    """Cancels a whole lot; refuses 'spent_from_lot' (having written nothing) when stamps
    were spent from it, for loyalty/ledger.py to re-draw."""
    *member, number_of_stamps, store_id, expiration_date = call(
        "stamps_cancel",
        [merchant.pk, user, award_id, local_date(now), now],
        f"{MEMBER_SUMMARY_COLUMNS}, number_of_stamps, store_id, expiration_date",
    )
    membership = membership_summary_from(merchant, tuple(member))
    return loaded(
        Award,
        {"membership": membership},
        id=award_id,
        store_id=store_id,
        number_of_stamps=number_of_stamps,
        stamps_remaining=0,
        expiration_date=expiration_date,
        status=AwardStatus.CANCELED,
        canceled_at=now,
    )


def stamps_spend(
    *,
    merchant: Merchant,
    user: str,
    stamps: int,
    notes: str,
    now: datetime,
) -> StampsDeduction:
    """A deduction; redemptions go through `redeem`."""
    no_reward = [None, None, None, False, ""]
    *member, deduction_id, _ = call(
        "stamps_spend",
        [
            merchant.pk,
            user,
            stamps,
            notes,
            DeductionPurpose.DEDUCTION,
            local_date(now),
            now,
            *no_reward,
        ],
        f"{MEMBER_COLUMNS}, deduction_id, redemption_id",
    )
    membership = membership_from(merchant, tuple(member), is_blocked=False)
    return loaded(
        StampsDeduction,
        {"membership": membership},
        id=deduction_id,
        stamps=stamps,
        notes=notes,
        purpose=DeductionPurpose.DEDUCTION,
        status=DeductionStatus.ACTIVE,
        created_at=now,
        canceled_at=None,
    )


@dataclass(frozen=True)
class Redeemed:
    membership: Membership
    deduction_id: int
    redemption_id: int
    reward_name: str
    stamps_used: int
    notes: str


def redeem(
    *,
    merchant: Merchant,
    user: str,
    store_id: int,
    reward_id: int,
    invoice_number: str,
    now: datetime,
) -> Redeemed:
    *member, deduction_id, redemption_id, reward_name, stamps_used, notes = call(
        "stamps_redeem",
        [merchant.pk, user, store_id, reward_id, invoice_number, local_date(now), now],
        f"{MEMBER_SUMMARY_COLUMNS}, deduction_id, redemption_id, reward_name, stamps_used, notes",
        refusal_columns=2,
    )
    return Redeemed(
        membership=membership_summary_from(merchant, tuple(member), is_blocked=False),
        deduction_id=deduction_id,
        redemption_id=redemption_id,
        reward_name=reward_name,
        stamps_used=stamps_used,
        notes=notes,
    )
