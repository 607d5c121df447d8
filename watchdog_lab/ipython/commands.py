"""The ``%wd`` subcommands: a registry, their help, and what every one of them shares.

Each subcommand is a function of (the magics, the rest of the line), registered with its usage
line and its help by :func:`command`; :mod:`.magics` dispatches to it and builds ``%wd?`` and
``%wd help CMD`` from the same entries, so the help cannot fall behind the commands. Refusals
are one-line ``UsageError``\\ s: no traceback, and a "run all" stops there.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from IPython.core.error import UsageError

from ..sdk.broker import BrokerClient
from ..sdk.errors import BrokerError

NO_BROKER = (
    "This kernel was not started by a Jupyter server with WatchDog Lab, so there is no kernel "
    "broker to talk to. Open the notebook in JupyterLab with WatchDog Lab installed (or "
    "restart its kernel if the extension was installed after it started)."
)


class Magics(Protocol):
    """What a subcommand may use of the magics object (see :class:`.magics.WatchdogMagics`)."""

    shell: Any
    failures: Any

    def ask_password(self, prompt: str) -> str: ...

    def ask(self, prompt: str) -> str: ...

    def client(self) -> BrokerClient: ...


Run = Callable[[Magics, str], None]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # the synopsis, e.g. "%wd logs BOT [-n N] [--follow]"
    summary: str  # one line for the overview
    details: str  # what %wd help CMD adds
    run: Run


COMMANDS: dict[str, Command] = {}
#: The order of the help: the vault and grants, the bots, AI Fix, then the rest.
HELP_ORDER = (
    *("connect", "connections", "revoke", "status", "unlock", "lock"),
    *("bots", "promote", "start", "stop", "restart", "delete", "logs"),
    *("fix", "panel", "help"),
)


def command(name: str, usage: str, summary: str, details: str = "") -> Callable[[Run], Run]:
    """Register ``name``; the decorated function is called with (magics, rest of the line)."""

    def register(run: Run) -> Run:
        COMMANDS[name] = Command(name, usage, summary, details, run)
        return run

    return register


def overview() -> str:
    """Every subcommand: its synopsis and what it does, in :data:`HELP_ORDER`."""
    lines = []
    rank = {name: index for index, name in enumerate(HELP_ORDER)}
    for entry in sorted(COMMANDS.values(), key=lambda e: rank.get(e.name, len(rank))):
        lines.append(entry.usage)
        lines.append(f"    {entry.summary}")
    return "\n".join(lines)


def help_for(name: str) -> str:
    entry = COMMANDS.get(name)
    if entry is None:
        raise UsageError(f"No %wd command {name!r}. %wd help lists them.")
    return "\n".join(part for part in (entry.usage, entry.summary, entry.details) if part)


def call(operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The broker's answer, or its refusal as a one-line UsageError."""
    try:
        return operation()
    except BrokerError as error:
        raise UsageError(str(error)) from None


def words(line: str, usage: str) -> list[str]:
    """``line`` split as a shell would (quotes keep a name with spaces whole)."""
    try:
        return shlex.split(line)
    except ValueError:
        raise UsageError(f"Usage: {usage}") from None


def one_name(line: str, usage: str) -> str:
    """The single NAME argument of ``line`` (quoted or not, spaces allowed)."""
    name = unquote(line.strip())
    if not name:
        raise UsageError(f"Usage: {usage}")
    return name


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
