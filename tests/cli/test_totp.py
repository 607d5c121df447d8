"""Two-factor on and off through the CLI, with codes computed here from the secret it printed.

Codes are single-use per 30-second step and accepted one step either side, so each test picks
its codes from the step it starts in (previous, current, next) and first waits out the end of a
step if too little of it is left to finish in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp

from .conftest import PASSWORD, Cli, Terminal

STEP = 30
MARGIN = 6.0


class Codes:
    """The authenticator of the test: codes of the step around the moment it was made."""

    def __init__(self, secret: str, step: int) -> None:
        self.totp, self.step = pyotp.TOTP(secret), step

    def at(self, offset: int) -> str:
        return self.totp.at((self.step + offset) * STEP)


def _fresh_step() -> int:
    left = STEP - time.time() % STEP
    if left < MARGIN:
        time.sleep(left + 0.05)
    return int(time.time()) // STEP


def _enable(cli: Cli, terminal: Callable[..., Terminal]) -> tuple[Codes, Terminal]:
    """`totp enable` on a terminal, confirmed with the previous step's code."""
    step = _fresh_step()
    term = terminal("totp", "enable", home=cli.home, WATCHDOG_LAB_PASSWORD=PASSWORD)
    term.expect("Code shown by your authenticator now: ")
    match = re.search(r"secret: ([A-Z2-7]{16,})", term.screen)
    assert match, term.screen
    codes = Codes(match.group(1), step)
    term.line(codes.at(-1))
    assert term.wait() == 0, term.screen
    assert codes.totp.secret in term.screen and f"secret={codes.totp.secret}" in term.screen
    return codes, term


def test_enable_then_every_unlock_needs_a_current_code(seeded: Cli, terminal: Callable) -> None:
    codes, _ = _enable(seeded, terminal)
    missing = seeded.run("connections", "list")
    assert missing.rc == 1 and "WATCHDOG_LAB_TOTP_CODE" in missing.err
    wrong = seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": "000000"})
    assert wrong.rc == 1 and "two-factor code is wrong" in wrong.err
    good = seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(0)})
    assert good.rc == 0, good.err
    assert seeded.run("doctor", "--json", password=None).json()["vault"]["totp_enabled"] is True


def test_secret_is_shown_once_and_never_again(seeded: Cli, terminal: Callable) -> None:
    codes, _ = _enable(seeded, terminal)
    later = [
        seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(0)}),
        seeded.run("audit", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(1)}),
    ]
    assert [r.rc for r in later] == [0, 0]
    for result in later:
        assert codes.totp.secret not in result.text
        assert codes.totp.secret[:12] not in result.text


def test_replayed_code_is_refused(seeded: Cli, terminal: Callable) -> None:
    codes, _ = _enable(seeded, terminal)
    # The code that confirmed enrolment is spent...
    replay = seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(-1)})
    assert replay.rc == 1 and "already used" in replay.err
    # ...and so is a code once it has unlocked.
    first = seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(0)})
    again = seeded.run("connections", "list", env={"WATCHDOG_LAB_TOTP_CODE": codes.at(0)})
    assert (first.rc, again.rc) == (0, 1)
    assert "already used" in again.err


def test_disable_round_trip(seeded: Cli, terminal: Callable) -> None:
    codes, _ = _enable(seeded, terminal)
    term = terminal("totp", "disable", home=seeded.home, WATCHDOG_LAB_PASSWORD=PASSWORD)
    term.expect("Two-factor code: ")
    term.line(codes.at(0))
    term.expect("Next code, to confirm turning two-factor off: ")
    term.line(codes.at(1))
    assert term.wait() == 0, term.screen
    assert "Two-factor authentication is off" in term.screen
    assert seeded.run("connections", "list").rc == 0  # the password alone unlocks again


def test_enable_needs_a_terminal(seeded: Cli) -> None:
    result = seeded.run("totp", "enable")
    assert result.rc == 1 and "not a terminal" in result.err


def test_enable_twice_is_refused(seeded: Cli, terminal: Callable) -> None:
    _enable(seeded, terminal)
    term = terminal("totp", "enable", home=seeded.home, WATCHDOG_LAB_PASSWORD=PASSWORD)
    assert term.wait() == 1
    assert "already on" in term.screen
