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
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote, quote_plus

__all__ = [
    "KEY_PREFIXES",
    "WINDOW",
    "Form",
    "aligned_base64_fragments",
    "forms",
    "pem_body_lines",
    "public_spans",
    "short_variants",
    "variants",
]

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
    """Every whole spelling of ``value`` worth searching for, the value itself included.

    Spellings shorter than ``min_length`` are dropped: they are too short to identify the
    secret and would redact unrelated text. The redactor searches these whole only when they
    are shorter than :data:`WINDOW`; longer ones are searched by windows of :func:`forms`.
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
    for safe in ("", "/"):
        for escaped in (
            _url_escaper(quote, safe)(value),
            _url_escaper(quote_plus, safe)(value),
        ):
            forms.add(escaped)
            forms.add(_lower_percent_escapes(escaped))
    if len(b64) > 76:
        mime = base64.encodebytes(raw).decode("ascii")
        forms.update((mime, mime.rstrip("\n")))
    json_raw = _to_bytes(json.dumps(value)[1:-1])
    if json_raw != raw:
        for fragment in aligned_base64_fragments(json_raw):
            forms.add(fragment)
            forms.add(fragment.translate(_URL_SAFE))
    forms.update(pem_body_lines(value, min_length))
    return {form for form in forms if len(form) >= min_length}


# --- windows: partial copies -----------------------------------------------------------------

# A copy of at least this many consecutive characters of a value, or of one of its encodings,
# is redacted: a truncated repr, one wrapped base64 line, a pasted piece of a key all qualify.
WINDOW = 16


def short_variants(value: str, min_length: int = 8) -> set[str]:
    """The spellings of :func:`variants` shorter than :data:`WINDOW`: the only ones searched for
    whole (longer ones are found by the windows of :func:`forms`).

    A value of WINDOW characters or more has no encoding shorter than itself (escapes, hex and
    base64 only lengthen it), so only its PEM body lines can be short; deriving every long
    spelling of a key just to drop it was a fifth of a redactor's build.
    """
    if len(value) < WINDOW:
        return {spelling for spelling in variants(value, min_length) if len(spelling) < WINDOW}
    return {line for line in pem_body_lines(value, min_length) if len(line) < WINDOW}


# Well-known key prefixes say what kind of key it is, not which one: leaving them out of the
# windows keeps "sk-ant-api03-" in ordinary text (docs, error messages) from counting as a copy.
KEY_PREFIXES: tuple[str, ...] = (
    "sk-ant-api03-",
    "sk-ant-admin01-",
    "sk-ant-",
    "sk-proj-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "pk_test_",
    "whsec_",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xapp-",
    "hf_",
    "AIza",
)
# Armour lines of a PEM block, with their line break (real or JSON-escaped).
_PEM_ARMOUR = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]{1,64}-----(?:\r?\n|\\r\\n|\\n)?")
# RFC 1421 header lines inside a PEM block (Proc-Type, DEK-Info).
_PEM_HEADER_LINE = re.compile(r"(?m)^[A-Z][A-Za-z-]{0,31}: [^\r\n\\]*(?:\r?\n|\\r\\n|\\n)?")
_PEM_HEADER_ESCAPED = re.compile(r"(?<=\\n)[A-Z][A-Za-z-]{0,31}: [^\r\n\\]*(?:\\r\\n|\\n)?")
# The DER (or OpenSSH) structure a PEM body starts with: sequence, version and algorithm
# headers are the same in every key of one type and size; only what follows identifies a key.
_B64 = "[A-Za-z0-9+/]"
_PUBLIC_RUN = re.compile(b"\x00+")
_DER_PREFIX = re.compile(
    r"(?:(?<=\n)|(?<=\\n))(?:"
    rf"MII{_B64}{{3}}IBAAKC{_B64}{{4}}"  # RSA, PKCS#1
    rf"|MII{_B64}{{3}}IBADANBgkqhkiG9w0BAQEFAASC{_B64}{{3}}wgg{_B64}{{2}}AgEAAoI{_B64}{{3}}"
    r"|MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"  # EC P-256, PKCS#8
    rf"|MI{_B64}{{2,4}}AgEAMB{_B64}{{2}}GByqGSM49AgEG"  # other EC curves, PKCS#8
    r"|MHcCAQEEI|MIGkAgEBBDD|MIHcAgEBBEI"  # EC, SEC1
    r"|MC4CAQAwBQYDK2VwBCIEI"  # Ed25519, PKCS#8
    rf"|b3BlbnNzaC1rZXktdjEAAAAA{_B64}{{0,46}}"  # OpenSSH
    r")"
)


def public_spans(value: str) -> list[tuple[int, int]]:
    """Character ranges of ``value`` that unrelated keys share: a copy of them alone is no leak.

    A well-known key prefix at the start of the value, and in a PEM block its armour and header
    lines and the DER structure its body starts with. They are still redacted as part of a
    longer copy; they just never count towards the :data:`WINDOW` characters a copy needs.
    """
    spans: list[tuple[int, int]] = []
    for prefix in KEY_PREFIXES:
        if value.startswith(prefix):
            spans.append((0, len(prefix)))
            break
    if "-----BEGIN " in value:
        spans.extend(m.span() for m in _PEM_ARMOUR.finditer(value))
        for block in _PEM_BLOCK.finditer(value):
            start, end = block.span(1)
            spans.extend(m.span() for m in _PEM_HEADER_LINE.finditer(value, start, end))
            spans.extend(m.span() for m in _PEM_HEADER_ESCAPED.finditer(value, start, end))
            der = _DER_PREFIX.search(value, start, min(end, start + 512))
            if der is not None:
                spans.append(der.span())
    return sorted(spans)


class Form(NamedTuple):
    """One encoding of a value, searched for by windows.

    ``alt`` is a spelling of the same length accepted at any position in its place (base64url
    for base64, upper-case hex, lower-case ``%xx`` escapes). ``secret`` holds 1 for each
    character that carries a secret part of the value and 0 for the public parts (see
    :func:`public_spans`). A ``straddle`` form (MIME base64) only contributes the windows across
    its line breaks: all others are windows of the plain base64 form.
    """

    text: str
    alt: str | None
    secret: bytes
    straddle: bool = False


def _pieces(value: str) -> list[tuple[str, bool]]:
    """``value`` cut into (text, is_secret) pieces at the edges of its public spans."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in public_spans(value):
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            pieces.append((value[pos:start], True))
        pieces.append((value[start:end], False))
        pos = end
    if pos < len(value) or not pieces:
        pieces.append((value[pos:], True))
    return pieces


