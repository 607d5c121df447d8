"""The frames that hold the vault password while a ``%wd`` command uses it.

The password is typed in the frontend's password field (ipykernel turns ``getpass`` into a
stdin request with ``password=True``) and must leave with the frame that asked for it: never
printed, never returned, never in the history or a variable of the notebook, and never in a
traceback, not even a verbose one (``%xmode Verbose`` prints every frame's locals). So
:func:`with_password` returns failures as text instead of raising them, and catches every
exception (an interrupt too) before it can carry the frame away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import StdinNotImplementedError

from ..sdk.errors import BrokerError


@dataclass(frozen=True)
class Act:
    """What the password is asked for, and what to say when it is not given or the act fails."""

    prompt: str
    #: Said when the frontend cannot ask (no stdin): where else the user can do it.
    no_stdin: str
    #: Said when the user gives no password: nothing was done.
    cancelled: str
    #: Said when the user interrupts while the server works: what may or may not have happened.
    interrupted: str
    #: Said, with the error's type, when anything else goes wrong.
    failed: str


def with_password(
    ask: Callable[[str], str], act: Act, use: Callable[[str], dict[str, Any]]
) -> dict[str, Any] | str:
    """Ask for the password and ``use`` it: the broker's answer, or what went wrong as text."""
    try:
        password = ask(act.prompt)
    except StdinNotImplementedError:
        return act.no_stdin
    except (EOFError, KeyboardInterrupt):
        return act.cancelled
    if not password:
        return act.cancelled
    try:
        return use(password)
    except BrokerError as error:
        return str(error)
    except KeyboardInterrupt:
        # Handled here, not re-raised: its traceback would hold this frame.
        return act.interrupted
    except Exception as error:  # see the module docstring: nothing may raise through here
        return f"{act.failed} ({type(error).__name__})."
