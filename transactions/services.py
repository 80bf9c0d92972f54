"""Purchases: stamps earned at the merchant's rate, and undone with the purchase."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.members import membership_find
from loyalty.models import Merchant
from loyalty.services import AwardRequest, award_cancel, award_create, store_get
from redemptions.models import Redemption, RedemptionStatus
from redemptions.services import redemption_cancel
from stamps_server.errors import DomainError, NotFound
from transactions.models import Transaction, TransactionStatus


class DuplicateInvoice(DomainError):
    code = "invalid_transaction"
    message = "This invoice number was already used at this store today"
    field = "invoice_number"


class TransactionNotCancelable(DomainError):
    code = "invalid_transaction"
    field = "id"


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


def stamps_for_value(merchant: Merchant, value: Decimal) -> int:
    return int(value // merchant.transaction_value_per_stamp)


def transaction_create(*, merchant: Merchant, purchase: Purchase, now: datetime) -> Transaction:
    store = store_get(merchant=merchant, store_id=purchase.store)
    membership = membership_find(merchant=merchant, user=purchase.user) if purchase.user else None
    stamps = 0
    if membership is not None:
        stamps = (
            purchase.stamps
            if purchase.stamps is not None
            else stamps_for_value(merchant, purchase.total_value)
        )
    record = Transaction(
        merchant=merchant,
        store=store,
        membership=membership,
        invoice_number=purchase.invoice_number,
        invoice_date=timezone.localdate(purchase.created),
        total_value=purchase.total_value,
        subtotal=purchase.subtotal,
        discount=purchase.discount,
        service_charge=purchase.service_charge,
        tax=purchase.tax,
        number_of_people=purchase.number_of_people,
        items=purchase.items,
        stamps_earned=stamps,
        created_at=purchase.created,
        recorded_at=now,
    )
    try:
        with transaction.atomic():
            if stamps:
                record.award = purchase_award(merchant, record, now=now)
            record.save()
    except IntegrityError:
        if invoice_taken(record):
            raise DuplicateInvoice() from None
        raise
    return record


def invoice_taken(record: Transaction) -> bool:
    return Transaction.objects.filter(
        store=record.store,
        invoice_number=record.invoice_number,
        invoice_date=record.invoice_date,
    ).exists()


def purchase_award(merchant: Merchant, record: Transaction, *, now: datetime) -> Any:
    assert record.membership is not None
    return award_create(
        merchant=merchant,
        request=AwardRequest(
            user=str(record.membership.pk),
            store=record.store_id,
            number_of_stamps=record.stamps_earned,
            notes=f"Purchase {record.invoice_number}"[:255],
            require_email_notification=False,
        ),
        now=now,
    )


def transaction_cancel(
    *, merchant: Merchant, transaction_id: int, cancel_related_redemptions: bool, now: datetime
) -> Transaction:
    record = Transaction.objects.filter(pk=transaction_id, merchant=merchant).first()
    if record is None:
        raise NotFound("Transaction not found", field="id")
    with transaction.atomic():
        record = Transaction.objects.select_for_update().get(pk=record.pk)
        if record.status == TransactionStatus.CANCELED:
            raise TransactionNotCancelable("Transaction is already canceled")
        if cancel_related_redemptions and record.membership_id:
            related_redemptions_cancel(merchant, record, now=now)
        if record.award_id:
            earned_stamps_take_back(merchant, record, now=now)
        record.status = TransactionStatus.CANCELED
        record.canceled_at = now
        record.save(update_fields=["status", "canceled_at"])
    return record


def related_redemptions_cancel(merchant: Merchant, record: Transaction, *, now: datetime) -> None:
    related = Redemption.objects.filter(
        membership_id=record.membership_id,
        invoice_number=record.invoice_number,
        status=RedemptionStatus.ACTIVE,
    ).values_list("pk", flat=True)
    for redemption_id in list(related):
        redemption_cancel(merchant=merchant, redemption_id=redemption_id, now=now)


def earned_stamps_take_back(merchant: Merchant, record: Transaction, *, now: datetime) -> None:
    try:
        award_cancel(
            merchant=merchant, user=str(record.membership_id), award_id=record.award_id, now=now
        )
    except DomainError as refusal:
        if refusal.code == "insufficient_stamps":
            raise TransactionNotCancelable(
                "Transaction can't be canceled due to insufficient Stamps"
            ) from refusal
        raise
