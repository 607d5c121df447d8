"""``%wd fix``: AI Fix of this kernel's last failing cell.

The cell (its source, error and traceback) goes to Anthropic's Messages API through the
server, which redacts it with every value of the vault. The user sees the exact payload's size
and hash first and approves it by typing the vault password, as for a grant (the preview itself
needs none); the proposal comes back as an escaped diff and is inserted as a new cell below
only when the user says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.display import display

from ..textsafe import escape
from .commands import Magics, call, command, words
from .consent import Act, with_password
from .failures import Failure
from .fixview import fix_bundle, payload_bundle, payload_summary

FIX_USAGE = "%wd fix [--preview] [--insert] [--connection NAME]"

NO_FAILURE = (
    "No failing cell to fix in this kernel yet. Run the cell that raises, then %wd fix "
    "(cells that raised before %load_ext watchdog_lab are found on IPython 9 and later)."
)


@dataclass(frozen=True)
class FixOptions:
    preview: bool = False
    insert: bool = False
    connection: str | None = None


def fix_options(line: str) -> FixOptions:
    rest = words(line, FIX_USAGE)
    preview = insert = False
    connection = None
    while rest:
        word = rest.pop(0)
        if word == "--preview":
            preview = True
        elif word == "--insert":
            insert = True
        elif word == "--connection" and rest:
            connection = rest.pop(0)
        elif word.startswith("--connection=") and len(word) > len("--connection="):
            connection = word.partition("=")[2]
        else:
            raise UsageError(f"Usage: {FIX_USAGE}")
    return FixOptions(preview, insert, connection)


@command(
    "fix",
    FIX_USAGE,
    "AI Fix of this kernel's last failing cell",
    "Shows the payload, asks for the vault password to send it to Anthropic, shows the "
    "proposed diff and offers to insert the fixed cell below (--preview: the payload only; "
    "--insert: insert without asking; --connection: the anthropic connection to use).",
)
def fix(magics: Magics, line: str) -> None:
    options = fix_options(line)
    failure = magics.failures.latest()
    if failure is None:
        raise UsageError(NO_FAILURE)
    client = magics.client()
    cell = failure.as_cell()
    preview = call(lambda: client.ai_fix_preview(cell))
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
    act = Act(
        prompt=f"Vault password to send this payload ({size} bytes, sha256 {sha256[:12]}) to "
        "Anthropic (empty: cancel): ",
        no_stdin="This frontend cannot ask for a password, so nothing was sent. Use AI Fix "
        "from JupyterLab or the watchdog-lab command line instead.",
        cancelled="No password was given; nothing was sent.",
        interrupted="Interrupted while waiting for the proposal; nothing was inserted.",
        failed="AI Fix failed; nothing was inserted",
    )
    outcome = with_password(
        magics.ask_password, act, lambda p: client.ai_fix(cell, sha256, p, options.connection)
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
    _offer(magics, outcome["fixed_source"], insert=options.insert)


def _offer(magics: Magics, fixed_source: str, *, insert: bool) -> None:
    """Put the fixed cell below the current one (not run), if the user wants it."""
    if not insert:
        try:
            answer = magics.ask("Insert the fixed cell below? [y/N] ")
        except (StdinNotImplementedError, EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Not inserted. %wd fix --insert inserts it without asking.")
            return
    assert magics.shell is not None, "IPython runs a magic in its shell"
    magics.shell.set_next_input(fixed_source, replace=False)
    print("The fixed cell is inserted below; review it, then run it.")


def _which(failure: Failure) -> str:
    where = f"In [{failure.execution_count}]" if failure.execution_count else "the last cell"
    return escape(f"AI Fix of {where}, which raised {failure.ename}.")
