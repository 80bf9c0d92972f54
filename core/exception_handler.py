"""Renders every error in the Stamps shape the view declares (README, "Errors")."""

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import (
    INFO_KEY,
    LEGACY_DETAIL,
    NON_FIELD,
    DomainError,
    ErrorStyle,
    InvalidToken,
)
from core.metrics import DATABASE_UNAVAILABLE


def stamps_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    style = getattr(context.get("view"), "error_style", ErrorStyle.FIELD_MAP)
    if isinstance(exc, DomainError):
        return domain_refusal(exc, style)
    if isinstance(exc, exceptions.ValidationError):
        return Response(render_errors(flatten(exc.detail), style), status=exc.status_code)
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        errors = [(NON_FIELD, str(exc.detail), exc.default_code)]
        return Response(render_errors(errors, style), status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, InvalidToken):
        response["WWW-Authenticate"] = "Token"
    return response


def flatten(detail: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """Serializer errors as (field, message, code), first message of each field, in order."""
    if isinstance(detail, dict):
        flat: list[tuple[str, str, str]] = []
        for key, value in detail.items():
            name = NON_FIELD if key in ("non_field_errors", NON_FIELD) else str(key)
            flat.extend(flatten(value, f"{prefix}{name}" if not prefix else f"{prefix}.{name}"))
        return flat
    if isinstance(detail, list):
        for item in detail:
            if item:
                return flatten(item, prefix)
        return []
    return [(prefix or NON_FIELD, str(detail), getattr(detail, "code", None) or "invalid")]


def domain_refusal(exc: DomainError, style: ErrorStyle) -> Response:
    """A refusal in the view's style; the bare style files it under `info` and, as the
    documents suggest for an unknown id, answers a 404 with DRF's own body."""
    if style is ErrorStyle.INFO:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            return Response({"detail": str(exceptions.NotFound.default_detail)}, status=404)
        return Response({"errors": {INFO_KEY: exc.message}}, status=exc.status_code)
    errors = [(exc.field or NON_FIELD, exc.message, exc.code)]
    return Response(render_errors(errors, style), status=exc.status_code)


def render_errors(errors: list[tuple[str, str, str]], style: ErrorStyle) -> dict[str, Any]:
    if style is ErrorStyle.LEGACY_LIST:
        return {
            "detail": LEGACY_DETAIL,
            "errors": [{field: message.rstrip(".")} for field, message, _ in errors],
        }
    if style is ErrorStyle.LEGACY_SENTENCES:
        return {"detail": LEGACY_DETAIL, "errors": [{field: text} for field, text, _ in errors]}
    if style is ErrorStyle.INFO:
        return {"errors": {name: text for name, text, _ in errors}}
    field, message, code = errors[0]
    detail = f"{field}: {message}"  # the form-level (__all__) message keeps its prefix here
    return {
        "detail": detail,
        "error_message": message if field == NON_FIELD else detail,
        "error_code": code,
        "errors": {name: text for name, text, _ in errors},
    }


def database_unavailable() -> Response:
    """A dropped connection, a restart, a deadlock or a lock timeout: nothing was applied
    that the client can see, and the same request may simply be sent again (with its
    Idempotency-Key, if the first attempt might have committed)."""
    DATABASE_UNAVAILABLE.inc()
    response = Response({"detail": "The database is unavailable; retry shortly"}, status=503)
    response["Retry-After"] = "1"
    return response
