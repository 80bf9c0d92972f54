"""API keys: random, shown once, stored as a SHA-256 digest.

A fast digest is enough here: keys carry 160 random bits, so there is nothing to brute-force
that a slow password hash would protect, and every request must look its key up."""

import hashlib
import secrets
from dataclasses import dataclass
from time import monotonic

from django.conf import settings
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
    _known_tokens.pop(token.key_digest, None)  # this process at once; others within the TTL


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The active token with this key. Answers are kept per process for
    STAMPS_TOKEN_CACHE_SECONDS, so a revoked key (or a merchant setting changed in the admin)
    takes effect within that time; 0 looks every request up."""
    if len(key) > 200:
        return None
    digest = key_digest(key)
    ttl = settings.STAMPS_TOKEN_CACHE_SECONDS
    cached = _known_tokens.get(digest)
    if ttl and cached is not None and cached[1] > monotonic():
        return cached[0]
    token = (
        ApiToken.objects.select_related("merchant")
        .filter(key_digest=digest, revoked_at__isnull=True)
        .first()
    )
    if ttl and token is not None:
        if len(_known_tokens) >= TOKEN_CACHE_SIZE:
            _known_tokens.clear()
        _known_tokens[digest] = (token, monotonic() + ttl)
    return token


def token_cache_clear() -> None:
    _known_tokens.clear()


TOKEN_CACHE_SIZE = 10_000
_known_tokens: dict[str, tuple[ApiToken, float]] = {}
