"""Django's request housekeeping, as the WSGI lane (stamps_server.wsgi_lane) runs it: the
receivers Django connects to request_started and request_finished, called directly rather
than through the signals, whose dispatch costs a tenth of an award's Python.

Where two of Django's receivers each walk the thread's database connections, the lane walks
them once for both, and reads them from the thread's storage rather than through asgiref's
Local (stamps_server.db.initialized_connections): a walk through the Local costs about as
much as validating the request's body. A receiver connected to the signals later has to be added
here; tests/test_wsgi_stacks.py fails until it is."""

from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import close_caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.base import reset_urlconf
from django.core.signals import setting_changed
from django.db import close_old_connections, reset_queries
from django.utils.module_loading import import_string

from stamps_server.db import initialized_connections


def connections_at_request_start(**kwargs: Any) -> None:
    """reset_queries and close_old_connections, in one walk over the connections."""
    for connection in initialized_connections():
        connection.queries_log.clear()
        connection.close_if_unusable_or_obsolete()


def connections_at_request_finish(**kwargs: Any) -> None:
    """close_old_connections."""
    for connection in initialized_connections():
        connection.close_if_unusable_or_obsolete()


def caches_closed(**kwargs: Any) -> None:
    """close_caches, where a configured backend has something to close; the locmem and
    Redis backends have not (theirs is BaseCache.close, which does nothing)."""
    if some_cache_closes():
        close_caches()


@cache
def some_cache_closes() -> bool:
    return any(
        import_string(cache["BACKEND"]).close is not BaseCache.close
        for cache in settings.CACHES.values()
    )


def caches_setting_forget(**kwargs: Any) -> None:
    some_cache_closes.cache_clear()


setting_changed.connect(caches_setting_forget)

ON_REQUEST_STARTED = (connections_at_request_start,)
ON_REQUEST_FINISHED = (connections_at_request_finish, caches_closed)
# Django's receivers each of the lane's stands in for (any other stands for itself).
STANDS_IN_FOR = {
    connections_at_request_start: (reset_queries, close_old_connections),
    connections_at_request_finish: (close_old_connections,),
    caches_closed: (close_caches,),
}
# Django's receivers the lane has no work for: reset_urlconf drops the urlconf that Django's
# handler sets as each of its requests starts; the lane sets none (and asking asgiref's
# Local whether one is set, to find it is not, costs a raised and caught AttributeError).
NOTHING_TO_DO_ON_THE_LANE = (reset_urlconf,)
