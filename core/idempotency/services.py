"""Idempotent retries (after Stripe's design): the first request with a key applies once;
a retry with the same key and body gets the stored answer back byte for byte.

The answer is stored in the same transaction as the change it reports, and so is a refusal:
whichever attempt of a request runs first decides it, so an attempt a till gave up on, still
queued at the server, cannot apply after its retry was refused."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import status

from core.answers import JSON_HEADERS, Answer
from core.db import execute, function_row, violated_constraint
from core.errors import DomainError
from core.idempotency.models import KEY_UNIQUE, IdempotentResponse
from core.metrics import IDEMPOTENCY_CONFLICTS, IDEMPOTENT_REPLAYS

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
# What an Idempotency-Key may be, for the docs' pattern (OpenAPI) and the check below.
KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"


class InvalidIdempotencyKey(DomainError):
    code = "invalid"
    message = "Idempotency-Key must be 1 to 255 printable ASCII characters"
    field = "idempotency_key"


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status_code = status.HTTP_409_CONFLICT
    message = "A request with this Idempotency-Key is still being processed; retry shortly"
    field = "idempotency_key"


def key_in_use() -> IdempotencyKeyInUse:
    """The 409 of a key in flight, counted for /metrics where it is raised."""
    IDEMPOTENCY_CONFLICTS.inc()
    return IdempotencyKeyInUse()


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
    read it (core.api.StampsInput): a required one sent as null is refused as malformed."""
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
    merchant: Any,
    key: str,
    fingerprint: str,
    now: datetime,
    call: Callable[[], Answer],
    refusal_answer: Callable[[DomainError], Answer],
) -> Answer:
    """Applies `call` once per key and stores its answer, or its refusal (rendered by
    `refusal_answer`), with the change it made."""
    with transaction.atomic():
        stored = key_claim(merchant_id=merchant.pk, key=key)
        if stored is not None:
            return replay(stored, fingerprint=fingerprint)
        try:
            answer = call()
        except DomainError as refusal:
            # The ledger refuses before writing anything, so this transaction can still
            # store the refusal.
            answer = refusal_answer(refusal)
        try:  # no savepoint: on a twin's key the whole transaction goes, its change too
            response_store(
                merchant_id=merchant.pk,
                key=key,
                fingerprint=fingerprint,
                answer=answer,
                now=now,
            )
        except IntegrityError as error:
            if violated_constraint(error) != KEY_UNIQUE:
                raise
            raise key_in_use() from error  # a twin that slipped past key_claim
    return answer


def key_claim(*, merchant_id: int, key: str) -> StoredResponse | None:
    """Marks the key as in flight for this transaction and returns the answer stored under
    it, if any. A transaction-scoped advisory lock marks it, so a concurrent twin is told 409
    at once instead of queueing behind the first (idempotency/sql/0002_claim.sql)."""
    digest = hashlib.blake2b(f"{merchant_id}:{key}".encode(), digest_size=8).digest()
    lock = int.from_bytes(digest, "big", signed=True)
    claimed, stored_fingerprint, status_code, body = function_row(
        "idempotency_claim", [merchant_id, key, lock], "*"
    )
    if not claimed:
        raise key_in_use()
    if stored_fingerprint is None:
        return None
    return StoredResponse(stored_fingerprint, status_code, bytes(body))


STORE = (
    f"INSERT INTO {IdempotentResponse._meta.db_table}"
    " (merchant_id, key, fingerprint, status_code, body, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def response_store(
    *, merchant_id: int, key: str, fingerprint: str, answer: Answer, now: datetime
) -> None:
    """One INSERT: the ORM's create() would cost more Python than the award it stores."""
    execute(STORE, [merchant_id, key, fingerprint, answer.status, answer.body, now])


REPLAYED_HEADERS = (*JSON_HEADERS, (REPLAY_HEADER, "true"))


def replay(stored: StoredResponse, *, fingerprint: str) -> Answer:
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    IDEMPOTENT_REPLAYS.inc()
    return Answer(stored.status_code, stored.body, REPLAYED_HEADERS)


def idempotency_purge(*, now: datetime, older_than: timedelta = RETENTION) -> int:
    cutoff = now - max(older_than, RETENTION)
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
