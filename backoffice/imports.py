"""Members from a CSV file: every row is checked first; a file with any error writes nothing;
a clean file is applied whole, in one transaction. A new member's opening stamps are awarded
through the ledger (ordinary lots); a member already known is updated, never credited again."""

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms
from django.db import connection, transaction

from loyalty import services
from loyalty.ledger import Actor, BatchRefusal, merchant_date
from loyalty.models import Gender, Level, Membership, Merchant, RegistrationMethod, Store

COLUMNS = [
    "email",
    "member_id",
    "name",
    "phone",
    "birthday",
    "gender",
    "stamps",
    "expiration_date",
    "level",
]
GENDERS = {"1": Gender.MALE, "2": Gender.FEMALE, "male": Gender.MALE, "female": Gender.FEMALE}
GENDERS |= {"m": Gender.MALE, "f": Gender.FEMALE}
OPENING_NOTES = "opening balance (import)"
PROFILE = ["name", "phone", "birthday", "gender"]
BATCH = 1000  # new members created, and their opening lots awarded, per statement


FIELDS: dict[str, forms.Field] = {
    "email": forms.EmailField(required=False),
    "member_id": forms.CharField(required=False, max_length=64),
    "name": forms.CharField(required=False, max_length=120),
    "phone": forms.CharField(required=False, max_length=32),
    "birthday": forms.DateField(required=False, input_formats=["%Y-%m-%d"]),
    "gender": forms.CharField(required=False),
    "stamps": forms.IntegerField(required=False, min_value=0, max_value=10**9),
    "expiration_date": forms.DateField(required=False, input_formats=["%Y-%m-%d"]),
    "level": forms.CharField(required=False),
}


class RowCheck:
    """A row's columns, each cleaned by its form field and then by its rule here. The fields
    are used on their own (Field.clean): a Form per row copied all nine of them, and checking
    a file took four times as long."""

    def __init__(self, *, today: date, levels: set[str]) -> None:
        self.today, self.levels = today, levels

    def cleaned(self, record: dict[str, str | None]) -> tuple[dict[str, Any], list[str]]:
        """The row's values, and its errors (each "column: message")."""
        data: dict[str, Any] = {}
        errors: list[str] = []
        for name, column in FIELDS.items():
            try:
                data[name] = self.column_rule(name, column.clean((record.get(name) or "").strip()))
            except forms.ValidationError as error:
                errors.extend(f"{name}: {message}" for message in error.messages)
        if not errors and not data["email"] and not data["member_id"]:
            errors.append("Give an email or a member_id.")
        return data, errors

    def column_rule(self, name: str, value: Any) -> Any:
        match name:
            case "email":
                return services.email_normalized(value)
            case "member_id":
                return value or None
            case "gender":
                return gender_parsed(value)
            case "expiration_date" if value and value < self.today:
                raise forms.ValidationError("The date has passed.")
            case "level" if value and value.lower() not in self.levels:
                raise forms.ValidationError("Not one of the merchant's levels (name or number).")
        return value


def gender_parsed(text: str) -> int | None:
    value = text.lower()
    if value and value not in GENDERS:
        raise forms.ValidationError("Use male, female, m, f, 1 or 2.")
    return GENDERS.get(value)


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stamps: int = 0
    errors: list[str] = field(default_factory=list)
    applied: bool = False

    def summary(self) -> str:
        verb = "Imported" if self.applied else "Checked (nothing written)"
        return (
            f"{verb}: {self.rows} rows; {self.created} new members with {self.stamps} opening "
            f"stamps, {self.updated} members updated, {self.unchanged} unchanged."
        )


class ImportRefused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")


@dataclass
class Row:
    line: int
    data: dict[str, Any]
    existing: Membership | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # what it changes on `existing`


def members_import(
    *,
    merchant: Merchant,
    lines: Iterable[str],
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
) -> ImportReport:
    report = ImportReport()
    try:
        rows = rows_checked(merchant, lines, now, report)
    except csv.Error as error:  # e.g. a field larger than the csv module reads
        report.errors.append(f"The file is not readable as CSV: {error}")
        return report
    store = opening_store(merchant)
    if store is None and any(row.data.get("stamps") for row in rows):
        report.errors.append("No active store to award opening stamps at: add a store first.")
    if report.errors:
        return report
    for row in rows:
        if row.existing is None:
            report.created += 1
            report.stamps += row.data.get("stamps") or 0
        elif row.changes:
            report.updated += 1
        else:
            report.unchanged += 1
    if dry_run:
        return report
    try:
        with transaction.atomic():
            rows_apply(merchant, rows, store, actor, now)
    except ImportRefused as refused:
        report.errors.append(str(refused))
        return report
    report.applied = True
    return report


def opening_store(merchant: Merchant) -> Store | None:
    return Store.objects.filter(merchant=merchant, is_active=True).order_by("pk").first()


