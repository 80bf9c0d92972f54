"""What every endpoint shares: the ways a key may be sent, https, methods and bodies."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from loyalty.authentication import api_client_for_key
from loyalty.models import (
    ApiToken,
    Award,
    EmailOutbox,
    LedgerEntry,
    Membership,
    Merchant,
    StampsDeduction,
)
from loyalty.tokens import api_token_create, api_token_revoke, token_cache_clear
from redemptions.models import Redemption, Reward
from tests.error_styles import assert_documented_error
from tests.factories import RewardFactory, award_stamps

pytestmark = pytest.mark.django_db
LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN = {"detail": "Invalid token"}
USE_HTTPS = {"detail": "Please use https instead of http"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    legacy: bool

    def __str__(self) -> str:
        return self.name


ENDPOINTS = [
    Endpoint("stamps-add", "/api/stamps/add", legacy=False),
    Endpoint("stamps-cancel", "/api/stamps/cancel", legacy=False),
    Endpoint("deduct-stamps", "/api/memberships/deduct-stamps", legacy=False),
    Endpoint("redemptions-add", "/api/redemptions/add", legacy=True),
]
every_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)


@dataclass
class Scene:
    """A member holding stamps, an award to cancel and a reward to redeem, so that every
    endpoint has a request that would succeed."""

    tenant: Any
    award: Award
    reward: Reward

    def body(self, endpoint: Endpoint) -> dict[str, Any]:
        member, store = self.tenant.member, self.tenant.store
        return {
            "stamps-add": {"user": member.email, "store": store.pk, "number_of_stamps": 1},
            "stamps-cancel": {"user": member.email, "id": self.award.pk},
            "deduct-stamps": {"user": member.email, "stamps": 1, "notes": "n"},
            "redemptions-add": {
                "customer": member.email,
                "store": store.pk,
                "reward": self.reward.pk,
            },
        }[endpoint.name]


def make_scene(tenant) -> Scene:
    award_stamps(tenant.member, 5, store=tenant.store)
    award = award_stamps(tenant.member, 3, store=tenant.store)
    reward = RewardFactory(merchant=tenant.merchant, stamps_to_redeem=2)
    return Scene(tenant=tenant, award=award, reward=reward)


def written() -> tuple:
    """Everything a request could change."""
    return (
        Award.objects.count(),
        list(Award.objects.order_by("pk").values_list("status", "stamps_remaining")),
        LedgerEntry.objects.count(),
        StampsDeduction.objects.count(),
        Redemption.objects.count(),
        EmailOutbox.objects.count(),
        list(Membership.objects.order_by("pk").values_list("stamps", "qualifying_stamps")),
        list(Reward.objects.order_by("pk").values_list("stock", flat=True)),
    )


def assert_error_shape(response, endpoint: Endpoint) -> None:
    assert_documented_error(endpoint.path, response)


def assert_applied(response, before: tuple) -> None:
    """What the till sees of an accepted key: its call answered and applied."""
    assert response.status_code == 200, response.content
    assert written() != before


def form_post(client: APIClient, path: str, data: dict[str, Any]):
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")


def client_with(authorization: str | None = None) -> APIClient:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


class TestCredentials:
    @every_endpoint
    @pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "BEARER"])
    def test_accepts_the_key_in_an_authorization_header(self, tenant, endpoint, scheme):
        scene = make_scene(tenant)
        before = written()

        response = client_with(f"{scheme} {tenant.key}").post(
            endpoint.path, scene.body(endpoint), format="json"
        )

        assert_applied(response, before)

    @every_endpoint
    def test_accepts_the_key_as_a_token_field_in_the_json_body(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = client_with().post(
            endpoint.path, scene.body(endpoint) | {"token": tenant.key}, format="json"
        )

        assert_applied(response, before)

    @every_endpoint
    def test_accepts_the_key_as_a_token_field_in_a_form_body(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = form_post(
            client_with(), endpoint.path, scene.body(endpoint) | {"token": tenant.key}
        )

        assert_applied(response, before)

    @every_endpoint
    def test_accepts_the_key_in_the_query_string(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = client_with().post(
            f"{endpoint.path}?token={tenant.key}", scene.body(endpoint), format="json"
        )

        assert_applied(response, before)

    @every_endpoint
    def test_refuses_a_request_without_credentials_with_403(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = client_with().post(endpoint.path, scene.body(endpoint), format="json")

        assert response.status_code == 403
        assert response.json() == NOT_PROVIDED
        assert written() == before

    @every_endpoint
    def test_treats_an_empty_token_field_as_no_credentials(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = client_with().post(
            endpoint.path, scene.body(endpoint) | {"token": ""}, format="json"
        )

        assert response.status_code == 403
        assert response.json() == NOT_PROVIDED
        assert written() == before

    @every_endpoint
    @pytest.mark.parametrize(
        "authorization",
        [
            "Token 0000000000000000000000000000000000000000",
            "Bearer not-a-key",
            "Token ",
            "Token",
            "Basic dXNlcjpwYXNz",
            "Token " + "k" * 500,
        ],
    )
    def test_refuses_a_wrong_key_in_the_header_with_401(self, tenant, endpoint, authorization):
        scene = make_scene(tenant)
        before = written()

        response = client_with(authorization).post(
            endpoint.path, scene.body(endpoint), format="json"
        )

        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN
        assert response["WWW-Authenticate"] == "Token"
        assert written() == before

    @every_endpoint
    @pytest.mark.parametrize("token", ["wrong", 12345, ["list"], {"key": "value"}, True])
    def test_refuses_a_wrong_token_field_with_401(self, tenant, endpoint, token):
        scene = make_scene(tenant)
        before = written()

        response = client_with().post(
            endpoint.path, scene.body(endpoint) | {"token": token}, format="json"
        )

        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN
        assert written() == before

    @every_endpoint
    def test_refuses_a_revoked_key_with_401(self, tenant, endpoint):
        scene = make_scene(tenant)
        api_token_revoke(token=ApiToken.objects.get(merchant=tenant.merchant))
        before = written()

        header = client_with(f"Token {tenant.key}").post(
            endpoint.path, scene.body(endpoint), format="json"
        )
        body = client_with().post(
            endpoint.path, scene.body(endpoint) | {"token": tenant.key}, format="json"
        )

        assert (header.status_code, body.status_code) == (401, 401)
        assert header.json() == body.json() == INVALID_TOKEN
        assert written() == before

    def test_revoking_one_key_leaves_the_merchants_other_keys_working(self, tenant):
        scene = make_scene(tenant)
        second = api_token_create(merchant=tenant.merchant, name="second till")
        api_token_revoke(token=ApiToken.objects.get(merchant=tenant.merchant, name="till"))
        endpoint = ENDPOINTS[0]

        response = client_with(f"Token {second.key}").post(
            endpoint.path, scene.body(endpoint), format="json"
        )

        assert response.status_code == 200

    def test_stores_only_a_digest_of_the_key(self, tenant):
        token = ApiToken.objects.get(merchant=tenant.merchant)

        assert token.key_digest == hashlib.sha256(tenant.key.encode()).hexdigest()
        assert tenant.key not in (token.key_digest, token.key_prefix, token.name)
        assert tenant.key.startswith(token.key_prefix)

    def test_a_wrong_header_is_not_rescued_by_a_right_body_token(self, tenant):
        scene = make_scene(tenant)
        endpoint = ENDPOINTS[2]
        before = written()

        response = client_with("Token wrong").post(
            endpoint.path, scene.body(endpoint) | {"token": tenant.key}, format="json"
        )

        assert response.status_code == 401
        assert written() == before


class TestHttps:
    @every_endpoint
    def test_refuses_plain_http_when_https_is_required(self, tenant, endpoint, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        scene = make_scene(tenant)
        before = written()

        response = tenant.post(endpoint.path, scene.body(endpoint))

        assert response.status_code == 403
        assert response.json() == USE_HTTPS
        assert written() == before

    @every_endpoint
    def test_refuses_plain_http_before_looking_at_credentials(self, tenant, endpoint, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        scene = make_scene(tenant)

        response = client_with().post(endpoint.path, scene.body(endpoint), format="json")

        assert response.status_code == 403
        assert response.json() == USE_HTTPS

    @every_endpoint
    def test_answers_https_when_https_is_required(self, tenant, endpoint, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        scene = make_scene(tenant)

        response = tenant.post(endpoint.path, scene.body(endpoint), secure=True)

        assert response.status_code == 200

    def test_trusts_x_forwarded_proto_when_configured_to(self, tenant, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        scene = make_scene(tenant)
        endpoint = ENDPOINTS[0]

        response = tenant.post(endpoint.path, scene.body(endpoint), HTTP_X_FORWARDED_PROTO="https")

        assert response.status_code == 200

    def test_a_trusted_proxy_saying_http_is_still_refused(self, tenant, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        scene = make_scene(tenant)
        endpoint = ENDPOINTS[0]
        before = written()

        response = tenant.post(endpoint.path, scene.body(endpoint), HTTP_X_FORWARDED_PROTO="http")

        assert response.status_code == 403
        assert response.json() == USE_HTTPS
        assert written() == before

    def test_ignores_x_forwarded_proto_unless_configured_to_trust_it(self, tenant, settings):
        settings.STAMPS_REQUIRE_HTTPS = True
        settings.SECURE_PROXY_SSL_HEADER = None
        scene = make_scene(tenant)
        endpoint = ENDPOINTS[0]
        before = written()

        response = tenant.post(endpoint.path, scene.body(endpoint), HTTP_X_FORWARDED_PROTO="https")

        assert response.status_code == 403
        assert response.json() == USE_HTTPS
        assert written() == before

    def test_the_https_rule_does_not_apply_outside_the_api(self, settings, client):
        settings.STAMPS_REQUIRE_HTTPS = True

        response = client.get("/admin/login/")

        assert response.status_code == 200


class TestMethodsAndPaths:
    @every_endpoint
    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_refuses_other_methods_with_405_and_an_allow_header(self, tenant, endpoint, method):
        scene = make_scene(tenant)
        before = written()

        response = getattr(tenant.client, method)(
            endpoint.path, scene.body(endpoint), format="json"
        )

        assert response.status_code == 405
        assert response["Allow"] == "POST, OPTIONS"
        assert "detail" in response.json()
        assert written() == before

    @every_endpoint
    def test_answers_options_with_the_allowed_methods(self, tenant, endpoint):
        response = tenant.client.options(endpoint.path)

        assert response.status_code == 200
        assert response["Allow"] == "POST, OPTIONS"

    @every_endpoint
    def test_answers_with_a_trailing_slash_too(self, tenant, endpoint):
        scene = make_scene(tenant)
        before = written()

        response = tenant.post(f"{endpoint.path}/", scene.body(endpoint))

        assert response.status_code == 200
        assert written() != before

    @pytest.mark.parametrize("path", ["/api/memberships/add-stamps", "/api/auth/login"])
    def test_answers_a_path_it_does_not_serve_with_a_json_404(self, tenant, path):
        response = tenant.post(path, {"user": tenant.member.email})

        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})

    def test_answers_json_404_in_development_too(self, tenant, settings):
        settings.DEBUG = True  # `make run`: Django's 404 page would be HTML

        response = tenant.client.get("/api/memberships/change", {"user": tenant.member.email})

        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})

    def test_answers_a_page_outside_the_api_it_does_not_serve_in_html(self, anonymous):
        response = anonymous.get("/no-such-page/")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")


# Raw bodies no endpoint can accept, sent with the given content type.
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BAD_BODIES = {
    "malformed json": ("{", JSON),
    "truncated json": ('{"user": "a@b.c", ', JSON),
    "single quoted json": ("{'user': 'a'}", JSON),
    "json list": ('["user", "store"]', JSON),
    "empty json list": ("[]", JSON),
    "json string": ('"hello"', JSON),
    "json number": ("42", JSON),
    "json float": ("1e999", JSON),
    "json null": ("null", JSON),
    "json true": ("true", JSON),
    "json nan": ('{"user": NaN}', JSON),
    "empty json body": ("", JSON),
    "empty json object": ("{}", JSON),
    "not utf-8": (b'{"user": "\xff\xfe"}', JSON),
    "lone surrogate": ('{"user": "\\ud800", "customer": "\\udfff", "notes": "\\ud800"}', JSON),
    "huge integer": ('{"store": ' + "9" * 5000 + "}", JSON),
    "deeply nested arrays": ("[" * 3000 + "]" * 3000, JSON),
    "deeply nested objects": ('{"user": ' * 3000 + "1" + "}" * 3000, JSON),
    "nested values": (
        '{"user": {"a": 1}, "store": [1], "id": {}, "reward": [], "stamps": {}}',
        JSON,
    ),
    "empty form": ("", FORM),
    "garbage form": ("%%%&&&===", FORM),
    "form with blank fields": (
        "user=&store=&id=&stamps=&reward=",
        FORM,
    ),
    "plain text": ("user=a", "text/plain"),
    "xml": ("<user>a</user>", "application/xml"),
    "multipart": ("--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
}


class TestBadBodies:
    @every_endpoint
    @pytest.mark.parametrize("bad", list(BAD_BODIES), ids=str)
    def test_every_bad_body_gets_a_4xx_in_the_endpoints_shape_and_writes_nothing(
        self, tenant, endpoint, bad
    ):
        make_scene(tenant)
        content, content_type = BAD_BODIES[bad]
        before = written()

        response = tenant.client.post(endpoint.path, content, content_type=content_type)

        assert 400 <= response.status_code < 500
        assert_error_shape(response, endpoint)
        assert written() == before

    @every_endpoint
    @pytest.mark.parametrize(
        "value",
        [
            None,
            True,
            1.5,
            -1,
            0,
            2**63,
            10**40,
            "",
            " ",
            "x" * 5000,
            [],
            {},
            "\x00",
            "1" * 1001,
            "²",
        ],
        ids=lambda value: repr(value)[:24],
    )
    def test_every_bad_field_value_gets_a_4xx_in_the_endpoints_shape_and_writes_nothing(
        self, tenant, endpoint, value
    ):
        scene = make_scene(tenant)
        body = scene.body(endpoint)
        before = written()

        for field in [name for name in body if name != "notes"]:
            response = tenant.post(endpoint.path, body | {field: value})

            assert 400 <= response.status_code < 500, (field, response.content)
            assert_error_shape(response, endpoint)
        assert written() == before

    @every_endpoint
    def test_a_valid_form_encoded_body_is_read_like_json(self, tenant, endpoint):
        scene = make_scene(tenant)

        response = form_post(tenant.client, endpoint.path, scene.body(endpoint))

        assert response.status_code == 200

    @every_endpoint
    def test_a_malformed_json_body_is_reported_as_a_parse_error(self, tenant, endpoint):
        make_scene(tenant)

        response = tenant.client.post(endpoint.path, "{", content_type=JSON)

        assert response.status_code == 400
        payload = response.json()
        if endpoint.legacy:
            assert "JSON parse error" in json.dumps(payload["errors"])
        else:
            assert payload["error_code"] == "parse_error"
            assert payload["error_message"].startswith("JSON parse error")
            assert payload["detail"] == f"__all__: {payload['error_message']}"

    @every_endpoint
    def test_an_unsupported_content_type_is_refused_with_415(self, tenant, endpoint):
        make_scene(tenant)

        response = tenant.client.post(endpoint.path, "user=a", content_type="text/plain")

        assert response.status_code == 415
        assert_error_shape(response, endpoint)


class TestBodySizeLimit:
    @every_endpoint
    def test_refuses_a_body_over_the_limit_with_413_and_writes_nothing(
        self, tenant, endpoint, settings
    ):
        settings.STAMPS_MAX_BODY_BYTES = 512
        scene = make_scene(tenant)
        body = scene.body(endpoint) | {"padding": "x" * 600}
        before = written()

        response = tenant.post(endpoint.path, body)

        assert response.status_code == 413
        assert response.json() == {"detail": "Request body too large"}
        assert written() == before

    @every_endpoint
    def test_refuses_an_oversized_body_before_checking_credentials(
        self, tenant, endpoint, settings
    ):
        settings.STAMPS_MAX_BODY_BYTES = 512
        scene = make_scene(tenant)

        response = client_with().post(
            endpoint.path, scene.body(endpoint) | {"padding": "x" * 600}, format="json"
        )

        assert response.status_code == 413

    @every_endpoint
    def test_accepts_a_body_within_the_limit(self, tenant, endpoint, settings):
        settings.STAMPS_MAX_BODY_BYTES = 512
        scene = make_scene(tenant)
        body = scene.body(endpoint) | {"padding": "x" * 300}

        response = tenant.post(endpoint.path, body)

        assert len(json.dumps(body)) <= 512
        assert response.status_code == 200

    def test_the_default_limit_refuses_a_megabyte(self, tenant):
        scene = make_scene(tenant)
        endpoint = ENDPOINTS[2]
        before = written()

        response = tenant.post(endpoint.path, scene.body(endpoint) | {"notes": "n" * 2**20})

        assert response.status_code == 413
        assert written() == before


def test_every_success_leaves_a_trace_so_the_no_write_checks_can_fail(tenant):
    """Guards the helper above: each valid request changes what `written()` sees."""
    scene = make_scene(tenant)

    for endpoint in ENDPOINTS:
        before = written()
        response = tenant.post(endpoint.path, scene.body(endpoint))
        assert response.status_code == 200, endpoint
        assert written() != before, endpoint


class TestTokenCache:
    def test_a_revoked_key_is_refused_at_once_by_the_process_that_revoked_it(self, tenant):
        from loyalty.models import ApiToken
        from loyalty.tokens import api_token_revoke

        body = {"user": tenant.member.email, "stamps": 1, "notes": "x"}
        assert tenant.post("/api/memberships/deduct-stamps", body).status_code == 400
        api_token_revoke(token=ApiToken.objects.get(merchant=tenant.merchant))

        response = tenant.post("/api/memberships/deduct-stamps", body)

        assert response.status_code == 401

    def test_a_key_revoked_elsewhere_stops_working_once_the_cache_expires(self, tenant, settings):
        from django.utils import timezone

        from loyalty.models import ApiToken

        settings.STAMPS_TOKEN_CACHE_SECONDS = 0
        body = {"user": tenant.member.email, "stamps": 1, "notes": "x"}
        tenant.post("/api/memberships/deduct-stamps", body)
        ApiToken.objects.filter(merchant=tenant.merchant).update(revoked_at=timezone.now())

        response = tenant.post("/api/memberships/deduct-stamps", body)

        assert response.status_code == 401


class TestApiClientForKey:
    def test_a_token_read_again_gives_a_client_with_the_merchant_as_it_is_now(
        self, tenant: Any
    ) -> None:
        api_client_for_key(tenant.key)
        Merchant.objects.filter(pk=tenant.merchant.pk).update(max_stamps_per_award=7)
        token_cache_clear()  # as its time in the cache runs out

        client = api_client_for_key(tenant.key)

        assert client is not None
        assert client.merchant.max_stamps_per_award == 7

    def test_a_revoked_token_gives_no_client(self, tenant: Any) -> None:
        api_client_for_key(tenant.key)

        api_token_revoke(token=ApiToken.objects.get(merchant=tenant.merchant))

        assert api_client_for_key(tenant.key) is None
