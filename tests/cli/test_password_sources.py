"""Where passwords come from: a file, an environment variable, or a hidden prompt, in that order."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .conftest import FAST_KDF, PASSWORD, Cli, Terminal, vault_contents


def _password_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "pw"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_password_file_first_line_is_the_password(seeded: Cli, tmp_path: Path) -> None:
    pw = _password_file(tmp_path, PASSWORD + "\r\nsecond line is ignored\n")
    result = seeded.run("connections", "list", "--password-file", str(pw), password=None)
    assert result.rc == 0, result.err
    assert result.err == ""


def test_password_file_may_come_before_the_command(seeded: Cli, tmp_path: Path) -> None:
    pw = _password_file(tmp_path, PASSWORD + "\n")
    result = seeded.run("--password-file", str(pw), "connections", "list", password=None)
    assert result.rc == 0, result.err


def test_password_file_wins_over_the_variable(seeded: Cli, tmp_path: Path) -> None:
    pw = _password_file(tmp_path, PASSWORD)
    result = seeded.run("connections", "list", "--password-file", str(pw), password="wrong one!")
    assert result.rc == 0, result.err


def test_password_file_readable_by_others_is_used_with_a_warning(
    seeded: Cli, tmp_path: Path
) -> None:
    pw = _password_file(tmp_path, PASSWORD, mode=0o644)
    result = seeded.run("connections", "list", "--password-file", str(pw), password=None)
    assert result.rc == 0
    assert "warning: --password-file" in result.err and "chmod 600" in result.err
    assert "0644" in result.err


def test_empty_or_missing_password_file_is_an_error(seeded: Cli, tmp_path: Path) -> None:
    empty = _password_file(tmp_path, "\nsecret on line two\n")
    result = seeded.run("connections", "list", "--password-file", str(empty), password=None)
    assert result.rc == 1 and "the first line is empty" in result.err
    assert "secret on line two" not in result.text
    missing = seeded.run("connections", "list", "--password-file", str(tmp_path / "no"))
    assert missing.rc == 1 and "no such file" in missing.err


def test_new_password_from_its_own_file(seeded: Cli, tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.write_text("the next password\n")
    new.chmod(0o600)
    result = seeded.run("password", "change", *FAST_KDF, "--new-password-file", str(new))
    assert result.rc == 0, result.err
    assert seeded.run("connections", "list", password="the next password").rc == 0


def test_init_prompts_twice_for_a_new_password(cli: Cli, terminal: Callable[..., Terminal]) -> None:
    term = terminal("init", *FAST_KDF, home=cli.home)
    term.expect("New vault password: ")
    term.line(PASSWORD)
    term.expect("New vault password (again): ")
    term.line(PASSWORD)
    assert term.wait() == 0, term.screen
    assert PASSWORD not in term.screen
    assert vault_contents(cli.home) == {}


def test_mismatched_new_passwords_change_nothing(
    seeded: Cli, seeded_template: Path, terminal: Callable[..., Terminal]
) -> None:
    term = terminal("password", "change", *FAST_KDF, home=seeded.home)
    term.expect("Vault password: ")
    term.line(PASSWORD)
    term.expect("New vault password: ")
    term.line("first new password")
    term.expect("New vault password (again): ")
    term.line("second new password")
    assert term.wait() == 1
    assert "do not match" in term.screen
    assert set(vault_contents(seeded.home)) == {"Kalshi", "Other"}  # old password still works


def test_variable_is_not_passed_on_to_child_processes() -> None:
    """The CLI drops the variable once read; checked on the function that reads it."""
    from watchdog_lab.cli.console import Console
    from watchdog_lab.cli.passwords import PASSWORD_ENV, current_password

    os.environ[PASSWORD_ENV] = "from the environment"
    try:
        assert current_password(Console(), None) == "from the environment"
        assert PASSWORD_ENV not in os.environ
    finally:
        os.environ.pop(PASSWORD_ENV, None)


def test_an_over_long_password_is_refused_before_anything_else(seeded: Cli) -> None:
    # A password this long once took half a minute to teach the output redactor.
    result = seeded.run("connections", "list", password="p" * 5000)
    assert result.rc == 1 and "at most 1024 characters" in result.err
    assert "Traceback" not in result.text


def test_an_over_long_password_in_a_file_is_refused(seeded: Cli, tmp_path: Path) -> None:
    pw = _password_file(tmp_path, "p" * 5000 + "\n")
    result = seeded.run("connections", "list", "--password-file", str(pw), password=None)
    assert result.rc == 1 and "at most 1024 characters" in result.err


def test_a_password_file_linked_to_a_device_is_refused(seeded: Cli, tmp_path: Path) -> None:
    link = tmp_path / "pw"
    link.symlink_to("/dev/zero")
    result = seeded.run("connections", "list", "--password-file", str(link), password=None)
    assert result.rc == 1 and "is a device, not a regular file" in result.err


def test_a_password_file_bigger_than_a_password_file_is_refused(
    seeded: Cli, tmp_path: Path
) -> None:
    pw = _password_file(tmp_path, PASSWORD + "\n" + "notes " * 20_000)
    result = seeded.run("connections", "list", "--password-file", str(pw), password=None)
    assert result.rc == 1 and "larger than 64 KiB" in result.err


def test_a_password_file_that_is_a_pipe_is_read(seeded: Cli) -> None:
    """``--password-file <(pass show vault)`` names a pipe, as ``/dev/stdin`` does here."""
    result = seeded.run(
        "connections", "list", "--password-file", "/dev/stdin", password=None, stdin=PASSWORD
    )
    assert result.rc == 0, result.err
