"""Quick validation (stamps_server/quick_validation.py) may decline any body, but whatever it
accepts DRF must accept with exactly the same validated data. Checked for every Stamps POST
endpoint's input serializer over generated bodies, typical ones and hostile ones."""

from typing import Any

import pytest
from django.core.validators import RegexValidator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from loyalty import apis as loyalty_apis
from loyalty import member_apis
from redemptions import apis as redemption_apis
from stamps_server.api import StampsApiView, StampsInput, TextField, reusable_serializer
from stamps_server.quick_validation import plan_build, quick_validated
from tests.test_fuzz_endpoints import json_values
from transactions import apis as transaction_apis


def endpoint_classes() -> list[type[StampsApiView]]:
    modules = (loyalty_apis, member_apis, redemption_apis, transaction_apis)
    return [
        cls
        for module in modules
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, StampsApiView) and cls is not StampsApiView
    ]


ENDPOINTS = endpoint_classes()

# Values near every edge the fields have: blanks, padding, lengths, bounds, lookalike types.
edgy_text = st.sampled_from(
    [
        "",
        " ",
        "a",
        " a",
        "a ",
        "a\x00b",
        "\ud800",
        "x" * 64,
        "x" * 65,
        "x" * 254,
        "x" * 255,
        "x" * 256,
        "ann@example.com",
        "0812-555",
        "12",
        "Beatriz Ñ",
        "\t",
    ]
)
edgy_numbers = st.sampled_from(
    [0, 1, -1, 2, 1_000_000, 1_000_001, 2**63 - 1, 2**63, 1.0, 1.5, "1", "01", " 1", True, False]
)
values = json_values | edgy_text | edgy_numbers | st.none()


def plausible(field: serializers.Field) -> st.SearchStrategy[Any]:
    """Mostly values of the field's own type, near its limits; now and then anything at all."""
    if isinstance(field, serializers.IntegerField):  # its range, one past each end included
        low = -2 if field.min_value is None else field.min_value - 1
        high = 2**64 if field.max_value is None else field.max_value + 1
        typed: st.SearchStrategy[Any] = st.integers(min_value=low, max_value=high)
    elif isinstance(field, serializers.BooleanField):
        typed = st.booleans()
    elif isinstance(field, serializers.CharField):
        clean = st.from_regex(r"[a-z0-9@.]{1,20}", fullmatch=True)
        typed = clean | clean | st.text(max_size=300)
    else:  # a type the quick path leaves to DRF: mostly not sent (null counts as not sent)
        typed = st.none()
    return st.integers(0, 4).flatmap(lambda dice: values if dice == 0 else typed)


def bodies_for(serializer_class: type[serializers.Serializer]) -> st.SearchStrategy[Any]:
    fields = serializer_class().fields
    known = st.fixed_dictionaries(
        {name: plausible(field) for name, field in fields.items() if field.required},
        optional={name: plausible(field) for name, field in fields.items() if not field.required},
    )
    extra = st.dictionaries(st.sampled_from(["token", "balance", "id", "x"]), values, max_size=1)
    with_extra = st.builds(lambda a, b: {**b, **a}, known, extra)
    return st.one_of(known, known, with_extra, values)  # mostly bodies that could pass


def drf_validated(serializer_class: type[serializers.Serializer], body: Any) -> dict | None:
    serializer = serializer_class(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda cls: cls.__name__)
def test_what_quick_validation_accepts_drf_accepts_alike(endpoint: type[StampsApiView]) -> None:
    serializer_class = endpoint.InputSerializer
    accepted = []

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=bodies_for(serializer_class))
    def check(body: Any) -> None:
        quick = quick_validated(reusable_serializer(serializer_class), body)
        if quick is not None:
            assert quick == drf_validated(serializer_class, body)
            accepted.append(body)

    check()
    plan = plan_build(reusable_serializer(serializer_class))
    if all(item.value_type for item in plan.fields if item.field.required):
        assert accepted  # the comparison was made, not only declined


def test_every_stamps_post_endpoint_is_checked() -> None:
    assert {cls.__name__ for cls in ENDPOINTS} >= {
        "StampsAddApi",
        "StampsCancelApi",
        "DeductStampsApi",
        "RedemptionsAddApi",
        "RedemptionsCancelApi",
        "TransactionsAddApi",
        "TransactionsCancelApi",
        "MembershipRegisterApi",
        "PingApi",
    }


ADD_BODY = {"user": "ann@example.com", "store": 3, "number_of_stamps": 2}


def add_serializer() -> serializers.Serializer:
    from loyalty.apis import StampsAddApi

    return reusable_serializer(StampsAddApi.InputSerializer)


def test_a_typical_award_body_is_validated_quickly_with_its_defaults() -> None:
    assert quick_validated(add_serializer(), ADD_BODY) == {
        **ADD_BODY,
        "notes": "",
        "require_email_notification": True,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"store": "3"},  # DRF converts it; the quick path does not
        {"number_of_stamps": 0},  # below min_value: DRF makes the error
        {"user": " ann@example.com"},  # DRF trims it
        {"user": None},  # a required field sent as null
        {"expiration_date": "2030-01-01"},  # a field type the quick path leaves to DRF
        {"unknown": 1},
    ],
)
def test_bodies_needing_drf_are_declined(change: dict) -> None:
    assert quick_validated(add_serializer(), {**ADD_BODY, **change}) is None


def test_an_optional_field_sent_as_null_is_not_given() -> None:
    body = {**ADD_BODY, "notes": None, "require_email_notification": None}

    assert quick_validated(add_serializer(), body) == drf_validated(type(add_serializer()), body)


def test_a_serializer_without_null_means_absent_leaves_nulls_to_drf() -> None:
    class Plain(serializers.Serializer):
        note = TextField(required=False)

    assert quick_validated(Plain(data={}), {"note": None}) is None
    assert quick_validated(Plain(data={}), {"note": "hi"}) == {"note": "hi"}


def test_a_field_validator_of_its_own_is_applied() -> None:
    class Coded(StampsInput):
        code = TextField(validators=[RegexValidator(r"^[A-Z]+$")])

    assert quick_validated(Coded(data={}), {"code": "ABC"}) == {"code": "ABC"}
    assert quick_validated(Coded(data={}), {"code": "abc"}) is None


@example({"customer": "ann@example.com", "user": "bob@example.com", "store": 1, "reward": 2})
@given(body=st.just({"user": "ann@example.com", "store": 1, "reward": 2}))
def test_a_serializer_validate_runs_on_quick_results(body: dict) -> None:
    from redemptions.apis import RedemptionsAddApi

    serializer_class = RedemptionsAddApi.InputSerializer
    quick = quick_validated(reusable_serializer(serializer_class), body)

    assert quick is not None and quick["customer"] == body.get("customer", body["user"])
    assert quick == drf_validated(serializer_class, body)
