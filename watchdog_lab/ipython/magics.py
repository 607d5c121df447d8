"""``%wd``: the vault, this kernel's grants, the bots and AI Fix, from a notebook.

Every subcommand talks to the server's kernel broker through
:class:`~watchdog_lab.sdk.broker.BrokerClient` with this kernel's token, and lives in the module
of its area (:mod:`.vault_commands`, :mod:`.bot_commands`, :mod:`.fix_command`), registered in
:mod:`.commands`; this class only dispatches and answers the help. A password is asked for in
the frontend's password field (the kernel sends a stdin request with ``password=True``) and is
held by :mod:`.consent` alone.
"""

from __future__ import annotations

import getpass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ..sdk.broker import BrokerClient

# Imported for what they register (each module's @command entries).
from . import bot_commands, fix_command, vault_commands  # noqa: F401
from .commands import COMMANDS, NO_BROKER, command, help_for, overview
from .failures import FailureRecorder


@magics_class
class WatchdogMagics(Magics):
    """``%wd SUBCOMMAND ...``; names may contain spaces and may be quoted."""

    def __init__(self, shell: Any = None, failures: FailureRecorder | None = None) -> None:
        super().__init__(shell)
        # Without the extension's hook, only IPython's own record of exceptions is read.
        self.failures = failures or FailureRecorder(shell)

    def ask_password(self, prompt: str) -> str:
        """The frontend's password field: ipykernel replaces ``getpass.getpass`` with a stdin
        request while a cell runs (looked up at call time for that reason)."""
        return getpass.getpass(prompt)

    def ask(self, prompt: str) -> str:
        """A plain question through the frontend (``input`` is ipykernel's while a cell runs)."""
        return input(prompt)

    def client(self) -> BrokerClient:
        client = BrokerClient.from_environ()
        if client is None:
            raise UsageError(NO_BROKER)
        return client

    @line_magic
    def wd(self, line: str) -> None:
        name, _, rest = line.strip().partition(" ")
        entry = COMMANDS.get(name.lower())
        if entry is None:
            raise UsageError(f"Usage:\n{overview()}")
        entry.run(self, rest.strip())


@command("help", "%wd help [COMMAND]", "this help, or one command's in full")
def _help(magics: Any, line: str) -> None:
    name = line.strip().lower()
    print(help_for(name) if name else overview())


@command("panel", "%wd panel", "the WatchDog Lab panel (vault, connections, bots, logs, AI Fix)")
def _panel(magics: Any, line: str) -> None:
    from .panel import show_panel

    show_panel()


# ``%wd?`` shows the whole help, built from the same entries as ``%wd help``.
WatchdogMagics.wd.__doc__ = f"WatchDog Lab from a notebook.\n\n{overview()}"
