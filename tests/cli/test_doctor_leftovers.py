"""``doctor`` finds what a promote killed with SIGKILL left behind, and ``--fix`` removes it.

The promote is a real ``watchdog-lab bots promote`` process, killed (with its uv children)
as soon as its bot folder appears, i.e. in the middle of building the bot's environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from watchdog_lab.vault import Vault

from ..support import wait_for, write_notebook
from .conftest import CLI, PASSWORD, Cli, clean_env

FAST_KDF = {"time_cost": 1, "memory_kib": 8 * 1024, "parallelism": 1}


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path]:
    """A home whose only promote was SIGKILLed mid-build; the killed bot's folder."""
    from watchdog_lab.vault import KdfParams

    base = tmp_path_factory.mktemp("killed")
    home = base / "h"
    with Vault(home, kdf=KdfParams(**FAST_KDF)) as vault:
        vault.create(PASSWORD)
    notebook = write_notebook(base / "strategy.ipynb", "import iniconfig\nprint('hi')")
    promote = subprocess.Popen(
        [*CLI, "bots", "promote", str(notebook), "--name", "Killed"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(home),
        start_new_session=True,
    )
    bots = home / "bots"
    try:
        folder = wait_for(
            lambda: (
                next((p for p in bots.iterdir() if p.is_dir()), None) if bots.is_dir() else None
            ),
            60,
            "the promote's bot folder",
            poll=0.005,
        )
    finally:
        os.killpg(promote.pid, signal.SIGKILL)  # uv and its children too
        promote.wait(10)
    assert isinstance(folder, Path)
    return Cli(home), folder


def test_doctor_reports_the_folder_of_a_killed_promote(killed: tuple[Cli, Path]) -> None:
    cli, folder = killed
    report = cli.ok("doctor", "--json", password=None).json()
    assert [left["id"] for left in report["leftovers"]] == [folder.name]  # type: ignore[index]
    assert report["promote_running"] is False  # type: ignore[index]
    text = cli.ok("doctor", password=None).out
    assert "doctor --fix" in text


def test_fix_without_a_terminal_needs_yes_and_removes_nothing(killed: tuple[Cli, Path]) -> None:
    cli, folder = killed
    result = cli.run("doctor", "--fix", password=None)
    assert result.rc != 0 and "--yes" in result.err
    assert folder.is_dir()


def test_fix_yes_removes_the_leftover_and_nothing_else(killed: tuple[Cli, Path]) -> None:
    cli, folder = killed
    assert cli.ok("doctor", "--fix", "--yes", password=None).rc == 0
    assert not folder.exists()
    assert (cli.home / "vault.db").is_file() and (cli.home / "bots").is_dir()
    assert cli.ok("doctor", "--json", password=None).json()["leftovers"] == []  # type: ignore[index]
