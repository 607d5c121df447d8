"""Text that a bot or a kernel chose, made safe to show on a terminal: data, never control.

A terminal obeys what it is sent. A bot that prints ``ESC ] 52`` writes the user's clipboard,
``ESC ] 8`` plants a link, ``ESC ] 0`` retitles the window, ``ESC [ 2 A`` moves the cursor up
over earlier lines, a bare ``\\r`` returns to the start of the line so that what follows
overprints it (a forged ``system  notebook finished``), and C1 controls such as U+009B are a
one-character ``ESC [`` on many terminals. Each such character is therefore shown as a visible
escape (``\\x1b``, ``\\r``, ``\\x9b``), which also neutralises every sequence it would start: the
rest of the sequence is plain text after it.

Escaped: every control character (C0, DEL, C1), the line and paragraph separators some
renderers break lines at, and the bidirectional formatting characters that reorder what is
shown ("Trojan Source"). A tab stays a tab; a newline stays a newline only where the caller
says the text may span lines. Backslashes are not doubled: a bot can print the six characters
``\\x1b`` itself, but that reaches the terminal as six harmless characters either way.
"""

from __future__ import annotations

import json
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r"}
# Bidirectional embeddings, overrides, isolates and marks; U+2028/U+2029 break lines.
_FORMAT = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SEPARATORS = (0x2028, 0x2029)
_CONTROLS = tuple(cp for cp in range(0xA0) if unicodedata.category(chr(cp)) == "Cc")


def _shown(cp: int) -> str:
    char = chr(cp)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


_UNSAFE = (*_CONTROLS, *_SEPARATORS, *_FORMAT)
_LINE = {cp: _shown(cp) for cp in _UNSAFE if chr(cp) != "\t"}
_LINES = {cp: text for cp, text in _LINE.items() if chr(cp) != "\n"}
# What json.dumps(ensure_ascii=False) leaves raw (it escapes only U+0000-U+001F): the same
# characters as JSON's own \\u escapes, valid wherever they occur since only strings hold them.
_JSON = {cp: f"\\u{cp:04x}" for cp in _UNSAFE if cp >= 0x20}


def escape(text: str, *, newlines: bool = False) -> str:
    """``text`` with every terminal control shown as a visible escape.

    With ``newlines`` a ``\\n`` stays a line break (text the caller lays out as lines);
    without, it is shown as ``\\n`` (a table cell, a field, anything meant as one line).
    """
    return text.translate(_LINES if newlines else _LINE)


def json_text(data: object, *, indent: int | None = None) -> str:
    """JSON for a terminal: readable non-ASCII, but no control character raw, even in strings.

    ``ensure_ascii=False`` keeps names such as ``Zürich`` readable, and ``json.dumps`` then
    escapes only U+0000-U+001F: DEL, the C1 controls and the separators would reach the
    terminal raw. They get JSON's own ``\\u`` escapes, so the output still parses to the same
    data.
    """
    return json.dumps(data, indent=indent, ensure_ascii=False).translate(_JSON)
