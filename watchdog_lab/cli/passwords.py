"""Where the CLI gets a password or a two-factor code, since argv never carries one.

Order: a file named by an option (first line), then an environment variable (for automation),
then a hidden prompt if standard input is a terminal; with none of them the command fails
rather than waiting. Argv is visible to every user of the machine through ``/proc``; a file
can be private and an environment variable is readable only by the same user.

A password file readable by group or others is used with a warning rather than refused:
secrets mounted by container runtimes are commonly 0444 inside a private mount namespace, and
refusing them would push users towards the environment variable, which is no better.
"""

from __future__ import annotations

import os
import stat

from ..errors import InputFileError
from ..files import read_regular_file
from ..vault.manager import check_password_length
from .console import Console
from .errors import PasswordMismatch, SourceError

PASSWORD_ENV = "WATCHDOG_LAB_PASSWORD"  # noqa: S105 - the variable's name, not a password
NEW_PASSWORD_ENV = "WATCHDOG_LAB_NEW_PASSWORD"  # noqa: S105
TOTP_ENV = "WATCHDOG_LAB_TOTP_CODE"
# The password is the first line; a password manager's notes may follow, but a file this big
# is not a password file.
_PASSWORD_FILE_MAX = 64 * 1024


def open_private_source(path: str, option: str, console: Console, limit: int) -> bytes:
    """A file that may hold secrets, refused beyond ``limit`` bytes, warning if others can read it.

    Pipes and process substitutions (``<(pass show vault)``) are fine: only regular files have
    a mode worth checking. Devices are refused (``/dev/zero`` never ends).
    """

    def warn_if_shared(info: os.stat_result) -> None:
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
            console.warn(
                f"{option} {path} can be read by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); restrict it with: chmod 600 {path}"
            )

    try:
        return read_regular_file(path, limit, option, allow_pipe=True, check=warn_if_shared)
    except InputFileError as exc:
        raise SourceError(str(exc)) from None
    except FileNotFoundError:
        raise SourceError(f"{option} {path}: no such file.") from None
    except IsADirectoryError:
        raise SourceError(f"{option} {path}: is a directory, not a file.") from None
    except PermissionError:
        raise SourceError(f"{option} {path}: permission denied.") from None
    except OSError as exc:
        raise SourceError(f"{option} {path}: cannot be read ({exc.strerror}).") from None


def read_password_file(path: str, option: str, console: Console) -> str:
    """The first line of ``path``, without its line end."""
    raw = open_private_source(path, option, console, _PASSWORD_FILE_MAX)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"{option} {path}: the password is not UTF-8 text.") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    if not line:
        raise SourceError(f"{option} {path}: the first line is empty.")
    check_password_length(line)
    return line


def _from_env(name: str) -> str | None:
    """Read and unset the variable: no later child process of this CLI inherits it."""
    value = os.environ.pop(name, None)
    if value is None:
        return None
    if not value:
        raise SourceError(f"{name} is set but empty; unset it or give the password there.")
    return value


def _no_source(what: str, option: str, env: str) -> str:
    return f"Give {what} with {option} FILE or the {env} environment variable."


def current_password(console: Console, password_file: str | None) -> str:
    """The vault password, to unlock."""
    if password_file is not None:
        return read_password_file(password_file, "--password-file", console)
    value = _from_env(PASSWORD_ENV)
    if value is not None:
        check_password_length(value)
        return value
    console.require_interactive(
        "the vault password", _no_source("it", "--password-file", PASSWORD_ENV)
    )
    value = console.ask_hidden("Vault password: ", "the vault password")
    check_password_length(value)
    return value


def new_password(
    console: Console,
    password_file: str | None,
    *,
    option: str = "--password-file",
    env: str = PASSWORD_ENV,
    label: str = "New vault password",
) -> str:
    """A password being chosen: from a file or variable, else typed twice."""
    if password_file is not None:
        return read_password_file(password_file, option, console)
    value = _from_env(env)
    if value is not None:
        check_password_length(value)
        return value
    console.require_interactive(label.lower(), _no_source("it", option, env))
    first = console.ask_hidden(f"{label}: ", label.lower())
    check_password_length(first)
    again = console.ask_hidden(f"{label} (again): ", label.lower())
    if first != again:
        raise PasswordMismatch
    return first


def totp_code(console: Console, prompt: str = "Two-factor code: ") -> str:
    """A code from the user's authenticator (not secret for long: shown as typed)."""
    value = _from_env(TOTP_ENV)
    if value is not None:
        return value
    console.require_interactive(
        "a two-factor code (this vault has two-factor authentication on)",
        f"Give it in the {TOTP_ENV} environment variable.",
    )
    return console.ask(prompt, "the two-factor code")
