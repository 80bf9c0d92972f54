"""Merchant API keys: `Authorization: Token <key>`, `Authorization: Bearer <key>`, or a
`token` field in the body or query string (older Stamps clients send it that way)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, permissions
from rest_framework.request import Request

from loyalty.models import ApiToken, Merchant
from loyalty.tokens import api_token_authenticate
from stamps_server.errors import InvalidToken

HEADER_SCHEMES = {"token", "bearer"}


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: a merchant, through one of its API tokens."""

    merchant: Merchant
    token_id: int
    is_authenticated: bool = True

    @property
    def pk(self) -> int:  # throttles key on the caller's identity
        return self.token_id


class MerchantTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, int] | None:
        key = key_from_header(request.META) or key_from_params(request)
        if key is None:
            return None
        client = api_client_for_key(key)
        if client is None:
            raise InvalidToken()
        return client, client.token_id


def api_client_for_key(key: str) -> ApiClient | None:
    token = api_token_authenticate(key=key)
    if token is None:
        return None
    known = _clients.get(token.id)
    if known is not None and known[0] is token:
        return known[1]
    client = ApiClient(merchant=token.merchant, token_id=token.pk)
    if len(_clients) >= CLIENTS_REMEMBERED:
        _clients.clear()
    _clients[token.id] = (token, client)
    return client


# The client made for each token loyalty.tokens last handed out: while it hands out the same
# token object (its cache), the client is the same too, and building it (the merchant
# through its descriptor, a frozen dataclass) is not repeated on every request.
CLIENTS_REMEMBERED = 10_000
_clients: dict[int, tuple[ApiToken, ApiClient]] = {}


def key_from_header(meta: Mapping[str, Any]) -> str | None:
    header = meta.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() not in HEADER_SCHEMES or not key.strip():
        raise InvalidToken()
    return key.strip()


def key_from_params(request: Request) -> str | None:
    key: Any = request.query_params.get("token")
    if key is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        key = key_from_body(request.data)
    if key is None or key == "":
        return None
    if not isinstance(key, str):
        raise InvalidToken()
    return key


def key_from_body(data: Any) -> Any:
    return data.get("token") if hasattr(data, "get") else None


class HasMerchantToken(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ApiClient)
