"""The command line never accepts a password or a secret as an argument."""

from __future__ import annotations

import argparse
import re

import pytest

from watchdog_lab.cli import build_parser

# Options whose names match but carry no secret: files to read a password from, and package
# names whose start-up code the user allows.
# Names that sound secret but take none: files holding one, a flag, a public key's file.
ALLOWED = {
    "--password-file",
    "--new-password-file",
    "--allow-startup-code",
    "--generate-key",
    "--public-key",
}
SENSITIVE = re.compile(r"password|secret|key|token|passphrase|code", re.IGNORECASE)


def _walk(parser: argparse.ArgumentParser, path: str = "watchdog-lab") -> list[tuple[str, str]]:
    """(command path, option or positional name) for every parser reachable from ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{path} {name}", "<command>"))
                found.extend(_walk(sub, f"{path} {name}"))
        elif action.option_strings:
            found.extend((path, option) for option in action.option_strings)
        else:
            found.append((path, action.dest))
    return found


def test_no_option_or_argument_takes_a_secret() -> None:
    everything = _walk(build_parser())
    commands = {path for path, name in everything if name == "<command>"}
    assert len(commands) >= 14  # the walk reached every nested command
    sensitive = {name for _, name in everything if SENSITIVE.search(name)}
    assert sensitive == ALLOWED


def test_every_command_has_working_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [path.split()[1:] for path, name in _walk(build_parser()) if name == "<command>"]
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*command, "--help"])
        assert exited.value.code == 0
        assert f"usage: watchdog-lab {' '.join(command)}" in capsys.readouterr().out
