"""The email outbox's gauges for `GET /metrics`, read from the database at scrape time."""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError, close_old_connections
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from loyalty.models import EmailOutbox, OutboxStatus

logger = logging.getLogger(__name__)


class OutboxCollector(Collector):
    """The customer emails waiting to be sent: how many, and the age of the oldest."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        close_old_connections()
        try:
            pending = EmailOutbox.objects.filter(status=OutboxStatus.PENDING).aggregate(
                count=Count("id"), oldest=Min("created_at")
            )
        except DatabaseError as error:
            logger.warning("metrics: the email outbox could not be read: %s", error)
            return
        finally:
            close_old_connections()
        yield GaugeMetricFamily(
            "stamps_email_outbox_pending", "Customer emails not yet sent", value=pending["count"]
        )
        yield GaugeMetricFamily(
            "stamps_email_outbox_oldest_pending_seconds",
            "Age of the oldest customer email not yet sent (0 when none is pending)",
            value=age_seconds(pending["oldest"], timezone.now()),
        )


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
