"""Members and ledger activity of one merchant as CSV rows, read in chunks (constant memory),
for the admin's streamed downloads and the export commands. Column names are the import's
where they overlap."""

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from loyalty.ledger import merchant_date
from loyalty.models import (
    LOT_SPENDABLE,
    Award,
    EntryKind,
    Gender,
    LedgerEntry,
    Membership,
    Merchant,
)

MEMBER_COLUMNS = [
    "email",
    "member_id",
    "name",
    "phone",
    "birthday",
    "gender",
    "stamps",
    "level",
    "stamps_expiring_30_days",
    "created_at",
]
ACTIVITY_COLUMNS = [
    "created_at",
    "email",
    "member_id",
    "kind",
    "stamps",
    "award_id",
    "store",
    "deduction_id",
]
CHUNK = 2000
GENDER_NAMES = {Gender.MALE: "male", Gender.FEMALE: "female"}


def members_rows(*, merchant: Merchant, now: datetime) -> Iterator[list[Any]]:
    soon = merchant_date(merchant, now) + timedelta(days=30)
    expiring = (
        Award.objects.filter(LOT_SPENDABLE, membership=OuterRef("pk"), expiration_date__lte=soon)
        .values("membership")
        .annotate(total=Sum("stamps_remaining"))
        .values("total")
    )
    members = (
        Membership.objects.filter(merchant=merchant)
        .annotate(expiring=Coalesce(Subquery(expiring, output_field=IntegerField()), 0))
        .values_list(
            "email",
            "member_id",
            "name",
            "phone",
            "birthday",
            "gender",
            "stamps",
            "level__name",
            "expiring",
            "created_at",
        )
        .order_by("pk")
    )
    yield MEMBER_COLUMNS
    for email, card, name, phone, birthday, gender, *rest in members.iterator(CHUNK):
        yield [
            email or "",
            card or "",
            name,
            phone,
            birthday or "",
            GENDER_NAMES.get(gender, ""),
            *rest,
        ]


def activity_rows(*, merchant: Merchant, since: date) -> Iterator[list[Any]]:
    start = datetime.combine(since, time.min, ZoneInfo(merchant.time_zone))
    entries = (
        LedgerEntry.objects.filter(membership__merchant=merchant, created_at__gte=start)
        .values_list(
            "created_at",
            "membership__email",
            "membership__member_id",
            "kind",
            "delta",
            "award_id",
            "award__store__name",
            "deduction_id",
        )
        .order_by("created_at", "pk")
    )
    yield ACTIVITY_COLUMNS
    for created_at, email, card, kind, *rest in entries.iterator(CHUNK):
        yield [created_at.isoformat(), email or "", card or "", EntryKind(kind).label, *rest]


class Echo:
    """A file-like object whose write returns the line, for a streamed csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in row])
