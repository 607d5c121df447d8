"""Connection kinds: one module per kind, found by the registry.

Every module of this package except ``base``, ``errors`` and ``tls`` (and names starting with
``_``) is
a kind module and defines ``KIND``, a :class:`~.base.KindSpec`. Adding an exchange is adding
one module here: the vault validates its fields with it, the CLI lists it and prompts for its
fields, and connections of that kind offer its helpers in kernels and bots.

The modules are imported on the first lookup, not when the package is imported, so that code
that never asks about a kind (most of the SDK) does not pay for them. This package imports
nothing else of ``watchdog_lab``: the vault, the CLI and the SDK import it, and it is copied
with the SDK into every bot's venv.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator, Mapping

from .base import FieldSpec, Helper, KindSpec, Visibility, mask, validate_fields
from .errors import (
    CredentialsError,
    InvalidFields,
    KindDefinitionError,
    KindError,
    UnknownKind,
)

__all__ = [
    "KINDS",
    "CredentialsError",
    "FieldSpec",
    "Helper",
    "InvalidFields",
    "KindDefinitionError",
    "KindError",
    "KindSpec",
    "UnknownKind",
    "Visibility",
    "all_kinds",
    "find_kind",
    "helper_owners",
    "mask",
    "refresh",
    "resolve_kind",
    "validate_fields",
]

# Modules of this package that hold the machinery, not a kind.
_NOT_KINDS = frozenset({"base", "errors", "tls"})
# A kind's name is stored in the vault and typed on command lines: short, lowercase, no ':'
# (which separates a family from its member, as in ``ccxt:binance``).
_KIND_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SHOWN_MAX = 40

_kinds: dict[str, KindSpec] | None = None


def _discover() -> dict[str, KindSpec]:
    found: dict[str, KindSpec] = {}
    modules = sorted({info.name for info in pkgutil.iter_modules(__path__)})
    for module_name in modules:
        if module_name.startswith("_") or module_name in _NOT_KINDS:
            continue
        module = importlib.import_module(f"{__name__}.{module_name}")
        spec = getattr(module, "KIND", None)
        if not isinstance(spec, KindSpec):
            raise KindDefinitionError(
                f"kind module {module.__name__} must define KIND, a KindSpec (modules whose "
                "name starts with '_' are not kinds)"
            )
        if not _KIND_NAME_RE.fullmatch(spec.name):
            raise KindDefinitionError(
                f"kind module {module.__name__}: kind name {spec.name!r} must be lowercase "
                "letters, digits and '_', starting with a letter (at most 32)"
            )
        if spec.name in found:
            raise KindDefinitionError(
                f"kind module {module.__name__}: kind {spec.name!r} is defined twice"
            )
        found[spec.name] = spec
    return found


def _registry() -> dict[str, KindSpec]:
    global _kinds
    if _kinds is None:
        _kinds = _discover()
    return _kinds


def refresh() -> None:
    """Find the kind modules again on the next lookup (after this package's path changed)."""
    global _kinds
    _kinds = None


class _Kinds(Mapping[str, KindSpec]):
    """Every registered kind by name, found on first use (families by their bare name)."""

    def __getitem__(self, name: str) -> KindSpec:
        return _registry()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_registry())

    def __len__(self) -> int:
        return len(_registry())

    def __repr__(self) -> str:
        return f"KINDS({', '.join(_registry())})"


KINDS: Mapping[str, KindSpec] = _Kinds()


def all_kinds() -> tuple[KindSpec, ...]:
    """Every registered kind, by name; a family appears once, as written in ``label``."""
    return tuple(_registry()[name] for name in sorted(_registry()))


def resolve_kind(kind: object) -> KindSpec:
    """The spec of ``kind`` as stored in the vault (``kalshi``, ``ccxt:binance``...).

    Raises :class:`UnknownKind` listing the known kinds, or the family's own error for a
    member it refuses.
    """
    if not isinstance(kind, str):
        raise UnknownKind("A connection kind must be text.")
    kinds = _registry()
    spec = kinds.get(kind)
    if spec is not None and spec.variant is None:
        return spec
    family, separator, member = kind.partition(":")
    parent = kinds.get(family) if separator else None
    if parent is not None and parent.variant is not None:
        return parent.variant(member)
    known = ", ".join(spec.label for spec in all_kinds())
    raise UnknownKind(f"Unknown connection kind {kind[:_SHOWN_MAX]!r}. Known kinds: {known}.")


def find_kind(kind: str) -> KindSpec | None:
    """The spec of ``kind`` ignoring case, or ``None``: for the SDK, whose connections may be
    built by hand with any kind name and must not fail for that."""
    try:
        return resolve_kind(kind.casefold())
    except KindError:
        return None


def helper_owners(helper: str) -> tuple[str, ...]:
    """The kinds whose connections offer ``helper`` (to say which one a caller needs)."""
    return tuple(spec.label for spec in all_kinds() if helper in spec.helpers)
