"""How much of a field value may be shown: the one masking rule for the whole product.

Kept apart from :class:`~watchdog_lab.sdk.connection.Connection` so that every place that shows a
connection (the object's repr, REST answers, the CLI) masks the same way and a change of rule is
made once.
"""

from __future__ import annotations

from typing import Final, Literal

Visibility = Literal["public", "hint", "secret"]

PUBLIC: Final = "public"
HINT: Final = "hint"
SECRET: Final = "secret"  # noqa: S105 - a visibility level, not a password
LEVELS: Final[frozenset[str]] = frozenset({PUBLIC, HINT, SECRET})

MASK: Final = "***"
HINT_PREFIX_CHARS: Final = 3
# Below this length three characters would give away too large a share of the value.
HINT_MIN_LENGTH: Final = 12


def mask_value(value: str, level: str) -> str:
    """The text that may be shown for ``value`` at visibility ``level``.

    Unknown levels are treated as secret: a typo in a visibility table must hide more, not less.
    """
    if level == PUBLIC:
        return value
    if level == HINT and len(value) >= HINT_MIN_LENGTH:
        return value[:HINT_PREFIX_CHARS] + MASK
    return MASK
