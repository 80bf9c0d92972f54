from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """STAMPS_THROTTLE_RATE requests per API token (e.g. "50/second"); empty turns it off.
    Counts live in the Django cache: set REDIS_URL so every server process shares them."""

    scope = "token"

    def get_rate(self) -> str | None:
        return settings.STAMPS_THROTTLE_RATE or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token_id = getattr(request.user, "token_id", None)  # an API key's caller, else none
        return None if token_id is None else f"throttle:token:{token_id}"
