"""The configuration reference, read from the ``c.WatchdogLab.*`` traits themselves.

Every setting's name, type, default and help come from
:class:`watchdog_lab.settings.WatchdogLab`, and its accepted range from its own validator:
each numeric setting is given a value far out of range and the refusal the validator raises is
what the page prints. So the page cannot drift from the checks a user's config meets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from traitlets import Enum, Float, HasTraits, Int, List, TraitError, TraitType
from traitlets.config import Config

from .markdown import code, escape, heading

__all__ = ["accepted_range", "render", "settings"]

#: Values no sane setting accepts: the validator's refusal of them states its bounds.
_FAR_OUT = 10**12
#: The refusal's wording of a range, as ``vault.config.in_range`` and the other checks write it.
_RANGE = re.compile(r"\bis (?:outside|not) (?P<range>.+? to .+?)\.?$")
_ITEM_RANGE = re.compile(r"\((?P<range>-?\d+ to -?\d+)\)")
_E_NOTATION = re.compile(r"\b\d+(?:\.\d+)?e\+\d+\b")


def settings() -> dict[str, TraitType[Any, Any]]:
    """Every configurable trait of ``c.WatchdogLab``, by name."""
    from watchdog_lab.settings import WatchdogLab

    return dict(sorted(WatchdogLab.class_traits(config=True).items()))


def _refusal(name: str, value: object) -> str | None:
    from watchdog_lab.settings import WatchdogLab

    try:
        WatchdogLab(config=Config({"WatchdogLab": {name: value}}))
    except TraitError as exc:
        return str(exc)
    return None


def _exact_int_bound(name: str, inside: int, outside: int) -> int:
    """The last accepted integer between ``inside`` (accepted) and ``outside`` (refused)."""
    while abs(outside - inside) > 1:
        middle = (inside + outside) // 2
        if _refusal(name, middle) is None:
            inside = middle
        else:
            outside = middle
    return inside


def accepted_range(name: str, trait: TraitType[Any, Any]) -> str | None:
    """What the setting's validator accepts, in its own words; ``None`` when it states no range.

    Integer bounds are found exactly (the validator's message rounds large numbers); a float's
    are quoted from the message.
    """
    if isinstance(trait, Enum):
        return ", ".join(code(json.dumps(value)) for value in trait.values or ())
    if isinstance(trait, List) and isinstance(trait._trait, Int):
        # A list of numbers: its check names the range each item must be in.
        found = _ITEM_RANGE.search(_refusal(name, [_FAR_OUT]) or "")
        return f"each item {found.group('range')}" if found else None
    if not isinstance(trait, Int | Float):
        return None
    probe: float = float(_FAR_OUT) if isinstance(trait, Float) else _FAR_OUT
    refusal = _refusal(name, probe)
    found = _RANGE.search(refusal or "")
    if found is None:
        return None
    words = found.group("range")
    if isinstance(trait, Int):
        default = trait.default()
        if not isinstance(default, int):
            return words  # no accepted value to search from
        low = _exact_int_bound(name, default, -_FAR_OUT)
        high = _exact_int_bound(name, default, _FAR_OUT)
        unit = re.sub(r"^.+? to \S+", "", words)  # " bytes", " days" or nothing
        return f"{low} to {high}{unit}"
    # "1e+06" as a reader writes it.
    return _E_NOTATION.sub(lambda number: f"{float(number.group(0)):.0f}", words)


def _default(owner: type[HasTraits], name: str, trait: TraitType[Any, Any]) -> str:
    generator = owner._all_trait_default_generators.get(name)
    if generator is not None and getattr(generator, "__self__", None) is not trait:
        return "computed at start (see above)"
    value = trait.default()
    if isinstance(value, str | int | float | bool | list | dict):
        return code(json.dumps(value))
    return code(repr(value))


def _declared_in(owner: type[HasTraits], name: str) -> type[HasTraits]:
    for klass in reversed(owner.__mro__):
        if name in vars(klass):
            return klass
    return owner


def _entries() -> Iterator[tuple[type[HasTraits], str, TraitType[Any, Any]]]:
    from watchdog_lab.settings import WatchdogLab

    for name, trait in settings().items():
        yield _declared_in(WatchdogLab, name), name, trait


def render() -> str:
    """The whole reference as MyST Markdown: one section per service, one entry per setting."""
    from watchdog_lab.settings import WatchdogLab

    groups: dict[type[HasTraits], list[tuple[str, TraitType[Any, Any]]]] = {}
    for klass, name, trait in _entries():
        groups.setdefault(klass, []).append((name, trait))
    lines: list[str] = []
    for klass in sorted(groups, key=lambda k: (k is not WatchdogLab, k.__name__)):
        title = "General" if klass is WatchdogLab else klass.__name__
        lines += [heading(2, title), ""]
        summary = (klass.__doc__ or "").strip().split("\n\n")[0]
        if summary and klass is not WatchdogLab:
            lines += [escape(summary), ""]
        lines += [f"Declared in {code(f'{klass.__module__}.{klass.__name__}')}.", ""]
        for name, trait in groups[klass]:
            lines += [heading(3, code(f"c.WatchdogLab.{name}")), ""]
            if trait.help:
                lines += [escape(trait.help), ""]
            lines += [
                f"- **Type:** {code(type(trait).__name__)}",
                f"- **Default:** {_default(WatchdogLab, name, trait)}",
            ]
            accepted = accepted_range(name, trait)
            if accepted:
                lines.append(f"- **Accepted:** {accepted}")
            lines.append("")
    return "\n".join(lines)
