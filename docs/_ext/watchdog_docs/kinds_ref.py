"""The connection kinds, read from the kinds registry.

Each kind module declares its fields (and how much of each a listing may show) and the helpers
its connections offer in kernels and bots; the vault validates with the same declarations, so
the table cannot promise a field the vault would refuse.
"""

from __future__ import annotations

import inspect
from typing import Any

from .markdown import cell, code, escape, heading

__all__ = ["kinds", "render"]

SHOWN = {"public": "in full", "hint": "first characters", "secret": "never"}


def kinds() -> tuple[Any, ...]:
    """Every registered kind, by name."""
    from watchdog_lab.kinds import all_kinds

    return tuple(sorted(all_kinds(), key=lambda kind: kind.name))


def _field_notes(spec: Any) -> str:
    notes = [spec.description] if spec.description else []
    if spec.choices:
        notes.append("one of " + ", ".join(spec.choices))
    if spec.default is not None:
        notes.append(f"default {spec.default}")
    if spec.from_file:
        notes.append("the CLI also takes @PATH")
    return "; ".join(notes)


def _call(name: str, helper: Any) -> str:
    """How a helper is written in a notebook: ``conn.base_url`` or ``conn.sign_request(...)``."""
    if helper.value:
        return f"conn.{name}"
    try:
        parameters = list(inspect.signature(helper.function).parameters.values())[1:]
    except (TypeError, ValueError):  # a builtin without a signature
        return f"conn.{name}(...)"
    bare = [str(parameter.replace(annotation=inspect.Parameter.empty)) for parameter in parameters]
    return f"conn.{name}({', '.join(bare)})"


def render() -> str:
    """Each kind: how it is written, what it is for, its fields and its helpers."""
    lines: list[str] = []
    for kind in kinds():
        lines += [heading(3, code(kind.usage or kind.name)), ""]
        if kind.description:
            lines += [escape(kind.description[:1].upper() + kind.description[1:]) + ".", ""]
        if kind.open:
            lines += ["Any well-formed field names; every value is secret.", ""]
        if kind.fields:
            lines += ["| Field | Required | Shown | Notes |", "|---|---|---|---|"]
            for spec in kind.fields:
                shown = SHOWN.get(spec.visibility, spec.visibility)
                lines.append(
                    f"| {code(spec.name)} | {'yes' if spec.required else 'no'} | {shown} "
                    f"| {cell(_field_notes(spec))} |"
                )
            lines.append("")
        if kind.helpers:
            lines += ["In kernels and bots, its connections offer:", ""]
            for name, helper in kind.helpers.items():
                doc = inspect.getdoc(helper.function) or ""
                first = doc.split("\n\n")[0]
                lines.append(
                    f"- {code(_call(name, helper))}" + (f": {escape(first)}" if first else "")
                )
            lines.append("")
    return "\n".join(lines)
