"""Package-manager lines in a notebook being frozen into a bot: turned into visible comments.

A research notebook often starts with ``%pip install x``. Promote reads such lines
(:mod:`.deps`) and installs what they ask for into the bot's own environment. Left in the
frozen notebook, they would run again at every start, inside the sandbox, where they cannot
work: IPython runs shell commands on a pseudo-terminal, which the sandbox does not provide
(``OSError: out of pty devices``), and the environment is read-only and sealed anyway. The bot
would fail at its first cell and crash-loop.

So freezing replaces each such line with a comment that keeps the original text, where the
user reading the bot's notebook sees it. A line inside an indented block becomes ``pass`` with
the comment, so the block stays valid Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from .policy import redact_spec

__all__ = ["REMOVED_PREFIX", "NeutralisedLine", "neutralise_package_lines"]

REMOVED_PREFIX = "# removed by WatchDog Lab at promote: "
_INSTALLED = "installed into the bot's environment: "
_NOT_RUN = "package managers do not run inside a bot: "
_CONDA = "conda does not run inside a bot (bots install from PyPI only): "
_CONDA_TOOLS = re.compile(r"[%!]{1,2}\s*(?:\S*/)?(?:conda|mamba|micromamba)(?:\s|$)")

_PROGRAM = r"(?:\S*/)?"
# ``%pip ...``, ``%conda ...``: IPython's package-manager magics (the ``%`` may be omitted
# with automagic, but then the line reads as Python and is left alone).
_MAGIC = re.compile(r"%\s*(?:pip|uv|conda|mamba|micromamba)(?:\s|$)")
# ``!pip ...``, ``!!conda ...``, ``!python -m pip ...``, ``!{sys.executable} -m pip ...``,
# ``!uv pip ...``, with ``NAME=value`` assignments in front allowed.
_SHELL = re.compile(
    r"!{1,2}\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*"
    rf"(?:{_PROGRAM}(?:pip[0-9.]*|conda|mamba|micromamba)(?:\s|$)"
    rf"|{_PROGRAM}uv\s+pip(?:\s|$)"
    rf"|(?:{_PROGRAM}python[0-9.]*|\{{sys\.executable\}}|\$\{{?PYTHON\}}?)\s+-m\s+pip(?:\s|$))"
)
_INSTALL = re.compile(r"(?:^|\s)(?:install|add|create)(?:\s|$)")
# Cell magics whose body is IPython code, where these lines are read as magics; any other
# cell magic (``%%bash``, ``%%writefile``) makes the body something else, left alone.
_PYTHON_BODY_MAGICS = frozenset({"capture", "time", "timeit", "prun"})


class NeutralisedLine(NamedTuple):
    """One line turned into a comment: its cell (counted from 0 over all cells) and text."""

    cell_index: int
    text: str


def _is_package_line(stripped: str) -> bool:
    return bool(_MAGIC.match(stripped) or _SHELL.match(stripped))


def _python_body(source: str) -> bool:
    first = source.lstrip().split("\n", 1)[0]
    if not first.startswith("%%"):
        return True
    name = first[2:].split(None, 1)[0] if first[2:].strip() else ""
    return name in _PYTHON_BODY_MAGICS


def _neutralise(source: str) -> tuple[str, list[str]]:
    lines = source.split("\n")
    out: list[str] = []
    found: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not _is_package_line(stripped):
            out.append(line)
            i += 1
            continue
        # A trailing backslash continues the command on the next line: all of it goes.
        command = [line]
        while command[-1].rstrip().endswith("\\") and i + len(command) < len(lines):
            command.append(lines[i + len(command)])
        i += len(command)
        indent = line[: len(line) - len(stripped)]
        # Shown to the user and kept in the notebook: a URL's token is masked in both.
        text = redact_spec(" ".join(part.strip().rstrip("\\").strip() for part in command))
        if _CONDA_TOOLS.match(text):
            reason = _CONDA
        else:
            reason = _INSTALLED if _INSTALL.search(text) else _NOT_RUN
        statement = "pass  " if indent else ""
        out.append(f"{indent}{statement}{REMOVED_PREFIX}{reason}{text}")
        found.append(text)
    return "\n".join(out), found


def neutralise_package_lines(cells: Iterable[Any]) -> list[NeutralisedLine]:
    """Replace the package-manager lines of ``cells`` (nbformat code cells, changed in place)
    with comments; return what was replaced."""
    replaced: list[NeutralisedLine] = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if not source or not _python_body(source):
            continue
        new, found = _neutralise(source)
        if found:
            cell["source"] = new
            replaced.extend(NeutralisedLine(index, text) for text in found)
    return replaced
