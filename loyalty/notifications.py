"""Customer emails go through an outbox: written by the ledger in the award's transaction
(stamps_award, loyalty/sql), sent after commit by `manage.py send_emails`, retried with
back-off until delivered; rows done with are deleted after a while by
`manage.py purge_sent_emails`."""

import logging
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.models import EmailOutbox, OutboxStatus

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
OUTBOX_RETENTION = timedelta(days=30)
MIN_OUTBOX_RETENTION = timedelta(days=1)
PURGE_BATCH = 10_000


def award_email_text(email: EmailOutbox) -> tuple[str, str]:
    award = email.award
    subject = f"You earned {award.number_of_stamps} stamps"
    body = (
        f"You earned {award.number_of_stamps} stamps. You now hold {email.stamps_after} "
        f"stamps; these expire on {award.expiration_date.isoformat()}."
    )
    return subject, body


def outbox_send_due(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Sends due emails; each row is claimed under a skip-locked row lock, so several
    workers can run at once without sending an email twice. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            EmailOutbox.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("award")
            .filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:batch_size]
        )
        for email in due:
            sent += email_deliver(email, now=now)
    return sent


def email_deliver(email: EmailOutbox, *, now: datetime) -> int:
    email.attempts += 1
    try:
        subject, body = award_email_text(email)
        send_mail(subject, body, None, [email.recipient])
    except Exception as error:  # any transport failure: keep the row and try again later
        logger.warning("email %s failed (attempt %s): %s", email.pk, email.attempts, error)
        email.last_error = str(error)[:2000]
        email.next_attempt_at = now + timedelta(minutes=2 ** min(email.attempts, 10))
        if email.attempts >= MAX_ATTEMPTS:
            email.status = OutboxStatus.FAILED
        email.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
        return 0
    email.status = OutboxStatus.SENT
    email.sent_at = now
    email.save(update_fields=["attempts", "status", "sent_at"])
    return 1


def outbox_purge(
    *, now: datetime, older_than: timedelta = OUTBOX_RETENTION, batch_size: int = PURGE_BATCH
) -> int:
    """Deletes emails sent, or given up on, more than `older_than` ago (at least a day):
    each row holds a customer's address, and nothing reads it once it is done with. Pending
    emails stay whatever their age. Deleted in batches, each its own short transaction, so
    the outbox's writers never wait long. Returns how many were deleted."""
    cutoff = now - max(older_than, MIN_OUTBOX_RETENTION)
    done_with = EmailOutbox.objects.filter(
        Q(status=OutboxStatus.SENT, sent_at__lt=cutoff)
        | Q(status=OutboxStatus.FAILED, created_at__lt=cutoff)
    )
    deleted = 0
    while batch := list(done_with.values_list("pk", flat=True)[:batch_size]):
        count, _ = EmailOutbox.objects.filter(pk__in=batch).delete()
        deleted += count
    return deleted
