from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    """Idempotent retries of every Stamps POST; part of core, which every endpoint uses."""

    name = "core.idempotency"
    label = "idempotency"
