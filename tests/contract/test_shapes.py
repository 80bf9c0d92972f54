"""The contract oracle finds what it is there to find."""

from tests.contract.shapes import Contract, mismatches

EXAMPLE = {"id": 1, "name": "a", "price": None, "tags": [], "items": [{"n": 1}]}


def test_an_answer_of_the_same_shape_matches():
    answer = {"id": 7, "name": "b", "price": 2.5, "tags": ["x"], "items": [{"n": 2}, {"n": 3}]}

    assert mismatches(EXAMPLE, answer) == []


def test_finds_a_missing_key_an_extra_key_and_a_wrong_type():
    answer = {"id": "7", "price": None, "tags": [], "items": [{"n": True}], "more": 1}

    assert sorted(mismatches(EXAMPLE, answer)) == [
        "id: string, documented integer",
        "items[].n: boolean, documented integer",
        "more: not documented",
        "name: missing",
    ]


def test_a_null_is_refused_unless_allowed():
    answer = {**EXAMPLE, "name": None}

    assert mismatches(EXAMPLE, answer) == ["name: null, documented string"]
    assert mismatches(EXAMPLE, answer, Contract(may_be_null=frozenset({"name"}))) == []


def test_free_keys_check_only_the_values():
    example = {"errors": [{"reward": "This field is required"}]}
    contract = Contract(free_keys=frozenset({"errors[]"}))

    assert mismatches(example, {"errors": [{"user": "x"}]}, contract) == []
    assert mismatches(example, {"errors": [{"user": 1}]}, contract) == [
        "errors[].user: integer, documented string"
    ]


def test_variants_are_paired_by_their_key():
    example = {"list": [{"type": 0, "a": 1}, {"type": 1, "b": "x"}]}
    contract = Contract(variant_key={"list": "type"})

    assert mismatches(example, {"list": [{"type": 1, "b": "y"}]}, contract) == []
    assert sorted(mismatches(example, {"list": [{"type": 1, "a": 1}]}, contract)) == [
        "list[].a: not documented",
        "list[].b: missing",
    ]
    assert mismatches(example, {"list": [{"type": 9}]}, contract) == [
        "list[]: type 9 is not documented"
    ]


def test_extra_keys_pass_only_where_allowed():
    answer = {**EXAMPLE, "also": 1}

    assert mismatches(EXAMPLE, answer) == ["also: not documented"]
    assert mismatches(EXAMPLE, answer, Contract(extra=frozenset({"also"}))) == []
