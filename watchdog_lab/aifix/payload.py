"""The one request body AI Fix sends, built from a failing cell and nothing else.

Everything taken from the cell (its source, the error, the traceback, the language, the
versions) passes through a redactor that knows every value in the vault and the pattern
catalogue. The body is canonical JSON (sorted keys, no spaces, ASCII), so the same cell, vault
and settings always give the same bytes, and its SHA-256 identifies exactly what the user was
shown: :meth:`~.service.AIFix.send` rebuilds it and sends it only if the hash is the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .errors import PayloadTooLarge
from .imports import imported_modules
from .models import DescribeFixPayload, FailingCell
from .tracetext import TextRedactor, redact_and_cut, strip_escapes

__all__ = ["TOOL_NAME", "Payload", "build_payload", "canonical_json"]

TOOL_NAME = "propose_fix"
#: Room for the model's answer: a whole fixed cell plus an explanation.
MAX_TOKENS = 8192
# Kept of a traceback: its first frames, and more of its last ones, where the error is.
TRACEBACK_HEAD_CHARS = 4 * 1024
TRACEBACK_TAIL_CHARS = 12 * 1024
# An exception's value (a DataFrame's repr, say) is cut the same way, shorter.
EVALUE_HEAD_CHARS = 1024
EVALUE_TAIL_CHARS = 1024
REDACTION_MARK = "[REDACTED:"

SYSTEM_PROMPT = (
    "You fix one failing Jupyter notebook cell. You get the cell's source, the exception and "
    "its traceback, the kernel's language and the versions of the packages the cell imports. "
    "Values shown as [REDACTED:...] are secrets that were removed: keep each marker exactly "
    "where it is in the code, never invent a value for it. Answer only by calling the "
    f"{TOOL_NAME} tool: fixed_source is the whole corrected cell (not a fragment, not a diff), "
    "explanation says in a few sentences what was wrong and what changed. If the cell is not "
    "at fault (missing data, a network failure), return it unchanged and say so."
)

PROPOSE_FIX_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Propose a corrected version of the whole failing cell, with a short "
    "explanation of the cause and the change.",
    "input_schema": {
        "type": "object",
        "properties": {
            "fixed_source": {
                "type": "string",
                "description": "The complete corrected source of the cell.",
            },
            "explanation": {
                "type": "string",
                "description": "What was wrong and what the fix changes, in a few sentences.",
            },
        },
        "required": ["fixed_source", "explanation"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class Payload:
    """A built request body: the bytes, their hash, and what a face needs to show them."""

    body: bytes
    sha256: str
    model: str
    sent_source: str  # the cell's source as sent (redacted): what a fix is diffed against
    redactions: int
    traceback_cut: bool

    def describe(self) -> DescribeFixPayload:
        return DescribeFixPayload(
            body=self.body.decode("ascii"),
            sha256=self.sha256,
            size=len(self.body),
            model=self.model,
            redactions=self.redactions,
            traceback_cut=self.traceback_cut,
        )


def canonical_json(value: object) -> bytes:
    """The one serialisation of a body: equal contents give equal bytes, and so equal hashes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def build_payload(
    cell: FailingCell, redactor: TextRedactor, *, model: str, max_bytes: int
) -> Payload:
    """The request body for ``cell``; :class:`~.errors.PayloadTooLarge` over ``max_bytes``."""
    count = _Counter(redactor)
    source = count.redact(cell.source)
    traceback = "\n".join(strip_escapes(entry) for entry in cell.traceback)
    traceback, traceback_cut = count.cut(traceback, TRACEBACK_HEAD_CHARS, TRACEBACK_TAIL_CHARS)
    evalue, _ = count.cut(strip_escapes(cell.evalue), EVALUE_HEAD_CHARS, EVALUE_TAIL_CHARS)
    ename = count.redact(strip_escapes(cell.ename))
    language = count.redact(strip_escapes(f"{cell.language} {cell.language_version}".strip()))
    packages = [
        count.redact(strip_escapes(f"{module} {cell.versions[module]}"))
        for module in imported_modules(cell.source)
        if module in cell.versions
    ]
    text = _user_message(source, ename, evalue, traceback, language, packages)
    body = canonical_json(
        {
            "model": model,
            "max_tokens": MAX_TOKENS,
            "system": SYSTEM_PROMPT,
            "tools": [PROPOSE_FIX_TOOL],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": text}],
        }
    )
    if len(body) > max_bytes:
        raise PayloadTooLarge(len(body), max_bytes)
    return Payload(
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
        model=model,
        sent_source=source,
        redactions=count.total,
        traceback_cut=traceback_cut,
    )


def _user_message(
    source: str, ename: str, evalue: str, traceback: str, language: str, packages: list[str]
) -> str:
    error = f"{ename}: {evalue}" if evalue else ename
    parts = [
        f"<language>{language}</language>",
        "<packages>\n" + "\n".join(packages) + "\n</packages>" if packages else "",
        f"<cell>\n{source}\n</cell>",
        f"<error>\n{error}\n</error>",
        f"<traceback>\n{traceback}\n</traceback>" if traceback else "",
    ]
    return "\n".join(part for part in parts if part)


class _Counter:
    """Redacts and counts the markers it adds (markers already in the input are not counted)."""

    def __init__(self, redactor: TextRedactor) -> None:
        self._redactor = redactor
        self.total = 0

    def redact(self, text: str) -> str:
        out = self._redactor.redact(text)
        self._count(text, out)
        return out

    def cut(self, text: str, head: int, tail: int) -> tuple[str, bool]:
        out, cut = redact_and_cut(text, self._redactor, head, tail)
        if not cut:
            self._count(text, out)
        else:  # the dropped middle's markers are not in the output: count what is shown
            self.total += out.count(REDACTION_MARK)
        return out, cut

    def _count(self, before: str, after: str) -> None:
        self.total += max(0, after.count(REDACTION_MARK) - before.count(REDACTION_MARK))
