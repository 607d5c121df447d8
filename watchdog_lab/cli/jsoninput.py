"""``--from-json``: connection fields from a file or standard input, checked without echoing.

The document is full of secrets, so no message here quotes it: a JSON syntax error is reported
by line and column only (the decoder's own message can contain the offending text), a wrong
type by the field's name, and a key is named only if it looks like a field name (a value pasted
where a key belongs would otherwise be printed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .console import Console
from .errors import InvalidInput, SourceError
from .passwords import open_private_source

# 32 fields of at most 64 KiB each fit in well under this; anything bigger is a mistake.
MAX_JSON_BYTES = 4 * 1024 * 1024
OPTION = "--from-json"
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class JsonConnection:
    kind: str | None
    fields: dict[str, str]


def _show(key: str) -> str:
    return repr(key) if _SAFE_KEY.fullmatch(key) else "(a key that is not a valid field name)"


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidInput(f"{OPTION}: the key {_show(key)} appears twice.")
        out[key] = value
    return out


def read_document(source: str, console: Console) -> dict[str, object]:
    """Read and parse the JSON object named by ``source`` (a path, or ``-`` for stdin)."""
    label = f"{OPTION} {source}"
    if source == "-":
        if console.interactive:
            raise SourceError(
                f"{OPTION} -: standard input is a terminal, where the secrets would be shown as "
                "you type them; pipe the JSON in, or give a file path."
            )
        raw = console.stdin.buffer.read(MAX_JSON_BYTES + 1)
    else:
        raw = open_private_source(source, OPTION, console, MAX_JSON_BYTES)
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInput(f"{label}: larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{label}: not UTF-8 text.") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        # exc.msg is the decoder's text; anything after a colon may quote the input.
        reason = exc.msg.split(":", 1)[0]
        raise InvalidInput(
            f"{label}: line {exc.lineno} column {exc.colno}: invalid JSON ({reason})."
        ) from None
    except RecursionError:
        raise InvalidInput(f"{label}: nested too deeply to be a connection.") from None
    if not isinstance(doc, dict):
        raise InvalidInput(
            f'{label}: expected a JSON object like {{"fields": {{...}}}}, got {_type_name(doc)}.'
        )
    return doc


def _check_keys(doc: dict[str, object], allowed: tuple[str, ...]) -> None:
    unknown = [k for k in doc if k not in allowed]
    if unknown:
        shown = ", ".join(_show(k) for k in unknown)
        raise InvalidInput(
            f"{OPTION}: unknown key(s) {shown}; expected only: {', '.join(allowed)}."
        )


def _fields(doc: dict[str, object]) -> dict[str, str]:
    fields = doc.get("fields")
    if fields is None:
        raise InvalidInput(f'{OPTION}: the object needs a "fields" object.')
    if not isinstance(fields, dict):
        raise InvalidInput(f'{OPTION}: "fields" must be an object, not {_type_name(fields)}.')
    for key, value in fields.items():
        if not _SAFE_KEY.fullmatch(key):
            raise InvalidInput(
                f"{OPTION}: field names use letters, digits and '_' (at most 64, not starting "
                "with a digit); one of them does not."
            )
        if not isinstance(value, str):
            raise InvalidInput(
                f"{OPTION}: field {key!r} must be a string, not {_type_name(value)}."
            )
    return fields


def connection_to_add(doc: dict[str, object]) -> JsonConnection:
    """``{"kind": ..., "fields": {...}}``; the kind may be left to ``--kind``."""
    _check_keys(doc, ("kind", "fields"))
    kind = doc.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise InvalidInput(f'{OPTION}: "kind" must be a string, not {_type_name(kind)}.')
    return JsonConnection(kind=kind, fields=_fields(doc))


def fields_to_update(doc: dict[str, object]) -> dict[str, str]:
    """``{"fields": {...}}``."""
    _check_keys(doc, ("fields",))
    return _fields(doc)
