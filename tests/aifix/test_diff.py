"""The proposal as a unified diff; a change of blank space only is no change."""

from __future__ import annotations

from watchdog_lab.aifix.diff import same_code, unified_diff


def test_a_changed_line_is_a_hunk() -> None:
    diff = unified_diff("a = 1\nb = a[0]\n", "a = 1\nb = a\n")
    assert diff == "--- a/cell\n+++ b/cell\n@@ -1,2 +1,2 @@\n a = 1\n-b = a[0]\n+b = a\n"


def test_a_last_line_without_newline_does_not_glue_to_the_next() -> None:
    assert unified_diff("x = 1", "x = 2").endswith("-x = 1\n+x = 2\n")


def test_trailing_blanks_are_the_same_code_and_an_edit_is_not() -> None:
    assert same_code("x = 1\n", "\nx = 1   \n\n")
    assert not same_code("x = 1\n", "x = 2\n")
    assert not same_code("if a:\n    x = 1\n", "if a:\nx = 1\n")
