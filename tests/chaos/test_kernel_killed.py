"""A bot kernel SIGKILLed again and again: every death is a restart under the backoff policy,
the crash-loop rule gives up exactly at its limit, and the log loses and repeats nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotMode, BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault

from ..support import wait_for, write_notebook

KILLS = 100
#: The crash-loop rule: one failure more than the kills survived, in a window they all fit in.
POLICY = RestartPolicy(
    backoff_initial=0.01, backoff_max=0.05, max_failures=KILLS + 1, window_seconds=3600
)
ALIVE = "import time\nprint('UP', flush=True)\ntime.sleep(3600)"


@pytest.fixture
def crashing(vault: Vault, uv_cache: Path) -> Iterator[BotManager]:
    manager = BotManager(vault, uv_cache=uv_cache, restart=POLICY)
    yield manager
    for bot in manager.list():
        manager.stop(bot.id, timeout=10)


def _up(manager: BotManager, run: int) -> int | None:
    """The pid of the kernel that runs run ``run``'s cell, once the cell has started."""
    status = manager.describe("Victim").status
    if status.state is not BotState.RUNNING or status.runs != run or not status.kernel_pid:
        return None
    for record in manager.tail("Victim", 20):
        if record.run == run and record.text == "UP\n":
            return status.kernel_pid
    return None


def _kill(manager: BotManager, run: int) -> int:
    pid: int = wait_for(lambda: _up(manager, run), 60, f"run {run}'s cell")  # type: ignore[assignment]
    os.killpg(pid, signal.SIGKILL)  # the kernel and the sandbox's processes around it
    return pid


# A hundred and one kernel starts: about a minute on an idle two-core machine, several when busy.
@pytest.mark.timeout(900)
def test_a_kernel_killed_a_hundred_times_restarts_each_time_until_the_crash_loop_limit(
    crashing: BotManager, tmp_path: Path
) -> None:
    manager = crashing
    nb = write_notebook(tmp_path / "victim.ipynb", ALIVE)
    manager.promote(
        PromoteBot(notebook=str(nb), name="Victim", mode=BotMode.CONTINUOUS, start=True)
    )
    killed = {_kill(manager, run) for run in range(1, KILLS + 1)}
    assert len(killed) == KILLS  # a fresh kernel process each time
    # A hundred failures are under the limit: run 101 is up, not given up on.
    survivor = wait_for(lambda: _up(manager, KILLS + 1), 60, "run 101")
    status = manager.describe("Victim").status
    assert status.state is BotState.RUNNING
    assert status.restarts == KILLS and status.consecutive_failures == KILLS
    # The next death reaches the limit: crashed at once, no run 102.
    os.killpg(survivor, signal.SIGKILL)  # type: ignore[arg-type]
    wait_for(lambda: manager.describe("Victim").state is BotState.CRASHED, 30, "crashed")
    status = manager.describe("Victim").status
    assert status.reason and status.reason.startswith(f"crash loop: {KILLS + 1} failures"), status
    assert status.runs == KILLS + 1
    records = manager.logs("Victim")
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert status.last_seq == records[-1].seq
    texts = [r.text for r in records if r.stream == "system"]
    for run in range(1, KILLS + 1):
        assert (
            sum(t.startswith(f"run {run} failed (kernel died); restarting in") for t in texts) == 1
        )
    # Backoff as the policy says: doubling from 0.01 s, capped at 0.05 s.
    delays = [t.rsplit(" ", 1)[1] for t in texts if "restarting in" in t]
    assert delays[:4] == ["0.01s", "0.02s", "0.04s", "0.05s"] and set(delays[3:]) == {"0.05s"}
