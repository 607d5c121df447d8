"""Text from code (help strings, OpenAPI descriptions) made safe to drop into MyST Markdown.

Help strings are written for terminals and config files: they hold ``<home>``, ``4 * 2**30``
and ``a|b``, which Markdown would read as HTML, emphasis or a table cell break. Code spans
(between backticks) are kept as written, since the help strings use them for commands.
"""

from __future__ import annotations

import re

__all__ = ["cell", "code", "escape", "heading"]

_SPECIAL = re.compile(r"([\\*_\[\]<>|{}#])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def escape(text: str) -> str:
    """``text`` as inline Markdown that renders as the same characters; code spans stay code.

    Line breaks become spaces: help strings wrap where the source line ended, not where a
    paragraph ends.
    """
    text = " ".join(text.split())
    out: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_SPECIAL.sub(r"\\\1", text[last : span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(out)


def cell(text: str) -> str:
    """``text`` escaped for one table cell: a pipe inside a code span would still end the cell."""
    out: list[str] = []
    last = 0
    escaped = escape(text)
    for span in _CODE_SPAN.finditer(escaped):
        out.append(escaped[last : span.start()])
        out.append(span.group(0).replace("|", "\\|"))
        last = span.end()
    out.append(escaped[last:])
    return "".join(out)


def code(text: str) -> str:
    """``text`` as one inline code span, with a fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def heading(level: int, text: str) -> str:
    """A Markdown heading at ``level`` (capped at 6, Markdown's deepest)."""
    return f"{'#' * min(level, 6)} {text}"
