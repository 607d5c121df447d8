"""Connection names, and the connection kinds as the vault sees them.

Names are restricted to printable ASCII letters, digits, space and ``_ . -`` so that two names
that look alike are alike (no homoglyphs, no control characters, no path separators), and they
are unique case-insensitively.

The kinds themselves (their fields, checks and helpers) live in :mod:`watchdog_lab.kinds`, one
module per kind. This module hands them to the vault with the vault's error class, so every
face maps a bad kind or a bad field like any other refused connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..kinds import (
    KINDS,
    FieldSpec,
    KindError,
    KindSpec,
    Visibility,
    all_kinds,
    mask,
)
from ..kinds import resolve_kind as _resolve_kind
from .errors import InvalidConnection, InvalidName
from .models import DescribeKind, DescribeKindField, ListKindsResponse

__all__ = [
    "KINDS",
    "NAME_MAX",
    "FieldSpec",
    "KindSpec",
    "Visibility",
    "describe_kinds",
    "mask",
    "name_key",
    "resolve_kind",
    "validate_fields",
    "validate_name",
]


def describe_kinds() -> ListKindsResponse:
    """Every registered kind with its fields, for the faces that build a connection form (the
    sidebar, the panel, ``connections kinds``): one description, so they cannot disagree."""
    return ListKindsResponse(
        kinds=[
            DescribeKind(
                kind=spec.label,
                description=spec.description,
                open=spec.open,
                family=spec.variant is not None,
                fields=[
                    DescribeKindField(
                        name=f.name,
                        visibility=f.visibility,
                        required=f.required,
                        choices=list(f.choices),
                        default=f.default,
                        description=f.description,
                        from_file=f.from_file,
                    )
                    for f in spec.fields
                ],
            )
            for spec in all_kinds()
        ]
    )


NAME_MAX = 64

_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 _.\-]*[A-Za-z0-9_.\-])?")


def validate_name(name: object, what: str = "connection") -> str:
    """Return the name unchanged if it is acceptable, else raise :class:`InvalidName`.

    Bots are named by the same rule (``what="bot"``): names end up in paths, logs and UIs.
    """
    if not isinstance(name, str):
        raise InvalidName(repr(name), "a name must be text", what)
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidName(name, f"use 1 to {NAME_MAX} characters", what)
    if not _NAME_RE.fullmatch(name):
        raise InvalidName(
            name,
            "use letters, digits, space, '_', '.' and '-' only (ASCII), starting with a letter "
            "or digit and not ending with a space",
            what,
        )
    return name


def name_key(name: str) -> str:
    """The case-insensitive identity of a name (what uniqueness is checked on)."""
    return name.casefold()


def resolve_kind(kind: object) -> KindSpec:
    """The kind's spec; an unknown kind is an :class:`InvalidConnection` listing the known."""
    try:
        return _resolve_kind(kind)
    except KindError as exc:
        raise InvalidConnection(str(exc)) from None


def validate_fields(spec: KindSpec, fields: Mapping[str, str]) -> dict[str, str]:
    """Check ``fields`` against ``spec`` and return them with defaults filled in."""
    try:
        return spec.validate(fields)
    except KindError as exc:
        raise InvalidConnection(str(exc)) from None
