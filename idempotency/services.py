"""Idempotent retries (after Stripe's design): the first request with a key applies once;
a retry with the same key and body gets the stored answer back byte for byte.

Only a request that changed something is stored: a refused one rolled back with nothing
applied, so retrying it simply asks again."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from rest_framework import status

from idempotency.models import KEY_UNIQUE, IdempotentResponse
from loyalty.models import Merchant
from stamps_server import db
from stamps_server.errors import DomainError

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)


class InvalidIdempotencyKey(DomainError):
    code = "invalid"
    message = "Idempotency-Key must be 1 to 255 printable ASCII characters"
    field = "idempotency_key"


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status_code = status.HTTP_409_CONFLICT
    message = "A request with this Idempotency-Key is still being processed; retry shortly"
    field = "idempotency_key"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    message = "This Idempotency-Key was already used with a different request"
    field = "idempotency_key"


def idempotency_key_check(raw: str) -> str:
    if not 1 <= len(raw) <= 255 or not (raw.isascii() and raw.isprintable()):
        raise InvalidIdempotencyKey()
    return raw


def request_fingerprint(*, path: str, data: Any) -> str:
    """What a retry must repeat. A field sent as null counts as not sent, as the endpoints
    read it (stamps_server.api.StampsInput): a required one sent as null is refused as
    malformed, which stores nothing to compare with."""
    if isinstance(data, dict):
        data = {name: value for name, value in data.items() if value is not None}
    canonical = json.dumps([path, data], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: bytes


def idempotent_call(
    *,
    merchant: Merchant,
    key: str,
    fingerprint: str,
    now: datetime,
    call: Callable[[], HttpResponse],
    refusal_answer: Callable[[DomainError], HttpResponse],
) -> HttpResponse:
    """Applies `call` once per key. Its answer is stored with its ledger change, and so is a
    refusal (rendered by `refusal_answer`): whichever attempt of a request runs first
    decides it, so an attempt a till gave up on cannot apply after a retry was refused."""
    with transaction.atomic():
        stored = key_claim(merchant=merchant, key=key)
        if stored is not None:
            return replay(stored, fingerprint=fingerprint)
        try:
            response = call()
        except DomainError as refusal:
            # The ledger refuses before writing (loyalty/sql/ledger.sql) or inside a
            # savepoint (loyalty/services.py), so this transaction can still store the refusal.
            response = refusal_answer(refusal)
        try:  # the transaction's last statement: it goes with the COMMIT
            response_store(
                merchant=merchant, key=key, fingerprint=fingerprint, response=response, now=now
            )
        except IntegrityError as error:
            # No savepoint: this transaction is abandoned whole, its ledger change included.
            if not key_taken(error):  # a check at COMMIT (deferred foreign keys) refused it
                raise
            raise IdempotencyKeyInUse() from error  # a twin that slipped past key_claim
    return response


def key_taken(error: IntegrityError) -> bool:
    """Whether the key's unique constraint refused the stored answer. PostgreSQL names the
    constraint; on SQLite the COMMIT is not sent with the answer, so the key's is the only
    constraint the INSERT can break."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return diagnostics is None or diagnostics.constraint_name == KEY_UNIQUE


def key_claim(*, merchant: Merchant, key: str) -> StoredResponse | None:
    """Marks the key as in flight and returns the answer stored under it, if any.
    On PostgreSQL, a transaction-scoped advisory lock marks it, so a concurrent twin is told
    409 at once instead of queueing behind the first (idempotency/sql/claim.sql).
    SQLite runs one writer at a time, so there the twin simply sees the stored answer."""
    if connection.vendor != "postgresql":
        stored = IdempotentResponse.objects.filter(merchant=merchant, key=key)
        row = stored.values_list("fingerprint", "status_code", "body").first()
        return None if row is None else StoredResponse(row[0], row[1], bytes(row[2]))
    digest = hashlib.blake2b(f"{merchant.pk}:{key}".encode(), digest_size=8).digest()
    lock = int.from_bytes(digest, "big", signed=True)
    row = db.one_row("SELECT * FROM idempotency_claim(%s, %s, %s)", [merchant.pk, key, lock])
    assert row is not None  # a function call returns its row
    claimed, stored_fingerprint, status_code, body = row
    if not claimed:
        raise IdempotencyKeyInUse()
    if stored_fingerprint is None:
        return None
    return StoredResponse(stored_fingerprint, status_code, bytes(body))


def response_store(
    *, merchant: Merchant, key: str, fingerprint: str, response: HttpResponse, now: datetime
) -> None:
    """The ORM's create() costs more Python than the rest of an award; this is one INSERT,
    sent with the COMMIT of an outermost transaction (stamps_server.db.execute_and_commit)."""
    db.execute_and_commit(
        f"INSERT INTO {IdempotentResponse._meta.db_table}"
        " (merchant_id, key, fingerprint, status_code, body, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [
            merchant.pk,
            key,
            fingerprint,
            response.status_code,
            response.content,
            connection.ops.adapt_datetimefield_value(now),
        ],
    )


def replay(stored: StoredResponse, *, fingerprint: str) -> HttpResponse:
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    response = HttpResponse(stored.body, status=stored.status_code, content_type="application/json")
    response[REPLAY_HEADER] = "true"
    return response


def idempotency_purge(*, now: datetime, older_than: timedelta = RETENTION) -> int:
    cutoff = now - max(older_than, RETENTION)
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
