"""Validation of the bodies tills send all day without DRF's per-field machinery.

A body qualifies when every value already has the type DRF would convert it to (a JSON
integer for an IntegerField, a string with nothing to trim for a CharField, true or false
for a BooleanField) and names only the serializer's own fields. Such a body is checked with
the fields' own validators, defaults and the serializer's validate(), so the rules stay
declared once, on the serializer. Anything else (a number sent as a string, a field type
not handled here, a value a validator refuses) returns None, and the caller validates
through DRF, which then makes the error answer. tests/test_quick_validation.py checks that
whatever this accepts, DRF accepts with the same result."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# DRF fields whose to_internal_value() returns a value of this type unchanged. A field class
# of our own that overrides to_internal_value() says so with a `quick_value_type` attribute.
IDENTITY_CONVERSIONS: dict[type, type] = {
    serializers.IntegerField: int,
    serializers.BooleanField: bool,
    serializers.CharField: str,
}
PLAIN_RUN_VALIDATION = {serializers.Field.run_validation, serializers.CharField.run_validation}


@dataclass(frozen=True)
class FieldPlan:
    name: str
    field: serializers.Field
    value_type: type | None  # None: this field's values always go through DRF
    validators: tuple[Callable[..., Any], ...]


@dataclass(frozen=True)
class Plan:
    names: frozenset[str]
    fields: tuple[FieldPlan, ...]
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None
    null_means_absent: bool


_plans: dict[type, Plan] = {}


def quick_validated(serializer: serializers.Serializer, body: Any) -> dict[str, Any] | None:
    """What DRF would validate `body` to, or None when the body needs DRF's own validation."""
    if type(body) is not dict:
        return None
    plan = _plans.get(type(serializer)) or plan_build(serializer)
    if not plan.names.issuperset(body):
        return None
    data: dict[str, Any] = {}
    for item in plan.fields:
        value = body.get(item.name)
        if value is None:
            field = item.field
            if field.required or (item.name in body and not plan.null_means_absent):
                return None
            if field.default is not empty:
                data[item.name] = field.get_default()
            continue
        if type(value) is not item.value_type or not value_acceptable(item, value):
            return None
        data[item.name] = value
    if plan.validate is not None:
        try:
            data = plan.validate(data)
        except serializers.ValidationError:
            return None
    return data


def value_acceptable(item: FieldPlan, value: Any) -> bool:
    if isinstance(value, str) and not text_unchanged_by(item.field, value):
        return False
    try:
        for validator in item.validators:
            validator(value)
    except (serializers.ValidationError, DjangoValidationError):
        return False
    return True


def text_unchanged_by(field: Any, value: str) -> bool:
    if value == "":
        return field.allow_blank
    if field.trim_whitespace and value != value.strip():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plan_build(serializer: serializers.Serializer) -> Plan:
    fields = tuple(
        FieldPlan(
            name=name,
            field=field,
            value_type=value_type_of(serializer, name, field),
            validators=validators_of(field),
        )
        for name, field in serializer.fields.items()
        if not field.read_only
    )
    overridden = type(serializer).validate is not serializers.Serializer.validate
    plan = Plan(
        names=frozenset(item.name for item in fields) if not serializer.validators else frozenset(),
        fields=fields,
        validate=serializer.validate if overridden else None,
        null_means_absent=getattr(serializer, "null_means_absent", False),
    )
    _plans[type(serializer)] = plan
    return plan


def validators_of(field: serializers.Field) -> tuple[Callable[[Any], None], ...]:
    """The field's validators, less the surrogate check that text_unchanged_by()'s UTF-8 test
    already makes (it walks the string in Python)."""
    return tuple(
        validator
        for validator in field.validators
        if not isinstance(validator, ProhibitSurrogateCharactersValidator)
    )


def value_type_of(serializer: serializers.Serializer, name: str, field: Any) -> type | None:
    kind = type(field)
    plain = (
        field.source == name
        and not any(getattr(v, "requires_context", False) for v in field.validators)
        and kind.run_validation in PLAIN_RUN_VALIDATION
        and kind.validate_empty_values is serializers.Field.validate_empty_values
        and not hasattr(serializer, f"validate_{name}")
    )
    if not plain:
        return None
    owner = next(cls for cls in kind.__mro__ if "to_internal_value" in cls.__dict__)
    return owner.__dict__.get("quick_value_type") or IDENTITY_CONVERSIONS.get(owner)