def _encode(pieces: list[tuple[str, bool]], encode: Callable[[str], str]) -> tuple[str, bytes]:
    """A piece-wise encoding (every encoding here is character-wise) and its secret flags."""
    parts = []
    flags = bytearray()
    for text, secret in pieces:
        out = encode(text)
        parts.append(out)
        flags.extend((b"\x01" if secret else b"\x00") * len(out))
    return "".join(parts), bytes(flags)


def _base64_forms(raw: bytes, flags: bytes, shifts: tuple[int, ...], *, full: bool) -> list[Form]:
    """Base64 of ``raw`` at byte alignments ``shifts`` (see :func:`aligned_base64_fragments`).

    ``full`` keeps the standalone encoding whole, padding included, instead of only the
    characters that do not depend on neighbouring bytes.
    """
    result = []
    for shift in shifts:
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        first = (8 * shift + 5) // 6
        end = len(encoded) if full else (8 * (shift + len(raw))) // 6
        # Secret unless all of a character's bits come from public bytes; padding goes with
        # the last byte.
        char_flags = bytearray(b"\x01" * (end - first))
        for public in _PUBLIC_RUN.finditer(flags):
            lo = -(-8 * (public.start() + shift) // 6) - first
            hi = (end if public.end() == len(raw) else 8 * (public.end() + shift) // 6) - first
            if hi > lo:
                char_flags[max(lo, 0) : hi] = b"\x00" * (hi - max(lo, 0))
        char_flags = char_flags[: end - first]
        text = encoded[first:end]
        result.append(Form(text, text.translate(_URL_SAFE), bytes(char_flags)))
    return result


def _wrapped(form: Form, width: int = 76) -> Form:
    """``form`` laid out as ``base64.encodebytes`` does, in lines of ``width``.

    The final line break is left out: it is layout, and a copy keeps it in the text.
    """

    def wrap(text: str) -> str:
        return "\n".join(text[i : i + width] for i in range(0, len(text), width))

    flags = b"\x01".join(form.secret[i : i + width] for i in range(0, len(form.secret), width))
    return Form(wrap(form.text), wrap(form.alt or form.text), flags, straddle=True)


# What ``urllib.parse.quote`` never escapes, whatever its ``safe`` argument.
_ALWAYS_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_URL_TABLES: dict[tuple[str, bool], dict[int, str]] = {}


def _url_table(safe: str, plus: bool) -> dict[int, str]:
    """The ``str.translate`` table that escapes ASCII text as ``quote`` (or ``quote_plus``)."""
    key = (safe, plus)
    table = _URL_TABLES.get(key)
    if table is None:
        keep = _ALWAYS_SAFE | set(safe)
        table = {code: f"%{code:02X}" for code in range(128) if chr(code) not in keep}
        if plus:
            table[ord(" ")] = "+"
        _URL_TABLES[key] = table
    return table


def _url_escaper(quoter: Callable[..., str], safe: str) -> Callable[[str], str]:
    """``quoter`` with ``safe``, as one ``str.translate`` for ASCII text.

    ``quote`` maps each byte through a Python call, which made URL-escaping a PEM key most of
    a redactor's cost of deriving spellings; ASCII text (every key and token in practice) is
    escaped the same way by one translation at C speed, and other text still by ``quoter``.
    """
    table = _url_table(safe, quoter is quote_plus)

    def escape(text: str) -> str:
        if text.isascii():
            return text.translate(table)
        return quoter(text, safe=safe, errors="surrogatepass")

    return escape


def forms(value: str) -> list[Form]:
    """Every encoding of ``value`` whose windows are searched for (see :data:`WINDOW`).

    Raw, JSON-escaped (ASCII and not), URL-escaped (``quote``/``quote_plus`` with ``safe`` ""
    and "/", either case of ``%xx``), hex (either case), base64 and base64url at every byte
    alignment, and the MIME line breaks of its standalone base64.

    Base64 of the JSON-escaped value (a key inside a base64'd JSON document) needs no forms of
    its own: between two escapes it is the base64 of the raw value at some alignment, and the
    matcher joins the pieces across the few characters an escape changes.
    """
    pieces = _pieces(value)
    found: list[Form] = []
    seen: set[str] = set()

    def add(text: str, flags: bytes, alt: str | None = None) -> None:
        if text and text not in seen:
            seen.add(text)
            found.append(Form(text, alt if alt != text else None, flags))

    add(*_encode(pieces, lambda s: s))
    json_text, json_flags = _encode(pieces, lambda s: json.dumps(s)[1:-1])
    add(json_text, json_flags)
    add(*_encode(pieces, lambda s: json.dumps(s, ensure_ascii=False)[1:-1]))
    # quote_plus and safe="/" only differ where the secret has a space or a slash.
    secret_chars = set().union(*(set(text) for text, secret in pieces if secret))
    for safe in ("", "/") if "/" in secret_chars else ("",):
        for quoter in (quote, quote_plus) if " " in secret_chars else (quote,):
            text, flags = _encode(pieces, _url_escaper(quoter, safe))
            add(text, flags, _lower_percent_escapes(text))
    byte_pieces = [(_to_bytes(text), secret) for text, secret in pieces]
    raw = b"".join(data for data, _ in byte_pieces)
    raw_flags = b"".join((b"\x01" if s else b"\x00") * len(d) for d, s in byte_pieces)
    hex_text = raw.hex()
    hex_flags = bytearray(2 * len(raw_flags))
    hex_flags[0::2] = hex_flags[1::2] = raw_flags
    add(hex_text, bytes(hex_flags), hex_text.upper())

    standalone = _base64_forms(raw, raw_flags, (0,), full=True)[0]
    b64_forms = [standalone, *_base64_forms(raw, raw_flags, (1, 2), full=False)]
    for form in b64_forms:
        if form.text and form.text not in seen:
            seen.add(form.text)
            found.append(form)
    if len(standalone.text) > 76:
        found.append(_wrapped(standalone))
    return found
