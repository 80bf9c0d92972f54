"""Compares a JSON answer with a documented example key by key and type by type: the
contract tests' oracle. The examples are copied verbatim from the Stamps documents
(tests/contract/documented/, from ../shared/reference/stamps-documented-shapes.md and the
seed documents)."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOCUMENTED = Path(__file__).parent / "documented"


def documented(name: str) -> Any:
    return json.loads((DOCUMENTED / f"{name}.json").read_text())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class Contract:
    """What a comparison allows beyond the example, each by path (`a.b`, `list[].c`):
    `may_be_null`, a key the answer may give as null where the example has a value;
    `optional`, a documented key the answer may leave out; `extra`, a key the answer adds
    where the reference page says to (the table's name beside the example's);
    `free_keys`, an object whose keys are names of the request's own fields (an error
    list's items), whose values must still have the example's type; `variant_key`, for a
    list whose items differ by one key (activities by `type`), the key to pair each item
    with its example by."""

    may_be_null: frozenset[str] = field(default_factory=frozenset)
    optional: frozenset[str] = field(default_factory=frozenset)
    extra: frozenset[str] = field(default_factory=frozenset)
    free_keys: frozenset[str] = field(default_factory=frozenset)
    variant_key: dict[str, str] = field(default_factory=dict)


def mismatches(
    example: Any, answer: Any, contract: Contract | None = None, path: str = ""
) -> list[str]:
    """Every place the answer departs from the example: a missing or extra key, or a
    value of another JSON type. A null in the example stands for "null or a value"."""
    contract = contract or Contract()
    if example is None:
        return []
    if answer is None:
        return (
            []
            if path in contract.may_be_null
            else [f"{path or '.'}: null, documented {json_type(example)}"]
        )
    if json_type(example) != json_type(answer):
        return [f"{path or '.'}: {json_type(answer)}, documented {json_type(example)}"]
    if isinstance(example, dict):
        return object_mismatches(example, answer, contract, path)
    if isinstance(example, list):
        return list_mismatches(example, answer, contract, path)
    return []


def object_mismatches(example: dict, answer: dict, contract: Contract, path: str) -> list[str]:
    found = []
    if path in contract.free_keys:
        kind = json_type(next(iter(example.values())))
        for key, value in answer.items():
            if json_type(value) != kind:
                found.append(f"{path}.{key}: {json_type(value)}, documented {kind}")
        return found if len(answer) == len(example) else [*found, f"{path}: {len(answer)} keys"]
    for key in example.keys() - answer.keys():
        if child(path, key) not in contract.optional:
            found.append(f"{child(path, key)}: missing")
    for key in answer.keys() - example.keys():
        if child(path, key) not in contract.extra:
            found.append(f"{child(path, key)}: not documented")
    for key in example.keys() & answer.keys():
        found.extend(mismatches(example[key], answer[key], contract, child(path, key)))
    return found


def list_mismatches(example: list, answer: list, contract: Contract, path: str) -> list[str]:
    if not example:
        return []
    items = f"{path}[]"
    variant = contract.variant_key.get(path)
    found = []
    for item in answer:
        if variant is None:
            model = example[0]
        else:
            models = [m for m in example if m.get(variant) == item.get(variant)]
            if not models:
                found.append(f"{items}: {variant} {item.get(variant)!r} is not documented")
                continue
            model = models[0]
        found.extend(mismatches(model, item, contract, items))
    return found


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
