"""The error bodies the Stamps documents print, as the tests' own oracle
(../shared/reference/stamps-documented-shapes.md, section 10): which endpoint answers in
which style, and what each style looks like."""

from typing import Any

LEGACY_DETAIL = "Your transaction cannot be completed due to the following error(s)"

FIELD_MAP, LEGACY_LIST, INFO = "field map", "legacy list", "info"
STYLE_BY_PATH = {
    "/api/stamps/add": FIELD_MAP,
    "/api/stamps/cancel": FIELD_MAP,
    "/api/memberships/deduct-stamps": FIELD_MAP,
    "/api/memberships/register": FIELD_MAP,
    "/api/ping": FIELD_MAP,
    "/api/v2/memberships/details": FIELD_MAP,
    "/api/v2/expiration-journals/": FIELD_MAP,
    "/api/v3/activities/": FIELD_MAP,
    "/api/memberships/status": LEGACY_LIST,
    "/api/rewards/": LEGACY_LIST,
    "/api/redemptions/add": LEGACY_LIST,
    "/api/redemptions/cancel": FIELD_MAP,  # the documents print none: the newer style
    "/api/transactions/add": LEGACY_LIST,
    "/api/transactions/cancel": INFO,
}
PLAIN_STATUSES = (401, 403, 405, 406, 413, 429)  # refused before the endpoint runs


def assert_field_map(payload: dict[str, Any]) -> tuple[str, str]:
    """The newer style; returns the first (field, message). `detail` always names the
    field, `error_message` too unless the error is the whole request's (`__all__`)."""
    assert set(payload) == {"detail", "error_message", "error_code", "errors"}, payload
    assert isinstance(payload["error_code"], str) and payload["error_code"]
    assert isinstance(payload["errors"], dict) and payload["errors"]
    assert all(isinstance(message, str) for message in payload["errors"].values())
    field, message = next(iter(payload["errors"].items()))
    assert payload["detail"] == f"{field}: {message}"
    assert payload["error_message"] == (message if field == "__all__" else payload["detail"])
    return field, message


def assert_legacy_list(payload: dict[str, Any]) -> list[tuple[str, str]]:
    assert set(payload) == {"detail", "errors"}, payload
    assert payload["detail"] == LEGACY_DETAIL
    assert isinstance(payload["errors"], list) and payload["errors"]
    for error in payload["errors"]:
        assert isinstance(error, dict) and len(error) == 1
        assert all(isinstance(message, str) for message in error.values())
    return [item for error in payload["errors"] for item in error.items()]


def assert_info(payload: dict[str, Any]) -> None:
    assert set(payload) == {"errors"}, payload
    assert isinstance(payload["errors"], dict) and payload["errors"]
    assert all(isinstance(message, str) for message in payload["errors"].values())


def assert_documented_error(path: str, response) -> None:
    """Any refusal of `path`, in the style its documents print."""
    body = response.json()
    if response.status_code in PLAIN_STATUSES:
        assert set(body) == {"detail"}, body
        return
    style = STYLE_BY_PATH[path]
    if style == INFO and response.status_code == 404:
        assert body == {"detail": "Not found."}
    elif style == INFO:
        assert_info(body)
    elif style == LEGACY_LIST:
        assert_legacy_list(body)
    else:
        assert_field_map(body)
