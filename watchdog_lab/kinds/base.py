"""What a connection kind declares, and the checks every kind shares.

A kind module builds one :class:`KindSpec`: its fields (with how much of each may be shown),
its own check of a whole set of fields, and the helpers its connections offer in kernels and
bots. Everything here is the standard library only: the package is copied into every bot's
venv with the SDK, and a kind's heavy dependencies (``cryptography``) are imported inside the
functions that need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeVar

from .errors import InvalidFields, KindDefinitionError

__all__ = [
    "FIELDS_MAX",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "HINT_MIN_LENGTH",
    "Credentials",
    "FieldSpec",
    "Helper",
    "KindSpec",
    "Visibility",
    "mask",
    "validate_fields",
]

Visibility = Literal["public", "hint", "secret"]
VISIBILITIES: frozenset[str] = frozenset({"public", "hint", "secret"})

FIELD_NAME_MAX = 64
FIELD_VALUE_MAX = 64 * 1024
FIELDS_MAX = 32
# Below this length three characters would give away too large a share of the value.
HINT_MIN_LENGTH = 12
HINT_PREFIX_CHARS = 3
MASK = "***"

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HELPER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

_T = TypeVar("_T")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind.

    ``from_file`` marks a value people keep in a file (a PEM key): the CLI then also takes
    ``@PATH`` at its prompt. ``visibility`` says how much a listing, a repr or a log may show:
    ``public`` in full, ``hint`` the first characters of a long value, ``secret`` nothing.
    """

    name: str
    visibility: Visibility = "secret"
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | None = None
    description: str = ""
    from_file: bool = False

    def __post_init__(self) -> None:
        if not _FIELD_RE.fullmatch(self.name) or len(self.name) > FIELD_NAME_MAX:
            raise KindDefinitionError(f"field name {self.name!r} is not a valid field name")
        if self.visibility not in VISIBILITIES:
            raise KindDefinitionError(
                f"field {self.name!r}: visibility must be one of {', '.join(sorted(VISIBILITIES))}"
            )
        if self.default is not None and self.choices and self.default not in self.choices:
            raise KindDefinitionError(f"field {self.name!r}: its default is not one of its choices")


class Credentials(Protocol):
    """What a kind's helpers may use of a connection: the SDK's ``Connection`` is one.

    Helpers read fields by name only when they need them and never keep a value in a local
    variable of a frame that may raise: a traceback that captures locals would show it.
    """

    @property
    def name(self) -> str: ...

    @property
    def field_names(self) -> tuple[str, ...]: ...

    def __contains__(self, field: object) -> bool: ...

    def __getitem__(self, field: str) -> str: ...

    def _cached(self, key: str, build: Callable[[], _T]) -> _T: ...


@dataclass(frozen=True)
class Helper:
    """A convenience that connections of a kind offer in kernels and bots, as ``conn.NAME``.

    ``function`` takes the connection first. A ``value`` helper is read like a field
    (``conn.base_url``); any other is a method (``conn.sign_request(method, path)``). Helpers
    report unusable fields with :class:`~.errors.CredentialsError`.
    """

    function: Callable[..., Any]
    value: bool = False


