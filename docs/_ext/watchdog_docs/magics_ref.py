"""The ``%wd`` reference, read from the magics' own command registry.

:mod:`watchdog_lab.ipython.commands` holds each subcommand's usage line, summary and details;
``%wd?`` and ``%wd help CMD`` are built from the same entries, so this page says what the
notebook's own help says.
"""

from __future__ import annotations

from typing import Any

from .markdown import code, escape, heading

__all__ = ["commands", "render"]


def commands() -> list[Any]:
    """Every registered subcommand, in the order ``%wd help`` lists them."""
    import watchdog_lab.ipython.magics  # noqa: F401 - registers every subcommand
    from watchdog_lab.ipython.commands import COMMANDS, HELP_ORDER

    rank = {name: index for index, name in enumerate(HELP_ORDER)}
    return sorted(
        COMMANDS.values(), key=lambda entry: (rank.get(entry.name, len(rank)), entry.name)
    )


def render() -> str:
    """Each subcommand as MyST Markdown: its synopsis, what it does, and the details."""
    lines: list[str] = []
    for entry in commands():
        lines += [heading(3, code(f"%wd {entry.name}")), ""]
        lines += ["```text", entry.usage, "```", ""]
        summary = entry.summary[:1].upper() + entry.summary[1:]
        lines += [escape(summary if summary.endswith(".") else summary + "."), ""]
        if entry.details:
            lines += [escape(entry.details), ""]
    return "\n".join(lines)
