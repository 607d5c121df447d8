"""Tracebacks as text a model can read: terminal escapes removed, long ones cut in the middle.

The middle goes because the two ends carry the meaning: where the cell called in (the first
frames) and where the error happened (the last frames and the message). A visible marker says
how much went, so neither the user reading the preview nor the model takes the cut for the
whole story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ..redact.variants import WINDOW


class TextRedactor(Protocol):
    """What a payload needs of a redactor (a :class:`~watchdog_lab.redact.Redactor`, or two)."""

    def redact(self, text: str) -> str: ...


@dataclass(frozen=True)
class Chained:
    """``first``, then ``then``: the vault's current values, then every value the server has
    seen (a deleted connection's too). The server shows a preview through its own redactor;
    without the second pass a value it remembers would be shown redacted yet sent in clear."""

    first: TextRedactor
    then: TextRedactor

    def redact(self, text: str) -> str:
        return self.then.redact(self.first.redact(text))


# CSI (colours, cursor moves), OSC (titles, hyperlinks), two-byte escapes, and their 8-bit
# C1 forms; then every other control character but newline and tab.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x9d[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]"
)

#: Above this many characters per end, a text is cut before it is redacted (each end then
#: redacted alone), so a runaway traceback costs time in proportion to what is kept.
PRECUT_CHARS = 1024 * 1024

MARKER_START = "[REDACTED:"
# A marker names a connection and a field (at most 64 characters each) or a pattern rule.
MARKER_LONGEST = 160

CUT_MARKER = "[... {lines} lines ({chars} characters) cut from the middle by WatchDog Lab ...]"


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (newline and tab
    stay). Done before redaction: an escape inside a secret must not hide it."""
    return _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def redact_and_cut(
    text: str, redactor: TextRedactor, head_chars: int, tail_chars: int
) -> tuple[str, bool]:
    """``text`` redacted, then cut to about ``head_chars`` + ``tail_chars`` at line ends.

    Redaction comes first, on everything that could be kept: cutting first could leave part
    of a secret at a cut, too short to be recognised. A text longer than twice
    :data:`PRECUT_CHARS` has its ends redacted alone, and the last (first) ``WINDOW - 1``
    characters at the inner edge of each dropped: what a secret cut there could leave is
    shorter than a window and so would not be matched.
    """
    total_lines = text.count("\n") + 1
    if len(text) > 2 * PRECUT_CHARS:
        head = redactor.redact(text[:PRECUT_CHARS])[: -(WINDOW - 1)]
        tail = redactor.redact(text[-PRECUT_CHARS:])[WINDOW - 1 :]
        text = head + tail
        forced = True
    else:
        text = redactor.redact(text)
        forced = False
    if len(text) <= head_chars + tail_chars and not forced:
        return text, False
    head_end = text.rfind("\n", 0, head_chars)
    head_end = head_chars if head_end < 0 else head_end + 1
    tail_from = len(text) - tail_chars
    tail_start = text.find("\n", tail_from)
    tail_start = tail_from if tail_start < 0 else tail_start + 1
    head_end, tail_start = (
        _outside_marker(text, head_end, before=True),
        _outside_marker(text, tail_start, before=False),
    )
    tail_start = max(tail_start, head_end)
    head, tail = text[:head_end], text[tail_start:]
    kept_lines = head.count("\n") + tail.count("\n") + 1
    marker = CUT_MARKER.format(
        lines=max(0, total_lines - kept_lines), chars=max(0, len(text) - len(head) - len(tail))
    )
    if head and not head.endswith("\n"):
        head += "\n"
    return f"{head}{marker}\n{tail}", True


def _outside_marker(text: str, position: int, *, before: bool) -> int:
    """``position`` moved out of a redaction marker it falls in (to the marker's start, or
    past its end): half a marker would tell neither the user nor the model what was there."""
    start = text.rfind(MARKER_START, max(0, position - MARKER_LONGEST), position)
    if start < 0:
        return position
    end = text.find("]", start)
    if end < 0 or end + 1 <= position:
        return position
    return start if before else end + 1
