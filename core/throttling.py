import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # second, minute, hour, day


def parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/minute" as (6000, 60); the settings check the form at start."""
    count, period = rate.split("/")
    return int(count), PERIOD_SECONDS[period[0]]


class TokenRateThrottle(BaseThrottle):
    """STAMPS_THROTTLE_RATE requests per API key (e.g. "6000/minute"); empty turns it off.

    A fixed window counted with the cache's atomic add and incr, so calls made at once on
    one key are each counted (DRF's SimpleRateThrottle reads, appends to and writes back a
    history list, and concurrent calls overwrite each other's). Counts live in the Django
    cache: set REDIS_URL so every server process shares them. Should the cache fail, calls
    are let through and the failure logged: stamps keep flowing while the limit is down."""

    def allow_request(self, request: Request, view: Any) -> bool:
        token_id = getattr(request.user, "token_id", None)  # an API key's caller, else none
        rate = settings.STAMPS_THROTTLE_RATE
        if token_id is None or not rate:
            return True
        limit, seconds = parse_rate(rate)
        window = int(time.time() // seconds)
        key = f"throttle:token:{token_id}:{window}"
        try:
            cache.add(key, 0, timeout=seconds + 1)
            calls = cache.incr(key)
        except Exception:  # a cache server that is down or unreachable
            logger.warning("rate limit not applied: the cache failed", exc_info=True)
            return True
        self.retry_after = seconds * (window + 1) - time.time()
        return calls <= limit

    def wait(self) -> float | None:
        return max(1.0, getattr(self, "retry_after", 1.0))
