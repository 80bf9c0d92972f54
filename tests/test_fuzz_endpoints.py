"""Property-based fuzzing of every endpoint body: whatever a client sends, the answer is
never a 500, errors come in the endpoint's documented shape, and a refusal writes nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.idempotency.models import IdempotentResponse
from loyalty.models import LedgerEntry, Membership, StampsDeduction
from tests.conftest import make_tenant
from tests.error_styles import assert_documented_error
from tests.factories import award_stamps
from transactions.models import Transaction

ENDPOINTS = {
    "/api/stamps/add": [
        "user",
        "store",
        "number_of_stamps",
        "notes",
        "expiration_date",
        "require_email_notification",
    ],
    "/api/stamps/cancel": ["user", "id", "store"],
    "/api/memberships/deduct-stamps": ["user", "stamps", "notes"],
    "/api/redemptions/add": ["customer", "user", "store", "reward", "token"],
    "/api/redemptions/cancel": ["id"],
    "/api/memberships/register": ["merchant", "name", "email", "birthday", "gender", "store"],
    "/api/transactions/add": [
        "user",
        "store",
        "invoice_number",
        "total_value",
        "number_of_people",
        "created",
        "items",
    ],
    "/api/transactions/cancel": ["id", "cancel_related_redemptions"],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e309",
            "2026-02-30",
            "9999-12-31",
            "\u0000",
            "@",
            "null",
            "true",
            "\ud800",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def bodies(fields: list[str]):
    known = st.fixed_dictionaries({}, optional={name: json_values for name in fields})
    extra = st.dictionaries(
        st.sampled_from(["balance", "merchant", "status", "stamps", "id", "__proto__"]),
        json_values,
        max_size=2,
    )
    whole = st.builds(lambda a, b: {**b, **a}, known, extra)
    return (
        whole.map(lambda d: json.dumps(d))
        | json_values.map(json.dumps)
        | st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
    )


def counts() -> tuple[int, ...]:
    """What any of these endpoints could write."""
    return tuple(
        model.objects.count()
        for model in (LedgerEntry, StampsDeduction, IdempotentResponse, Membership, Transaction)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_no_body_gets_a_500_or_an_undocumented_error(path):
    tenant = make_tenant()
    award_stamps(tenant.member, 50, store=tenant.store)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(raw=bodies(ENDPOINTS[path]), as_form=st.booleans())
    def post_anything(raw: str, as_form: bool) -> None:
        written = counts()
        content_type = "application/x-www-form-urlencoded" if as_form else "application/json"

        response = tenant.client.post(
            path, raw.encode("utf-8", "surrogatepass"), content_type=content_type
        )

        assert response.status_code < 500, response.content
        if response.status_code != 200:
            assert_documented_error(path, response)
            assert written == counts()

    post_anything()
