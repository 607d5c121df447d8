"""``%wd``: grant, list and revoke the connections of this notebook's kernel; fix its last
failing cell with AI Fix.

``%wd connect NAME`` asks for the vault password through the frontend (a password field: the
kernel sends a stdin request with ``password=True``), then asks the kernel broker to grant NAME
to this kernel. The password is never printed, never returned, never stored in the history or a
variable of the notebook, and the function that holds it returns failures instead of raising
them, so that no traceback (not even a verbose one, which shows locals) can display it.

``%wd fix`` sends the last failing cell of this kernel (its source, error and traceback) to
Anthropic's Messages API through the server, which redacts it with every value of the vault.
The user sees the exact payload's size and hash first and approves it by typing the vault
password, in the same way as a grant (the preview itself needs none); the proposal comes back
as an escaped diff and is inserted as a new cell below only when the user says so.

Every subcommand talks to the broker through :class:`~watchdog_lab.sdk.broker.BrokerClient`;
refusals are shown as a one-line ``UsageError`` (no traceback), which also stops a "run all".
"""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from ..sdk.broker import BrokerClient
from ..sdk.errors import BrokerError
from ..textsafe import escape
from .failures import Failure, FailureRecorder
from .fixview import fix_bundle, payload_bundle, payload_summary

USAGE = """\
%wd connect NAME      ask for the vault password, then grant connection NAME to this notebook
%wd connections       the connections granted to this notebook
%wd revoke NAME       withdraw NAME from this notebook (also from its remembered grants)
%wd status            the vault's state, this kernel, and what it was granted
%wd fix [--preview] [--insert] [--connection NAME]
                      AI Fix of this kernel's last failing cell: shows the payload, asks for
                      the vault password to send it to Anthropic, shows the proposed diff and
                      offers to insert the fixed cell below (--preview: the payload only)"""

FIX_USAGE = "Usage: %wd fix [--preview] [--insert] [--connection NAME]"

NO_FAILURE = (
    "No failing cell to fix in this kernel yet. Run the cell that raises, then %wd fix "
    "(cells that raised before %load_ext watchdog_lab are found on IPython 9 and later)."
)

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

    @_command("fix")
    def fix(self, rest: str) -> None:
        options = _fix_options(rest)
        failure = self.failures.latest()
        if failure is None:
            raise UsageError(NO_FAILURE)
        client = self._client()
        cell = failure.as_cell()
        preview = _call(lambda: client.ai_fix_preview(cell))
        print(_which(failure))
        if options.preview:
            display(payload_bundle(preview), raw=True)
            return
        print(
            f"AI Fix payload: {payload_summary(preview)}. Only this cell, its error and "
            "traceback, the Python version and the versions of what it imports are sent "
            "(%wd fix --preview shows every byte)."
        )
        size, sha256 = preview.get("size", "?"), str(preview.get("sha256", ""))
        outcome = _fix_with_password(
            client,
            cell,
            sha256,
            options.connection,
            self.ask_password,
            f"Vault password to send this payload ({size} bytes, sha256 {sha256[:12]}) to "
            "Anthropic (empty: cancel): ",
        )
        if isinstance(outcome, str):
            raise UsageError(outcome)
        if outcome.get("outcome") != "fixed" or not isinstance(outcome.get("fixed_source"), str):
            reason = escape(str(outcome.get("no_fix_reason") or "the model proposed no change"))
            print(f"No fix to offer: {reason}.")
            explanation = str(outcome.get("explanation") or "")
            if explanation:
                print(escape(explanation, newlines=True))
            return
        display(fix_bundle(outcome), raw=True)
        self._offer(outcome["fixed_source"], insert=options.insert)

    def _offer(self, fixed_source: str, *, insert: bool) -> None:
        """Put the fixed cell below the current one (not run), if the user wants it."""
        if not insert:
            try:
                answer = self.ask("Insert the fixed cell below? [y/N] ")
            except (StdinNotImplementedError, EOFError, KeyboardInterrupt):
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("Not inserted. %wd fix --insert inserts it without asking.")
                return
        assert self.shell is not None, "IPython runs a magic in its shell"
        self.shell.set_next_input(fixed_source, replace=False)
        print("The fixed cell is inserted below; review it, then run it.")

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
    except KeyboardInterrupt:
        # Handled here, not re-raised: its traceback would hold this frame and the client's,
        # whose locals a verbose traceback (%xmode Verbose) prints.
        return "Interrupted; the grant may or may not have been made (see %wd connections)."
    except Exception as error:  # see the docstring: nothing may raise through this frame
        return f"The grant failed ({type(error).__name__}); nothing was granted."


def _fix_with_password(
    client: BrokerClient,
    cell: dict[str, Any],
    sha256: str,
    connection: str | None,
    ask: Callable[[str], str],
    prompt: str,
) -> dict[str, Any] | str:
    """Ask for the password and send; the proposal, or what went wrong as text.

    Holds the password like :func:`_grant_with_password`: it returns instead of raising and
    catches every exception, so the password leaves with this frame and nothing else.
    """
    try:
        password = ask(prompt)
    except StdinNotImplementedError:
        return (
            "This frontend cannot ask for a password, so nothing was sent. Use AI Fix from "
            "JupyterLab or the watchdog-lab command line instead."
        )
    except (EOFError, KeyboardInterrupt):
        return "No password was given; nothing was sent."
    if not password:
        return "No password was given; nothing was sent."
    try:
        return client.ai_fix(cell, sha256, password, connection)
    except BrokerError as error:
        return str(error)
    except KeyboardInterrupt:  # see _grant_with_password: no traceback may hold this frame
        return "Interrupted while waiting for the proposal; nothing was inserted."
    except Exception as error:  # see the docstring: nothing may raise through this frame
        return f"AI Fix failed ({type(error).__name__}); nothing was inserted."


@dataclass(frozen=True)
class _FixOptions:
    preview: bool = False
    insert: bool = False
    connection: str | None = None


def _fix_options(line: str) -> _FixOptions:
    try:
        words = shlex.split(line)
    except ValueError:
        raise UsageError(FIX_USAGE) from None
    preview = insert = False
    connection = None
    while words:
        word = words.pop(0)
        if word == "--preview":
            preview = True
        elif word == "--insert":
            insert = True
        elif word == "--connection" and words:
            connection = words.pop(0)
        elif word.startswith("--connection=") and len(word) > len("--connection="):
            connection = word.partition("=")[2]
        else:
            raise UsageError(FIX_USAGE)
    return _FixOptions(preview, insert, connection)


def _which(failure: Failure) -> str:
    where = f"In [{failure.execution_count}]" if failure.execution_count else "the last cell"
    return escape(f"AI Fix of {where}, which raised {failure.ename}.")


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
