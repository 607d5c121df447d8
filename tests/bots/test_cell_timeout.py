"""A bot's cell timeout: a hung cell fails its run (loudly) instead of holding the bot forever."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError
from traitlets import TraitError

from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.server.app import WatchdogLab

from .conftest import wait_for, wait_state, write_notebook

HANG = "import time\ntime.sleep(3600)"


def _texts(manager: BotManager, name: str) -> list[str]:
    return [r.text for r in manager.logs(name)]


def test_a_once_bot_whose_cell_hangs_fails_its_run_with_the_cell_and_limit_named(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "hang.ipynb", "print('before', flush=True)", HANG)
    manager.promote(PromoteBot(notebook=str(nb), name="Hang", cell_timeout=1.5, start=True))
    failed = wait_for(
        lambda: [t for t in _texts(manager, "Hang") if "timed out" in t], 60, "a timed-out run"
    )
    assert "run 1 failed (cell 2 timed out: still running after 1.5s" in failed[0], failed  # type: ignore[index]
    error = manager.describe("Hang").status.last_error
    assert error is not None and error.cell_index == 1 and error.ename == "CellTimeout"
    assert "time.sleep(3600)" in error.source


def test_an_every_bot_runs_again_after_a_run_that_timed_out(
    manager: BotManager, tmp_path: Path
) -> None:
    # The first run hangs; every later run finishes at once.
    source = textwrap.dedent(
        """
        import os, pathlib, time
        mark = pathlib.Path(os.environ["WATCHDOG_LAB_STATE_DIR"]) / "ran-once"
        first = not mark.exists()
        mark.touch()
        print("run", "first" if first else "again", flush=True)
        if first:
            time.sleep(3600)
        """
    )
    nb = write_notebook(tmp_path / "every.ipynb", source)
    manager.promote(
        PromoteBot(
            notebook=str(nb),
            name="Every",
            mode=BotMode.EVERY,
            interval=1,
            cell_timeout=2,
            start=True,
        )
    )
    wait_for(lambda: "run again\n" in _texts(manager, "Every"), 90, "a run after the timeout")
    texts = _texts(manager, "Every")
    assert "run first\n" in texts
    assert any("cell 1 timed out: still running after 2s" in t for t in texts), texts
    assert manager.describe("Every").state is not BotState.CRASHED


def test_a_continuous_bots_loop_cell_outlives_the_cell_timeout(
    manager: BotManager, tmp_path: Path
) -> None:
    loop = "import time\nfor i in range(30):\n    time.sleep(0.1)\nprint('loop done', flush=True)"
    nb = write_notebook(tmp_path / "loop.ipynb", "x = 1", loop)
    manager.promote(
        PromoteBot(
            notebook=str(nb), name="Loop", mode=BotMode.CONTINUOUS, cell_timeout=1, start=True
        )
    )
    wait_state(manager, "Loop", BotState.STOPPED, BotState.CRASHED)
    texts = _texts(manager, "Loop")
    assert "loop done\n" in texts and not any("timed out" in t for t in texts), texts
    assert manager.describe("Loop").status.reason == "finished"


def test_a_continuous_bots_set_up_cells_are_held_to_the_cell_timeout(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "setup.ipynb", HANG, "while True:\n    pass")
    manager.promote(
        PromoteBot(
            notebook=str(nb), name="Setup", mode=BotMode.CONTINUOUS, cell_timeout=1, start=True
        )
    )
    wait_for(
        lambda: any("cell 1 timed out" in t for t in _texts(manager, "Setup")), 60, "a timeout"
    )


def test_the_managers_default_applies_unless_the_promote_sets_its_own(
    vault, uv_cache: Path, tmp_path: Path
) -> None:
    manager = BotManager(vault, uv_cache=uv_cache, cell_timeout=30)
    nb = write_notebook(tmp_path / "n.ipynb", "x = 1")
    manager.promote(PromoteBot(notebook=str(nb), name="Default"))
    manager.promote(PromoteBot(notebook=str(nb), name="Own", cell_timeout=5))
    manager.promote(PromoteBot(notebook=str(nb), name="Unlimited", cell_timeout=0))
    assert manager.registry.get("Default").config.cell_timeout == 30
    assert manager.registry.get("Own").config.cell_timeout == 5
    assert manager.registry.get("Unlimited").config.cell_timeout is None


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, 8 * 86400])
def test_a_cell_timeout_outside_zero_to_a_week_is_refused(bad: float, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        PromoteBot(notebook="n.ipynb", name="B", cell_timeout=bad)
    with pytest.raises(TraitError, match="cell_timeout"):
        WatchdogLab(home=str(tmp_path / "h"), cell_timeout=bad)


def test_the_servers_cell_timeout_setting_is_the_default_of_its_bots(tmp_path: Path) -> None:
    app = WatchdogLab(home=str(tmp_path / "h"), cell_timeout=45)
    assert app.bots.cell_timeout == 45
    assert WatchdogLab(home=str(tmp_path / "h2")).bots.cell_timeout is None
