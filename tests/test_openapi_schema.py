"""The published contract: generated from the code without a warning, and readable by a
till's developer who has no key yet."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
PUBLISHED = ["/api/schema/", "/api/docs/"]


def test_the_schema_is_valid_openapi_and_generates_without_a_warning(tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.yaml"

    call_command("spectacular", validate=True, fail_on_warn=True, file=str(schema_file))

    assert schema_file.read_text().startswith("openapi: 3.")


@pytest.mark.parametrize("path", PUBLISHED)
def test_is_served_without_a_key(anonymous: APIClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


@pytest.mark.parametrize("path", PUBLISHED)
def test_is_served_even_with_a_bad_key(anonymous: APIClient, path: str) -> None:
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-key")

    assert anonymous.get(path).status_code == 200


def test_the_schema_names_the_api_and_how_to_authenticate(anonymous: APIClient) -> None:
    schema = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert schema["info"]["title"] == "Stamps-compatible loyalty API"
    schemes = schema["components"]["securitySchemes"]
    header, query = schemes["tokenHeader"], schemes["tokenQuery"]
    assert (header["type"], header["in"], header["name"]) == ("apiKey", "header", "Authorization")
    assert (query["type"], query["in"], query["name"]) == ("apiKey", "query", "token")


def test_the_docs_load_swagger_ui_from_this_server_not_a_cdn(anonymous: APIClient) -> None:
    page = anonymous.get("/api/docs/").content.decode()

    assert "drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn.jsdelivr.net" not in page


@pytest.mark.parametrize("path", PUBLISHED)
def test_is_refused_over_plain_http_when_https_is_required(
    settings, anonymous: APIClient, path: str
) -> None:
    settings.STAMPS_REQUIRE_HTTPS = True

    assert anonymous.get(path).status_code == 403
    assert anonymous.get(path, secure=True).status_code == 200


def test_the_member_id_pattern_says_what_a_member_id_may_be(anonymous: APIClient) -> None:
    # OpenAPI cannot say "must not match": an inverted validator published its own regex ("@")
    schema = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    register = schema["paths"]["/api/memberships/register/"]["post"]["requestBody"]
    body_ref = register["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    (pattern,) = [
        choice["pattern"]
        for choice in body["properties"]["member_id"]["oneOf"]
        if "pattern" in choice
    ]

    assert re.search(pattern, "CARD-0042")
    assert not re.search(pattern, "someone@example.com")