@dataclass(frozen=True)
class KindSpec:
    """A kind: its fields and the hooks that make it more than a list of fields.

    - ``open`` kinds (generic) accept any well-formed field name.
    - ``check`` sees the fields once the shared checks passed and returns them, normalised, or
      raises :class:`~.errors.InvalidFields` (Kalshi parses its key here).
    - ``variant`` makes the kind a family written ``NAME:<member>`` (``ccxt:binance``); it
      returns the member's own spec or raises, and ``NAME`` alone is then not a kind.
    - ``usage`` is how the kind is written in lists of kinds, when that is not its name.
    - ``helpers`` are the conveniences its connections offer inside kernels and bots.
    """

    name: str
    fields: tuple[FieldSpec, ...] = ()
    open: bool = False
    description: str = ""
    check: Callable[[dict[str, str]], dict[str, str]] | None = field(default=None, compare=False)
    variant: Callable[[str], KindSpec] | None = field(default=None, compare=False)
    usage: str = ""
    helpers: Mapping[str, Helper] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.fields]
        if len(set(names)) != len(names):
            raise KindDefinitionError(f"kind {self.name!r} declares a field twice")
        for helper in self.helpers:
            # Underscore names are protocol probes (``_repr_html_``); a helper there would answer
            # them.
            if not _HELPER_RE.fullmatch(helper):
                raise KindDefinitionError(
                    f"kind {self.name!r}: helper name {helper!r} must be an identifier that "
                    "does not start with '_'"
                )
        object.__setattr__(self, "helpers", MappingProxyType(dict(self.helpers)))

    @property
    def label(self) -> str:
        """How the kind is written where kinds are listed (``ccxt:<exchange id>``)."""
        return self.usage or self.name

    def spec_for(self, field_name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == field_name:
                return spec
        return None

    def visibility(self, field_name: str) -> Visibility:
        """How much of a field may be shown; fields the kind does not declare are secret."""
        spec = self.spec_for(field_name)
        return spec.visibility if spec else "secret"

    def validate(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The fields, checked and with defaults filled in; see :func:`validate_fields`."""
        return validate_fields(self, fields)


def validate_fields(spec: KindSpec, fields: Mapping[str, str]) -> dict[str, str]:
    """Check ``fields`` against ``spec`` and return them with defaults filled in.

    The shared rules (names, sizes, NUL, choices, required fields) come first, then the kind's
    own ``check``, which may assume them.
    """
    if not isinstance(fields, Mapping):
        raise InvalidFields("Connection fields must be a mapping of field name to text.")
    if len(fields) > FIELDS_MAX:
        raise InvalidFields(f"A connection holds at most {FIELDS_MAX} fields.")
    out: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD_RE.fullmatch(name) or len(name) > FIELD_NAME_MAX:
            raise InvalidFields(
                f"Invalid field name {str(name)[:40]!r}: use letters, digits and '_' "
                f"(at most {FIELD_NAME_MAX}), not starting with a digit."
            )
        if not spec.open and spec.spec_for(name) is None:
            allowed = ", ".join(s.name for s in spec.fields)
            raise InvalidFields(f"Kind {spec.name!r} has no field {name!r}. Its fields: {allowed}.")
        if not isinstance(value, str):
            raise InvalidFields(f"Field {name!r} must be text.")
        if "\x00" in value:
            raise InvalidFields(f"Field {name!r} contains a NUL character.")
        if len(value) > FIELD_VALUE_MAX:
            raise InvalidFields(f"Field {name!r} is longer than {FIELD_VALUE_MAX} characters.")
        if value == "":
            continue
        fs = spec.spec_for(name)
        if fs and fs.choices and value not in fs.choices:
            raise InvalidFields(
                f"Field {name!r} must be one of {', '.join(fs.choices)}; got {value[:20]!r}."
            )
        out[name] = value
    for fs in spec.fields:
        if fs.name not in out and fs.default is not None:
            out[fs.name] = fs.default
    missing = [fs.name for fs in spec.fields if fs.required and fs.name not in out]
    if missing:
        raise InvalidFields(f"Kind {spec.name!r} needs field(s): {', '.join(missing)}.")
    if not out:
        raise InvalidFields("A connection needs at least one non-empty field.")
    return spec.check(out) if spec.check is not None else out


def mask(value: str, visibility: str) -> str:
    """What a listing may show of a value: public in full, a 3-character hint, or nothing.

    Unknown levels are treated as secret: a typo in a visibility table must hide more, not less.
    """
    if visibility == "public":
        return value
    if visibility == "hint" and len(value) >= HINT_MIN_LENGTH:
        return value[:HINT_PREFIX_CHARS] + MASK
    return MASK
