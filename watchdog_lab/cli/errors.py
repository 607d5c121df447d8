"""What the command line itself can refuse (the vault's own refusals are ``VaultError``).

Each error becomes one ``error: <message>`` line and an exit code. Messages name options, files
and fields, never a value that was read from them: what a user feeds the CLI may be a secret.
"""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An expected failure the user can act on."""

    exit_code = EXIT_ERROR


class UsageError(CliError):
    """The command line itself is wrong (like argparse's own errors)."""

    exit_code = EXIT_USAGE


class NotInteractive(CliError):
    """Something had to be asked, but there is no terminal to ask on."""

    def __init__(self, what: str, alternatives: str) -> None:
        super().__init__(
            f"{what} is needed but standard input is not a terminal, so it cannot be asked "
            f"for. {alternatives}"
        )


class InputEnded(CliError):
    def __init__(self, what: str) -> None:
        super().__init__(f"input ended before {what} was given.")


class PasswordMismatch(CliError):
    def __init__(self) -> None:
        super().__init__("the two passwords typed do not match; nothing was changed.")


class SourceError(CliError):
    """A password file, JSON file or environment variable could not be used."""


class InvalidInput(CliError):
    """Input that was read but has the wrong shape (bad JSON, wrong types, unknown keys)."""


class Aborted(CliError):
    def __init__(self) -> None:
        super().__init__("aborted; nothing was changed.")
