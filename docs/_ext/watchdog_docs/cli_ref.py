"""The command-line reference, read from the ``watchdog-lab`` parser itself.

:func:`watchdog_lab.cli.app.build_parser` is the parser the CLI runs, so every subcommand, its
arguments, their defaults and their help appear here as ``watchdog-lab --help`` would show
them, and a new command is documented the moment it is registered.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass

from .markdown import cell, code, escape, heading

__all__ = ["Command", "commands", "render"]

#: Usage lines are wrapped at this width, whatever the terminal of the build is.
USAGE_WIDTH = 88


@dataclass(frozen=True)
class Command:
    """One parser of the tree: ``path`` is the words after ``watchdog-lab``."""

    path: tuple[str, ...]
    help: str | None
    parser: argparse.ArgumentParser


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=USAGE_WIDTH)


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[Command]:
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, child in action.choices.items():
            if child.prog.split()[-1] != name:
                continue  # an alias: documented under its command's own name
            yield Command((*path, name), helps.get(name), child)
            yield from _walk(child, (*path, name))


def commands() -> list[Command]:
    """The root and every subcommand, depth first, in the order they are registered."""
    from watchdog_lab.cli.app import build_parser

    root = build_parser()
    return [Command((), root.description, root), *_walk(root, ())]


def _usage(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = _formatter
    if hasattr(parser, "color"):  # Python 3.14 colours help on a terminal
        parser.color = False
    prefix = "usage: "
    lines = parser.format_usage().rstrip().splitlines()
    # Continuation lines are indented under the program name, past the dropped prefix.
    return "\n".join(
        line.removeprefix(prefix if i == 0 else " " * len(prefix)) for i, line in enumerate(lines)
    )


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    formatter = _formatter(parser.prog)
    rows: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            takes = action.nargs != 0
            metavar = formatter._metavar_formatter(action, action.dest.upper())(1)[0]
            shown = f"{names} {metavar}" if takes else names
        else:
            shown = formatter._metavar_formatter(action, action.dest)(1)[0]
        text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {cell(code(shown))} | {cell(text)} |")
    if not rows:
        return []
    return ["| Argument | Meaning |", "|---|---|", *rows, ""]


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                rows.append(f"| {code(choice.dest)} | {cell(choice.help or '')} |")
    return ["| Command | What it does |", "|---|---|", *rows, ""] if rows else []


def _sentence(text: str) -> str:
    """A help phrase ("create the vault") as a sentence."""
    text = text.strip()
    return escape(text[:1].upper() + text[1:] + ("" if text.endswith((".", ":", ")")) else "."))


def render() -> str:
    """Every command as MyST Markdown: usage, description, subcommands, arguments."""
    lines: list[str] = []
    for command in commands():
        parser = command.parser
        if command.path:
            lines += [heading(1 + len(command.path), code(" ".join(command.path))), ""]
        if command.help:
            lines += [_sentence(command.help), ""]
        if command.path and parser.description and parser.description != command.help:
            lines += [escape(parser.description), ""]
        lines += ["```text", _usage(parser), "```", ""]
        lines += _subcommands(parser)
        lines += _arguments(parser)
        if parser.epilog:
            lines += [escape(parser.epilog), ""]
    return "\n".join(lines)
