"""The stamps ledger: lots (awards) and the append-only entries that move stamps on them.

These functions refuse to run outside a transaction and expect the membership row to be
locked by the caller; the caller saves the membership. A member's cached `stamps` always
equals the sum of their entries, and each lot's `stamps_remaining` the sum of its own."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import (
    LOT_SPENDABLE,
    Award,
    AwardStatus,
    EntryKind,
    LedgerEntry,
    Membership,
    StampsDeduction,
)
from stamps_server.errors import DomainError


class InsufficientStamps(DomainError):
    code = "insufficient_stamps"
    message = "Membership has insufficient stamps"


class LedgerOutsideTransaction(RuntimeError):
    pass


def require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise LedgerOutsideTransaction("ledger writes must run inside a transaction")


def local_date(now: datetime) -> date:
    """The date in the server's TIME_ZONE. Nothing here activates a per-request time zone, so
    the default is named outright, sparing the look-up of the current one (a context-local)."""
    return timezone.localdate(now, timezone.get_default_timezone())


def entries_record(membership: Membership, entries: list[LedgerEntry]) -> None:
    LedgerEntry.objects.bulk_create(entries)
    membership.stamps += sum(entry.delta for entry in entries)


def spendable_lots(membership: Membership, *, today: date) -> Iterable[Award]:
    return Award.objects.filter(
        LOT_SPENDABLE,
        membership=membership,
        expiration_date__gte=today,
    ).order_by("expiration_date", "id")


def lots_expire_due(*, membership: Membership, now: datetime) -> int:
    """Expires what is left of every lot past its date; returns the stamps expired."""
    require_transaction()
    due = list(
        Award.objects.filter(
            LOT_SPENDABLE,
            membership=membership,
            expiration_date__lt=local_date(now),
        )
    )
    if not due:
        return 0
    entries = [
        LedgerEntry(
            membership=membership,
            award=lot,
            kind=EntryKind.EXPIRY,
            delta=-lot.stamps_remaining,
            created_at=now,
        )
        for lot in due
    ]
    for lot in due:
        lot.stamps_remaining = 0
        lot.status = AwardStatus.EXPIRED
    Award.objects.bulk_update(due, ["stamps_remaining", "status"])
    entries_record(membership, entries)
    return -sum(entry.delta for entry in entries)


def lot_open(*, membership: Membership, award: Award, now: datetime) -> None:
    require_transaction()
    entries_record(
        membership,
        [
            LedgerEntry(
                membership=membership,
                award=award,
                kind=EntryKind.AWARD,
                delta=award.number_of_stamps,
                created_at=now,
            )
        ],
    )


def lots_draw(
    *,
    membership: Membership,
    deduction: StampsDeduction,
    stamps: int,
    now: datetime,
    kind: EntryKind = EntryKind.SPEND,
    excluding: Award | None = None,
) -> None:
    """Takes `stamps` from the soonest-expiring lots, naming the deduction they pay for."""
    require_transaction()
    lots = spendable_lots(membership, today=local_date(now))
    if excluding is not None:
        lots = lots.exclude(pk=excluding.pk)  # type: ignore[attr-defined]
    needed, drawn, entries = stamps, [], []
    for lot in lots:
        take = min(lot.stamps_remaining, needed)
        lot.stamps_remaining -= take
        needed -= take
        drawn.append(lot)
        entries.append(
            LedgerEntry(
                membership=membership,
                award=lot,
                deduction=deduction,
                kind=kind,
                delta=-take,
                created_at=now,
            )
        )
        if needed == 0:
            break
    if needed:
        raise InsufficientStamps()
    Award.objects.bulk_update(drawn, ["stamps_remaining"])
    entries_record(membership, entries)


def lot_close_for_cancel(*, membership: Membership, award: Award, now: datetime) -> None:
    """Voids a whole lot. Stamps already spent from it are re-drawn from the member's other
    lots for the same deductions, so the spends stay paid and the lot gives back all it gave."""
    require_transaction()
    spends_from_lot = list(
        LedgerEntry.objects.filter(award=award, deduction__isnull=False)
        .values("deduction")
        .annotate(net=Sum("delta"))
        .filter(net__lt=0)
        .order_by("deduction")
    )
    deductions = StampsDeduction.objects.in_bulk([row["deduction"] for row in spends_from_lot])
    for row in spends_from_lot:
        deduction, moved = deductions[row["deduction"]], -row["net"]
        lots_draw(
            membership=membership,
            deduction=deduction,
            stamps=moved,
            now=now,
            kind=EntryKind.REDRAW,
            excluding=award,
        )
        entries_record(
            membership,
            [
                LedgerEntry(
                    membership=membership,
                    award=award,
                    deduction=deduction,
                    kind=EntryKind.REDRAW,
                    delta=moved,
                    created_at=now,
                )
            ],
        )
        award.stamps_remaining += moved
    entries_record(
        membership,
        [
            LedgerEntry(
                membership=membership,
                award=award,
                kind=EntryKind.AWARD_CANCEL,
                delta=-award.stamps_remaining,
                created_at=now,
            )
        ],
    )
    award.stamps_remaining = 0
    award.status = AwardStatus.CANCELED
    award.canceled_at = now
    award.save(update_fields=["stamps_remaining", "status", "canceled_at"])


def spend_refund(*, membership: Membership, deduction: StampsDeduction, now: datetime) -> int:
    """Gives a cancelled spend's stamps back to the lots it drew them from. A lot that has
    expired since stays expired: those stamps would be gone by now anyway. Returns the
    stamps given back."""
    require_transaction()
    draws = dict(
        LedgerEntry.objects.filter(deduction=deduction)
        .values_list("award")
        .annotate(net=Sum("delta"))
        .filter(net__lt=0)
        .values_list("award", "net")
    )
    lots = list(
        Award.objects.filter(
            pk__in=draws, status=AwardStatus.ACTIVE, expiration_date__gte=local_date(now)
        ).order_by("pk")
    )
    entries = []
    for lot in lots:
        lot.stamps_remaining -= draws[lot.pk]
        entries.append(
            LedgerEntry(
                membership=membership,
                award=lot,
                deduction=deduction,
                kind=EntryKind.REFUND,
                delta=-draws[lot.pk],
                created_at=now,
            )
        )
    Award.objects.bulk_update(lots, ["stamps_remaining"])
    entries_record(membership, entries)
    return sum(entry.delta for entry in entries)
