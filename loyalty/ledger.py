"""The ledger's database functions (loyalty/sql/0020_ledger.sql) called from Python: the
arguments go in, a row or a LedgerRefusal comes out. The rules are the functions'; the
services decide which to call and with what."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, BooleanField, Func

from core.db import function_row, function_rows
from core.metrics import ledger_operation
from loyalty.models import Merchant
from loyalty.refusals import LedgerRefusal


class Actor(NamedTuple):
    """Who makes a change: the API key a till called with, or a staff user in the admin."""

    token_id: int | None = None
    staff_id: int | None = None


SYSTEM = Actor()  # the expiry sweep


class MemberAfter(NamedTuple):
    """A member as a write left them."""

    id: int
    stamps: int
    qualifying_stamps: int
    level_number: int
    level_name: str


# What each write function returns of its member, in MemberAfter's order.
MEMBER_COLUMNS = "m_id, m_stamps, m_qualifying, m_level_number, m_level_name"


def merchant_date(merchant: Merchant, moment: datetime) -> date:
    """The merchant's calendar date at `moment`: the day lots expire by, an invoice's day."""
    return moment.astimezone(ZoneInfo(merchant.time_zone)).date()


def ledger_write(
    function: str,
    arguments: Sequence[Any],
    columns: str,
    *,
    renamed: Mapping[str, str] | None = None,
) -> tuple[Any, ...]:
    """The function's `columns` when it applied; its refusal, raised, when it did not.
    `renamed` gives the registry's name for a refusal in the caller's terms."""
    refusal, detail, *row = function_row(function, arguments, with_refusal(columns))
    applied_or_raise(function, refusal, detail, renamed)
    return tuple(row)


def applied_or_raise(
    function: str, refusal: str | None, detail: str | None, renamed: Mapping[str, str] | None
) -> None:
    """Counts the call, and raises its refusal, if any."""
    ledger_operation(function, refusal)
    if refusal is not None:
        raise LedgerRefusal((renamed or {}).get(refusal, refusal), detail)


class BatchRefusal(Exception):
    """Call `index` of a batch was refused; nothing of the batch is to be kept."""

    def __init__(self, index: int, refusal: LedgerRefusal) -> None:
        super().__init__(refusal.message)
        self.index, self.refusal = index, refusal


def ledger_write_many(
    function: str, argument_rows: Sequence[Sequence[Any]], columns: str
) -> list[tuple[Any, ...]]:
    """ledger_write for many calls in one statement: each call's `columns`, or BatchRefusal
    for the first refused. The caller's transaction must then be rolled back: the calls
    before the refused one applied."""
    found = []
    for index, (refusal, detail, *row) in enumerate(
        function_rows(function, argument_rows, with_refusal(columns))
    ):
        try:
            applied_or_raise(function, refusal, detail, None)
        except LedgerRefusal as refused:
            raise BatchRefusal(index, refused) from refused
        found.append(tuple(row))
    return found


@cache  # each caller's columns are a constant: joined once
def with_refusal(columns: str) -> str:
    return f"refusal, refusal_detail, {columns}"


def member_after(row: Sequence[Any]) -> MemberAfter:
    """MemberAfter from the first five of a row that starts with MEMBER_COLUMNS."""
    return MemberAfter(*row[:5])


class LotOverdue(Func):
    """stamps_lot_overdue(expiration_date, today): the one definition of a lot past its date,
    for queries (the ledger functions use it too)."""

    function = "stamps_lot_overdue"
    output_field = BooleanField()


class FoundMember(Func):
    """stamps_find_member(merchant, user): the member a till names by `user`."""

    function = "stamps_find_member"
    output_field = BigIntegerField()
