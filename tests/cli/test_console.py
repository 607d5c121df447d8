"""The console redacts every line it prints once it knows a secret, except the one reveal."""

from __future__ import annotations

import io
import os

import pytest

from watchdog_lab.cli.console import Console
from watchdog_lab.cli.errors import NotInteractive

SECRET = "plain-words-no-pattern-would-match-42"


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(stdin=io.StringIO(), stdout=out, stderr=err), out, err


def test_remembered_secrets_are_redacted_on_both_streams() -> None:
    console, out, err = _console()
    console.remember([("Svc", "token", SECRET)])
    console.out(f"value={SECRET}")
    console.json({"leak": SECRET})
    console.error(f"failed with {SECRET}")
    console.warn(f"look: {SECRET}")
    printed = out.getvalue()
    assert SECRET not in printed + err.getvalue()
    assert printed.count("[REDACTED:Svc.token]") == 2
    assert err.getvalue().count("[REDACTED:Svc.token]") == 2


def test_prompts_are_redacted_too() -> None:
    console, _, err = _console()
    console.remember([("Svc", "token", SECRET)])
    console.stdin = io.StringIO("y\n")
    assert console.confirm(f"Remove {SECRET}?") is True
    assert SECRET not in err.getvalue()


def test_reveal_needs_a_terminal_and_is_not_redacted() -> None:
    console, _, _ = _console()
    console.remember([("vault", "totp_secret", SECRET)])
    with pytest.raises(NotInteractive):
        console.reveal(SECRET)
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        terminal = Console(stdin=io.StringIO(), stdout=io.StringIO(), stderr=tty)
        terminal.remember([("vault", "totp_secret", SECRET)])
        terminal.reveal(f"secret: {SECRET}")
        assert SECRET in os.read(master, 4096).decode()
    os.close(master)


def test_hidden_prompt_without_a_terminal_is_refused() -> None:
    console, _, _ = _console()
    console.stdin = io.StringIO(SECRET + "\n")
    with pytest.raises(NotInteractive):
        console.ask_hidden("Password: ", "the password")