def rows_checked(
    merchant: Merchant, lines: Iterable[str], now: datetime, report: ImportReport
) -> list[Row]:
    reader = csv.DictReader(lines, strict=True)
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or not {"email", "member_id"} & set(header):
        report.errors.append(
            f"line 1: the header must name email or member_id, and only these columns: "
            f"{','.join(COLUMNS)}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
        return []
    reader.fieldnames = header
    today = merchant_date(merchant, now)
    levels = {
        str(v).lower()
        for pair in Level.objects.filter(merchant=merchant).values_list("name", "number")
        for v in pair
    }
    return rows_read(reader, merchant, RowCheck(today=today, levels=levels), report)


def rows_read(
    reader: csv.DictReader, merchant: Merchant, check: RowCheck, report: ImportReport
) -> list[Row]:
    rows: list[Row] = []
    seen: dict[tuple[str, str], int] = {}
    for record in reader:
        line = reader.line_num
        report.rows += 1
        if None in record:
            report.errors.append(f"line {line}: more values than columns")
            continue
        data, errors = check.cleaned(record)
        if errors:
            report.errors.extend(f"line {line}: {error}" for error in errors)
            continue
        repeated = False
        for key in ("email", "member_id"):
            value = data[key]
            if value and (first := seen.setdefault((key, value), line)) != line:
                report.errors.append(f"line {line}: {key} {value} is also on line {first}")
                repeated = True
        if not repeated:  # said once: not matched to a member again
            rows.append(Row(line, data))
    members_match(merchant, rows, report)
    return rows


def members_match(merchant: Merchant, rows: list[Row], report: ImportReport) -> None:
    """Each row's existing member, found by email or member_id. A row whose two name two
    different members is an error, and so is a member named by two rows (one by email, the
    other by member_id): which row's profile should win is the file's to say."""
    by_email = members_by(merchant, "email", [row.data["email"] for row in rows])
    by_card = members_by(merchant, "member_id", [row.data["member_id"] for row in rows])
    named: dict[int, int] = {}  # member id: the line that named them first
    for row in rows:
        email, card = by_email.get(row.data["email"]), by_card.get(row.data["member_id"])
        if email and card and email.pk != card.pk:
            report.errors.append(
                f"line {row.line}: the email and the member_id belong to two different members"
            )
        row.existing = email or card
        if row.existing is None:
            continue
        row.changes = profile_changes(row.existing, row.data)
        if (first := named.setdefault(row.existing.pk, row.line)) != row.line:
            report.errors.append(f"line {row.line}: names the same member as line {first}")


def members_by(merchant: Merchant, key: str, values: list[str | None]) -> dict[str, Membership]:
    """The merchant's members whose `key` is one of `values`, by it; looked up a batch at a
    time (a statement takes at most 65,535 parameters)."""
    wanted = [value for value in values if value]
    known = Membership.objects.filter(merchant=merchant)
    found: dict[str, Membership] = {}
    for start in range(0, len(wanted), BATCH):
        chosen = known.filter(**{f"{key}__in": wanted[start : start + BATCH]})
        found |= {getattr(member, key): member for member in chosen}
    return found


def rows_apply(
    merchant: Merchant, rows: list[Row], store: Store | None, actor: Actor, now: datetime
) -> None:
    """Known members' changed profiles are saved one by one; new members are created, and
    their opening stamps awarded, a thousand at a time (one statement each)."""
    new = []
    for row in rows:
        if row.existing is None:
            new.append(row)
        elif row.changes:
            profile_update(row.existing, row.changes)
    for number, start in enumerate(range(0, len(new), BATCH), start=1):
        batch = new[start : start + BATCH]
        members = members_create(merchant, batch)
        opening_stamps_award(merchant, list(zip(batch, members, strict=True)), store, actor, now)
        if number & (number - 1) == 0:  # after batches 1, 2, 4, 8...
            statistics_refresh()


def statistics_refresh() -> None:
    """The file is one transaction: as it grows the tables, their statistics, and the plans
    the ledger's functions cached from them, still describe the tables as they were (on a
    new database, empty: each award then scanned every lot, and 100,000 rows took more than
    ten minutes). ANALYZE counts this transaction's own rows and makes the plans anew."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE loyalty_membership, loyalty_award, loyalty_ledgerentry")


def profile_given(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in PROFILE if data.get(name) not in (None, "")}


def profile_changes(member: Membership, data: dict[str, Any]) -> dict[str, Any]:
    """What a row changes on its known member: the profile fields it gives, and an email or
    Member ID the member has none of."""
    wanted = profile_given(data) | {
        key: data[key] for key in ("email", "member_id") if not getattr(member, key)
    }
    return {
        name: value
        for name, value in wanted.items()
        if value is not None and getattr(member, name) != value
    }


def profile_update(member: Membership, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(member, name, value)
    member.save(update_fields=list(changes))


def members_create(merchant: Merchant, batch: list[Row]) -> list[Membership]:
    people = [
        {
            "email": row.data["email"],
            "member_id": row.data["member_id"],
            "registration_method": RegistrationMethod.IMPORT,
            **profile_given(row.data),
        }
        for row in batch
    ]
    try:
        return services.memberships_create(merchant=merchant, people=people)
    except services.MemberExists as taken:
        raise ImportRefused(batch[taken.index].line, taken.message) from taken


def opening_stamps_award(
    merchant: Merchant,
    members: list[tuple[Row, Membership]],
    store: Store | None,
    actor: Actor,
    now: datetime,
) -> None:
    """Opening stamps as lots of at most the merchant's largest award each."""
    requests, lines = [], []
    for row, member in members:
        left = row.data.get("stamps") or 0
        while left > 0 and store is not None:
            lot = min(left, merchant.max_stamps_per_award)
            request = services.AwardRequest(
                user=None,
                store=store.pk,
                number_of_stamps=lot,
                notes=OPENING_NOTES,
                expiration_date=row.data.get("expiration_date"),
                require_email_notification=False,
            )
            requests.append((member.pk, request))
            lines.append(row.line)
            left -= lot
    try:
        services.awards_create(merchant=merchant, requests=requests, now=now, actor=actor)
    except BatchRefusal as refused:
        raise ImportRefused(lines[refused.index], refused.refusal.message) from refused
