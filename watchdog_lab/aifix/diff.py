"""A proposed cell as a unified diff against the cell that was sent, for review.

The diff is taken against the source as sent (redacted), never the original: a diff against
the original would put a secret literal of the cell back into a REST response or a terminal.
"""

from __future__ import annotations

import difflib

__all__ = ["same_code", "unified_diff"]


def unified_diff(before: str, after: str, name: str = "cell") -> str:
    """``git diff`` style text; empty when nothing changed."""
    return "".join(
        difflib.unified_diff(
            _lines(before), _lines(after), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
    )


def same_code(before: str, after: str) -> bool:
    """Whether two cells differ only in trailing spaces or blank lines at either end: such a
    "fix" changes nothing that runs, so it is no fix."""
    return _normal(before) == _normal(after)


def _lines(text: str) -> list[str]:
    # A last line without its newline would print glued to the next hunk header.
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(True)]


def _normal(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]
