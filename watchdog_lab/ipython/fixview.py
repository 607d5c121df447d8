"""What ``%wd fix`` shows: the payload before it goes, and the proposal that comes back.

Every piece is text someone else chose (the cell, its error, the model's reply), so each is
escaped for where it is shown: ``html.escape`` for the notebook's HTML output (a ``<script>``
in a proposal is shown, never run) and :func:`~watchdog_lab.textsafe.escape` for the plain-text
fallback a terminal frontend prints (no escape sequence reaches it). Each display carries both,
and the frontend picks the richest it can render.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..textsafe import escape

__all__ = ["fix_bundle", "payload_bundle", "payload_summary"]

Bundle = dict[str, str]

_ADDED = "color: var(--jp-success-color1, #1a7f37)"
_REMOVED = "color: var(--jp-error-color1, #cf222e)"
_HUNK = "color: var(--jp-info-color1, #0969da)"


def payload_summary(preview: dict[str, Any]) -> str:
    """One line: how much goes, under which hash, and what was taken out of it."""
    redactions = int(preview.get("redactions") or 0)
    parts = [
        f"{preview.get('size', '?')} bytes",
        f"sha256 {preview.get('sha256', '?')}",
        f"model {preview.get('model', '?')}",
        f"{redactions} secret{'s' if redactions != 1 else ''} redacted",
    ]
    if preview.get("traceback_cut"):
        parts.append("traceback cut in the middle")
    return escape(", ".join(str(p) for p in parts))


def payload_bundle(preview: dict[str, Any]) -> Bundle:
    """The payload as it will be sent: the message readable first, then the exact body."""
    body = str(preview.get("body", ""))
    message = _message(body)
    summary = payload_summary(preview)
    title = "AI Fix payload (nothing has been sent)"
    plain = [title, summary, ""]
    rich = [f"<p><strong>{title}</strong><br>{html.escape(summary)}</p>"]
    if message is not None:
        plain += ["The message to the model:", escape(message, newlines=True), ""]
        rich.append(f"<p>The message to the model:</p>{_pre(message)}")
    plain += ["The exact request body (its SHA-256 is the hash above):", escape(body)]
    rich.append(f"<p>The exact request body (its SHA-256 is the hash above):</p>{_pre(body)}")
    return _bundle(plain, rich)


def fix_bundle(fix: dict[str, Any]) -> Bundle:
    """The proposal: the explanation, and the unified diff against the cell as it was sent."""
    explanation = str(fix.get("explanation") or "")
    diff = str(fix.get("diff") or "")
    usage = _usage(fix)
    title = f"AI Fix proposal ({usage})" if usage else "AI Fix proposal"
    plain = [escape(title), escape(explanation, newlines=True), "", escape(diff, newlines=True)]
    rich = [
        f"<p><strong>{html.escape(title)}</strong></p>",
        f"<p style='white-space: pre-wrap'>{html.escape(explanation)}</p>",
        _diff_html(diff),
    ]
    if fix.get("source_redacted"):
        note = (
            "The cell held a secret, sent as a [REDACTED:...] marker: the proposal keeps the "
            "marker in its place. Read the value with wd.connection() instead of pasting it back."
        )
        plain.append(note)
        rich.append(f"<p><em>{html.escape(note)}</em></p>")
    return _bundle(plain, rich)


def _bundle(plain: list[str], rich: list[str]) -> Bundle:
    return {
        "text/plain": "\n".join(plain),
        "text/html": "<div class='watchdog-lab-fix'>" + "".join(rich) + "</div>",
    }


def _pre(text: str) -> str:
    return f"<pre style='white-space: pre-wrap'>{html.escape(text)}</pre>"


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        text = html.escape(line)
        if line.startswith(("+++", "---")):
            lines.append(f"<strong>{text}</strong>")
        elif line.startswith("@@"):
            lines.append(f"<span style='{_HUNK}'>{text}</span>")
        elif line.startswith("+"):
            lines.append(f"<span style='{_ADDED}'>{text}</span>")
        elif line.startswith("-"):
            lines.append(f"<span style='{_REMOVED}'>{text}</span>")
        else:
            lines.append(text)
    return "<pre>" + "\n".join(lines) + "</pre>"


def _usage(fix: dict[str, Any]) -> str:
    model = fix.get("model")
    tokens_in, tokens_out = fix.get("input_tokens"), fix.get("output_tokens")
    parts = [str(model)] if model else []
    if isinstance(tokens_in, int) and isinstance(tokens_out, int):
        parts.append(f"{tokens_in} tokens in, {tokens_out} out")
    return ", ".join(parts)


def _message(body: str) -> str | None:
    """The user message of the request body, or None if the body is not the expected shape."""
    try:
        messages = json.loads(body)["messages"]
        content = messages[0]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None
