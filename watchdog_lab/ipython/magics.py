"""``%wd``: grant, list and revoke the connections of this notebook's kernel.

``%wd connect NAME`` asks for the vault password through the frontend (a password field: the
kernel sends a stdin request with ``password=True``), then asks the kernel broker to grant NAME
to this kernel. The password is never printed, never returned, never stored in the history or a
variable of the notebook, and the function that holds it returns failures instead of raising
them, so that no traceback (not even a verbose one, which shows locals) can display it.

Every subcommand talks to the broker through :class:`~watchdog_lab.sdk.broker.BrokerClient`;
refusals are shown as a one-line ``UsageError`` (no traceback), which also stops a "run all".
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ..sdk.broker import BrokerClient
from ..sdk.errors import BrokerError

USAGE = """\
%wd connect NAME      ask for the vault password, then grant connection NAME to this notebook
%wd connections       the connections granted to this notebook
%wd revoke NAME       withdraw NAME from this notebook (also from its remembered grants)
%wd status            the vault's state, this kernel, and what it was granted"""

NO_BROKER = (
    "This kernel was not started by a Jupyter server with WatchDog Lab, so there is no kernel "
    "broker to grant connections to it. Open the notebook in JupyterLab with WatchDog Lab "
    "installed (or restart its kernel if the extension was installed after it started)."
)

Command = Callable[["WatchdogMagics", str], None]
_COMMANDS: dict[str, Command] = {}


def _command(name: str) -> Callable[[Command], Command]:
    def register(method: Command) -> Command:
        _COMMANDS[name] = method
        return method

    return register


@magics_class
class WatchdogMagics(Magics):
    """``%wd SUBCOMMAND [NAME]``; names may contain spaces and may be quoted."""

    def ask_password(self, prompt: str) -> str:
        """The frontend's password field: ipykernel replaces ``getpass.getpass`` with a stdin
        request while a cell runs (looked up at call time for that reason)."""
        return getpass.getpass(prompt)

    @line_magic
    def wd(self, line: str) -> None:
        command, _, rest = line.strip().partition(" ")
        run = _COMMANDS.get(command.lower())
        if run is None:
            raise UsageError(f"Usage:\n{USAGE}")
        run(self, _unquote(rest.strip()))

    def _client(self) -> BrokerClient:
        client = BrokerClient.from_environ()
        if client is None:
            raise UsageError(NO_BROKER)
        return client

    @_command("connect")
    def connect(self, name: str) -> None:
        if not name:
            raise UsageError("Usage: %wd connect NAME")
        client = self._client()
        outcome = _grant_with_password(client, name, self.ask_password)
        if isinstance(outcome, str):
            raise UsageError(outcome)
        shown = outcome.get("connection") or name
        print(f"{shown} is granted to this notebook: conn = wd.connection({shown!r})")

    @_command("connections")
    def connections(self, rest: str) -> None:
        answer = _call(lambda: self._client().grants())
        grants = answer.get("grants") or []
        if not grants:
            print("No connection is granted to this notebook. Use %wd connect NAME.")
            return
        for grant in grants:
            print(_describe(grant))

    @_command("revoke")
    def revoke(self, name: str) -> None:
        if not name:
            raise UsageError("Usage: %wd revoke NAME")
        answer = _call(lambda: self._client().revoke(name))
        shown = answer.get("connection") or name
        also = " and from the grants remembered for it" if answer.get("forgotten") else ""
        print(f"{shown} is revoked from this notebook{also}.")

    @_command("status")
    def status(self, rest: str) -> None:
        client = BrokerClient.from_environ()
        if client is None:
            print(NO_BROKER)
            return
        answer = _call(client.grants)
        print(f"vault:   {answer.get('vault', 'unknown')}")
        kernel = answer.get("kernel_id", "unknown")
        notebook = answer.get("path")
        print(f"kernel:  {kernel}" + (f" (notebook {notebook})" if notebook else ""))
        print(f"broker:  {client.url}")
        grants = answer.get("grants") or []
        print("granted: " + (", ".join(_describe(g) for g in grants) if grants else "nothing"))

    @_command("help")
    def help(self, rest: str) -> None:
        print(USAGE)


def _grant_with_password(
    client: BrokerClient, name: str, ask: Callable[[str], str]
) -> dict[str, Any] | str:
    """Ask for the password and grant; the answer, or what went wrong as text.

    The one frame that holds the password. It returns instead of raising, and catches every
    exception, so that the password leaves with the frame and with nothing else.
    """
    try:
        password = ask(f"Vault password (grants {name!r} to this notebook): ")
    except StdinNotImplementedError:
        return (
            "This frontend cannot ask for a password. Turn on notebook access for "
            f"{name!r} in the WatchDog Lab sidebar instead."
        )
    except (EOFError, KeyboardInterrupt):
        return "No password was given; nothing was granted."
    if not password:
        return "No password was given; nothing was granted."
    try:
        return client.grant(name, password)
    except BrokerError as error:
        return str(error)
    except Exception as error:  # see the docstring: nothing may raise through this frame
        return f"The grant failed ({type(error).__name__}); nothing was granted."


def _call(operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return operation()
    except BrokerError as error:
        raise UsageError(str(error)) from None


def _describe(grant: dict[str, Any]) -> str:
    name = grant.get("connection") or f"<{grant.get('connection_id', '?')}> (unlock to see)"
    source = {"password": "password", "ui": "sidebar", "notebook": "remembered"}.get(
        grant.get("source", ""), grant.get("source", "")
    )
    remembered = ", remembered for this notebook" if grant.get("remembered") else ""
    return f"{name} ({source}{remembered})"


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
