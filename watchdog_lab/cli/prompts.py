"""Asking for a connection's fields one by one, as its kind describes them.

Secret and hint fields are typed blind; only ``public`` fields (like Kalshi's environment) are
echoed, since they are shown in full in every listing anyway. A field its kind marks
``from_file`` (a PEM key) also takes ``@PATH``, read like a password file, since that is where
such keys are kept. The vault validates the result again: the checks here only save the user
from retyping a whole key because of one empty field.
"""

from __future__ import annotations

import os
import re

from ..kinds import FieldSpec, KindSpec
from ..kinds.base import FIELD_NAME_MAX, FIELD_VALUE_MAX
from .console import Console
from .errors import InvalidInput, SourceError
from .passwords import open_private_source

ATTEMPTS = 3
_FIELD_NAME = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{FIELD_NAME_MAX - 1}}}")
FROM_FILE_PREFIX = "@"


def _label(spec: FieldSpec, current: str | None) -> str:
    parts = [spec.name]
    if spec.required and current is None and spec.default is None:
        parts.append("*")
    if spec.choices:
        parts.append(f"({'|'.join(spec.choices)})")
    if current:
        parts.append(f"[Enter keeps {current}]")
    elif current is not None:
        parts.append("[Enter skips]")
    elif spec.default is not None:
        parts.append(f"[{spec.default}]")
    elif not spec.required:
        parts.append("[Enter skips]")
    if spec.visibility != "public":
        parts.append("(hidden)")
    return " ".join(parts) + ": "


def _ask_field(console: Console, spec: FieldSpec, current: str | None) -> str:
    """One field's answer; '' means skip (or keep the current value when updating)."""
    for _ in range(ATTEMPTS):
        prompt = _label(spec, current)
        what = f"field {spec.name!r}"
        if spec.visibility == "public":
            value = console.ask(prompt, what).strip()
        else:
            value = console.ask_hidden(prompt, what, pem=True)
        if value and "\n" not in value:
            value = value.strip()
        if spec.from_file and value.startswith(FROM_FILE_PREFIX):
            try:
                value = _read_field_file(console, spec, value[len(FROM_FILE_PREFIX) :].strip())
            except SourceError as exc:
                console.note(str(exc))
                continue
        if not value:
            if spec.required and current is None and spec.default is None:
                console.note(f"{spec.name} is required.")
                continue
            return ""
        if spec.choices and value not in spec.choices:
            console.note(f"{spec.name} must be one of: {', '.join(spec.choices)}.")
            continue
        if "\n" in value:
            console.note(f"(received a {value.count(chr(10))}-line value)")
        return value
    raise InvalidInput(f"no acceptable value for field {spec.name!r} after {ATTEMPTS} tries.")


def _read_field_file(console: Console, spec: FieldSpec, path: str) -> str:
    """The text of the file named at a ``from_file`` field's prompt."""
    what = f"{spec.name} file"
    if not path:
        raise SourceError(f"{what}: give a path after {FROM_FILE_PREFIX!r}.")
    # A prompt is not a shell: ``~`` is expanded here, as the user expects.
    raw = open_private_source(os.path.expanduser(path), what, console, FIELD_VALUE_MAX)
    try:
        return raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise SourceError(f"{what} {path}: not UTF-8 text.") from None


def _ask_open_fields(
    console: Console, known: list[str], current: dict[str, str] | None
) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in known:
        value = _ask_field(
            console, FieldSpec(name, required=False), (current or {}).get(name, "***")
        )
        if value:
            fields[name] = value
    while True:
        name = console.ask("New field name (Enter to finish): ", "a field name").strip()
        if not name:
            if fields or current:
                return fields
            console.note("A connection needs at least one field.")
            continue
        if not _FIELD_NAME.fullmatch(name):
            console.note(
                "Field names use letters, digits and '_' (at most 64), not starting with a digit."
            )
            continue
        value = _ask_field(console, FieldSpec(name), None)
        fields[name] = value


def ask_fields(
    console: Console, kind: KindSpec, title: str, current: dict[str, str] | None = None
) -> dict[str, str]:
    """Prompt for every field of ``kind``; with ``current`` (masked values), Enter keeps one."""
    console.require_interactive(
        "the connection's fields", "Give them with --from-json FILE (or - for a pipe)."
    )
    files = [spec.name for spec in kind.fields if spec.from_file]
    console.note(
        f"{title} ({kind.name}){': ' + kind.description if kind.description else ''}\n"
        "  * marks a required field; hidden fields are not shown as you type; a PEM key can be "
        "pasted whole (it ends at its -----END line)"
        + (f", or read from a file: {FROM_FILE_PREFIX}PATH at {_or(files)}." if files else ".")
    )
    if kind.open:
        return _ask_open_fields(console, sorted(current or {}), current)
    fields = {}
    for spec in kind.fields:
        value = _ask_field(console, spec, None if current is None else current.get(spec.name, ""))
        if value:
            fields[spec.name] = value
    return fields


def _or(names: list[str]) -> str:
    return " or ".join(names)
