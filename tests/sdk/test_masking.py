"""The masking rule: public whole, hint a three-character prefix of long values, else ***."""

from __future__ import annotations

import pytest

from watchdog_lab.sdk.masking import mask_value


def test_public_values_are_shown_whole() -> None:
    assert mask_value("eu-west-1", "public") == "eu-west-1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abcdefghijkl", "abc***"),
        ("a952bcbe-ec3b-4b5b", "a95***"),
        ("abcdefghijk", "***"),
        ("", "***"),
    ],
)
def test_hint_shows_three_characters_only_from_twelve_characters(value: str, expected: str) -> None:
    assert mask_value(value, "hint") == expected


def test_secret_values_show_nothing() -> None:
    assert mask_value("a-very-long-secret-value", "secret") == "***"


@pytest.mark.parametrize("level", ["Public", "visible", "", "HINT"])
def test_unknown_levels_are_treated_as_secret(level: str) -> None:
    assert mask_value("a-very-long-secret-value", level) == "***"
