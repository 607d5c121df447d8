"""A promote in progress is not a leftover: its files are safe from ``doctor --fix``."""

from __future__ import annotations

from pathlib import Path

from watchdog_lab.bots.errors import PromoteRunning
from watchdog_lab.bots.leftovers import find_leftovers, promote_running, remove_leftovers
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager

from .conftest import write_notebook


def test_removal_is_refused_while_a_promote_builds_and_allowed_after(
    manager: BotManager, tmp_path: Path
) -> None:
    home = manager.home
    seen: dict[str, object] = {}

    def progress(step: str) -> None:
        if step.startswith("building environment") and not seen:
            (building,) = find_leftovers(home, manager.registry.ids())  # looks like one...
            seen["running"] = promote_running(home)
            try:
                remove_leftovers(home, manager.registry.ids, {building.id})
            except PromoteRunning as exc:
                seen["refused"] = exc
            seen["kept"] = Path(building.folder or "").is_dir()

    notebook = write_notebook(tmp_path / "strategy.ipynb", "print('hello')")
    bot = manager.promote(PromoteBot(notebook=str(notebook), name="Busy"), progress)
    assert seen["running"] is True and isinstance(seen["refused"], PromoteRunning)
    assert seen["kept"] is True
    assert not promote_running(home) and find_leftovers(home, manager.registry.ids()) == []
    assert manager.describe(bot.id).name == "Busy"


def test_leftovers_outside_the_known_layout_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "bots" / "not-an-id").mkdir(parents=True)
    (tmp_path / "kernels" / "python3").mkdir(parents=True)
    (tmp_path / "kernels" / "watchdog-bot-not-a-uuid").mkdir()
    assert find_leftovers(tmp_path, set()) == []


def test_asking_whether_a_promote_runs_creates_nothing(tmp_path: Path) -> None:
    assert promote_running(tmp_path) is False
    assert not (tmp_path / "promote.lock").exists()
