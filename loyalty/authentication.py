"""Merchant API keys: `Authorization: Token <key>`, `Authorization: Bearer <key>`, or a
`token` field in the body or query string (older Stamps clients send it that way)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, permissions
from rest_framework.request import Request

from core.errors import InvalidToken
from loyalty.models import ApiToken, Merchant
from loyalty.tokens import api_token_authenticate

HEADER_SCHEMES = {"token", "bearer"}


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: a merchant, through one of its API keys."""

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
    known = _clients.get(token.pk)
    if known is not None and known[0] is token:
        return known[1]
    client = ApiClient(merchant=token.merchant, token_id=token.pk)
    if len(_clients) >= CLIENTS_REMEMBERED:
        _clients.clear()
    _clients[token.pk] = (token, client)
    return client


# The caller made for each token loyalty.tokens last handed out: while it hands out the same
# token object (from its cache), the caller is the same too; a token read again (its time in
# the cache over) makes a new caller, with the merchant as it is now.
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


class MerchantTokenScheme(OpenApiAuthenticationExtension):
    """MerchantTokenAuthentication in the OpenAPI schema, as any one of two schemes."""

    target_class = MerchantTokenAuthentication
    name = ["tokenHeader", "tokenQuery"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{name: []} for name in self.name]  # any one of them, not all

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "The merchant's API key as `Token <key>` or `Bearer <key>`.",
            },
            {
                "type": "apiKey",
                "in": "query",
                "name": "token",
                "description": (
                    "The key as `token` in the query string. POST endpoints also take `token` "
                    "in the body, as older Stamps clients send it. A header wins over both."
                ),
            },
        ]
