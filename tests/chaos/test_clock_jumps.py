"""The runner's wall clock jumps an hour forward, then three hours back: an every-N bot keeps
its pace, no run skipped and none doubled (its schedule is on the monotonic clock).

libfaketime fakes the runner's wall clock only (``FAKETIME_DONT_FAKE_MONOTONIC``), from a
file it reads at every call (``FAKETIME_NO_CACHE``): the test moves the runner's clock while
it runs. The kernel is not faked (its environment is the runner's own, built from scratch):
each run prints the machine's monotonic time, against which the runs are counted.
"""

from __future__ import annotations

import glob
import itertools
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotMode, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault

from ..support import skip_or_fail, wait_for, write_notebook

#: Long enough for a prewarmed kernel to be ready on a busy machine: every run on time.
INTERVAL = 3.0
#: Runs between two jumps of the clock.
RUNS_PER_PHASE = 2
#: The runner's clock offsets, in order: real time, an hour ahead, two hours behind.
OFFSETS = ("+0", "+3600", "-7200")
TICK = "import time\nprint('TICK', repr(time.monotonic()), flush=True)"


def _libfaketime() -> str:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        skip_or_fail(
            "libfaketime is not installed (make system-packages)", "WATCHDOG_LAB_NO_FAKETIME"
        )
    return found[0]


@pytest.fixture
def faked(vault: Vault, uv_cache: Path, tmp_path: Path) -> Iterator[tuple[BotManager, Path]]:
    """A manager whose runners start with a faked wall clock, set by the file it returns."""
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    python = tmp_path / "python-faketime"
    python.write_text(
        "#!/bin/sh\n"
        f"export LD_PRELOAD='{_libfaketime()}' FAKETIME_TIMESTAMP_FILE='{offset}'\n"
        "export FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1\n"
        f"exec '{sys.executable}' \"$@\"\n"
    )
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    manager = BotManager(vault, uv_cache=uv_cache, python=str(python))
    yield manager, offset
    for bot in manager.list():
        manager.stop(bot.id, timeout=10)


def _ticks(manager: BotManager) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for record in manager.logs("Clock"):
        if record.stream == "stdout" and record.text.startswith("TICK ") and record.run:
            found.setdefault(record.run, []).append(float(record.text.split()[1]))
    return found


def test_wall_clock_jumps_neither_skip_nor_double_a_scheduled_run(
    faked: tuple[BotManager, Path], tmp_path: Path
) -> None:
    manager, offset = faked
    nb = write_notebook(tmp_path / "clock.ipynb", TICK)
    manager.promote(
        PromoteBot(
            notebook=str(nb), name="Clock", mode=BotMode.EVERY, interval=INTERVAL, start=True
        )
    )
    for phase, shift in enumerate(OFFSETS, start=1):
        offset.write_text(shift + "\n")
        target = phase * RUNS_PER_PHASE
        wait_for(lambda: len(_ticks(manager)) >= target, 60, f"{target} runs")  # noqa: B023
    manager.stop("Clock")
    ticks = _ticks(manager)
    records = manager.logs("Clock")
    # The runner saw its clock jump: its log's own timestamps moved an hour ahead, then back.
    stamps = [r.ts for r in records]
    steps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert max(steps) > 3000 and min(steps) < -9000, (max(steps), min(steps))
    # Every run once, numbered without a gap, each a single execution...
    assert sorted(ticks) == list(range(1, len(ticks) + 1))
    assert all(len(times) == 1 for times in ticks.values()), ticks
    # ...one interval apart on the monotonic clock: a skipped run leaves a gap of two, a
    # doubled one a gap of nearly none (run 1 is left out: its kernel starts cold).
    starts = [ticks[run][0] for run in sorted(ticks)][1:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(abs(gap - INTERVAL) < INTERVAL / 3 for gap in gaps), gaps
    assert not [r.text for r in records if "skipping" in r.text]
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
