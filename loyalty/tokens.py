"""API keys: random, shown once, stored as a SHA-256 digest.

A fast digest is enough here: keys carry 160 random bits, so there is nothing to brute-force
that a slow password hash would protect, and every request must look its key up."""

import hashlib
import secrets
from dataclasses import dataclass

from django.utils import timezone

from loyalty.models import ApiToken, Merchant


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only moment the key exists in plaintext


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(*, merchant: Merchant, name: str) -> IssuedToken:
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        merchant=merchant, name=name, key_prefix=key[:8], key_digest=key_digest(key)
    )
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_token_authenticate(*, key: str) -> ApiToken | None:
    if len(key) > 200:
        return None
    return (
        ApiToken.objects.select_related("merchant")
        .filter(key_digest=key_digest(key), revoked_at__isnull=True)
        .first()
    )
