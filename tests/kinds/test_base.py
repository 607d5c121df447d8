"""What every kind shares: the field rules, the masking rule, and a spec's own consistency."""

from __future__ import annotations

import pytest

from watchdog_lab.kinds import FieldSpec, Helper, InvalidFields, KindDefinitionError, KindSpec
from watchdog_lab.kinds.base import FIELD_VALUE_MAX, FIELDS_MAX, mask
from watchdog_lab.sdk.masking import mask_value

CLOSED = KindSpec("closed", (FieldSpec("key"), FieldSpec("mode", "public", choices=("a", "b"))))
OPEN = KindSpec("open", open=True)


@pytest.mark.parametrize(
    ("spec", "fields", "message"),
    [
        (OPEN, {"1bad": "v"}, "Invalid field name"),
        (OPEN, {f"f{i}": "v" for i in range(FIELDS_MAX + 1)}, "at most"),
        (OPEN, {"k": "a\x00b"}, "NUL"),
        (OPEN, {"k": "x" * (FIELD_VALUE_MAX + 1)}, "longer than"),
        (OPEN, {"k": ""}, "at least one non-empty field"),
        (CLOSED, {"key": "v", "mode": "c"}, "must be one of a, b"),
        (CLOSED, {"mode": "a"}, "needs field(s): key"),
    ],
)
def test_fields_breaking_a_shared_rule_are_refused(
    spec: KindSpec, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidFields, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec.validate(fields)


def test_the_kinds_own_check_runs_after_the_shared_rules_and_may_normalise() -> None:
    spec = KindSpec("upper", (FieldSpec("key"),), check=lambda f: {"key": f["key"].upper()})
    assert spec.validate({"key": "abc"}) == {"key": "ABC"}


@pytest.mark.parametrize(
    ("value", "visibility", "shown"),
    [
        ("eu-west-1", "public", "eu-west-1"),
        ("abcdefghijkl", "hint", "abc***"),
        ("abcdefghijk", "hint", "***"),
        ("abcdefghijkl", "secret", "***"),
        ("abcdefghijkl", "typo", "***"),
    ],
)
def test_masking_shows_public_whole_hints_of_long_values_and_nothing_else(
    value: str, visibility: str, shown: str
) -> None:
    assert mask(value, visibility) == shown
    # The SDK keeps its own copy (so that importing it loads no kind): the same rule.
    assert mask_value(value, visibility) == shown


def test_a_helper_may_not_answer_underscore_names() -> None:
    with pytest.raises(KindDefinitionError, match="must be an identifier"):
        KindSpec("x", helpers={"_repr_html_": Helper(str)})


def test_a_field_declared_twice_or_a_default_outside_the_choices_is_a_definition_error() -> None:
    with pytest.raises(KindDefinitionError, match="twice"):
        KindSpec("x", (FieldSpec("a"), FieldSpec("a")))
    with pytest.raises(KindDefinitionError, match="not one of its choices"):
        FieldSpec("mode", "public", choices=("a",), default="b")
