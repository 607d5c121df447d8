"""The spellings a secret value takes when it leaves a process.

A key rarely leaks verbatim only: it ends up base64'd in an auth header, URL-escaped in a query
string, JSON-escaped in a log line, hex-dumped by a debugging print, or as one line of a PEM
file. Redaction only works if every one of those spellings is a needle, so they are all derived
here from the one decrypted value.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

__all__ = ["aligned_base64_fragments", "pem_body_lines", "variants"]

_URL_SAFE = str.maketrans("+/", "-_")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
# A PEM block inside a value; the value is small (a key file), so a lazy DOTALL body is fine.
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]{1,64}-----(.*?)-----END [A-Z0-9 ]{1,64}-----", re.S)
# Body lines are split on real line breaks and on their JSON-escaped spellings, because PEM
# values often arrive as one JSON string (service-account files, env files).
_PEM_LINE_BREAK = re.compile(r"\r?\n|\\r\\n|\\n")


def _to_bytes(value: str) -> bytes:
    # surrogatepass: a value is never refused for holding a lone surrogate; it still gets needles.
    return value.encode("utf-8", "surrogatepass")


def _lower_percent_escapes(text: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), text)


def aligned_base64_fragments(raw: bytes) -> list[str]:
    """Base64 characters of ``raw`` that do not depend on its neighbours, at each alignment.

    A secret inside a larger base64'd blob (a JSON config, a basic-auth header) starts at byte
    offset 0, 1 or 2 modulo 3, and each offset encodes it differently. For each offset ``s`` this
    encodes ``b"\\0" * s + raw`` and keeps only the characters whose six bits all come from
    ``raw``, which are exactly the characters the secret contributes to any blob at that offset.
    """
    fragments = []
    for shift in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        first = (8 * shift + 5) // 6
        end = (8 * (shift + len(raw))) // 6
        fragments.append(encoded[first:end])
    return fragments


def pem_body_lines(value: str, min_length: int) -> list[str]:
    """Each base64 body line of every PEM block in ``value`` that is at least ``min_length`` long.

    A PEM key printed or logged line by line, or re-wrapped, no longer contains the whole value;
    its body lines still each identify the key. Header lines (``Proc-Type: ...``) are skipped:
    they are not key material and appear in unrelated files.
    """
    lines = []
    for block in _PEM_BLOCK.finditer(value):
        for line in _PEM_LINE_BREAK.split(block.group(1)):
            line = line.strip()
            if len(line) >= min_length and ":" not in line:
                lines.append(line)
    return lines


def variants(value: str, min_length: int = 8) -> set[str]:
    """Every spelling of ``value`` worth searching for, the value itself included.

    Spellings shorter than ``min_length`` are dropped: they are too short to identify the
    secret and would redact unrelated text.
    """
    raw = _to_bytes(value)
    b64 = base64.b64encode(raw).decode("ascii")
    forms = {
        value,
        b64,
        b64.rstrip("="),
        b64.translate(_URL_SAFE),
        b64.translate(_URL_SAFE).rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for fragment in aligned_base64_fragments(raw):
        forms.add(fragment)
        forms.add(fragment.translate(_URL_SAFE))
    for escaped in (
        quote(value, safe="", errors="surrogatepass"),
        quote_plus(value, safe="", errors="surrogatepass"),
    ):
        forms.add(escaped)
        forms.add(_lower_percent_escapes(escaped))
    forms.update(pem_body_lines(value, min_length))
    return {form for form in forms if len(form) >= min_length}
