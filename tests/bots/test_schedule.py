"""Every-N bots run on time: a monotonic schedule, and the next fresh kernel started ahead."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.runner import Schedule
from watchdog_lab.bots.supervisor import BotManager

from .conftest import process_exists, wait_for, write_notebook

#: Which kernel process runs a cell (every kernel is pid 2 of its own PID namespace): a token
#: drawn once per process.
KERNEL_TOKEN = (
    "import os, sys\nTOKEN = sys.__dict__.setdefault('probe_token', os.urandom(8).hex())\n"
)
#: The first cell of every probe bot: when it started (wall clock, the same clock the status's
#: next_run_at is shown on), which kernel process ran it, and when that process was started
#: (its start in clock ticks since boot, from /proc/self/stat, put on the wall clock).
START_PROBE = KERNEL_TOKEN + (
    "import time\n"
    "_ticks = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])\n"
    "_age = time.clock_gettime(time.CLOCK_BOOTTIME) - _ticks / os.sysconf('SC_CLK_TCK')\n"
    "print('START', repr(time.time()), TOKEN, repr(time.time() - _age), flush=True)"
)
#: A prewarmed run's kernel was started when the run before it ended, seconds before this
#: run was due (the interval is 4 s); a kernel started for the run starts at its due time.
STARTED_BEFORE_DUE = 1.0


def _starts(manager: BotManager, name: str) -> dict[int, tuple[float, str, float]]:
    """Each run's (first cell's start time, kernel token, kernel process start time), from the
    bot's log."""
    found = {}
    for record in manager.logs(name):
        if record.stream == "stdout" and record.text.startswith("START ") and record.run:
            _, when, token, kernel_started = record.text.split()
            found[record.run] = (float(when), token, float(kernel_started))
    return found


def _watch_due_times(manager: BotManager, name: str, runs: int) -> dict[int, float]:
    """The due time the runner announces for each next run while it sleeps, until ``runs``."""
    due: dict[int, float] = {}
    deadline = time.monotonic() + 30 + runs * 5
    while time.monotonic() < deadline:
        status = manager.describe(name).status
        if status.state is BotState.SLEEPING and status.next_run_at:
            due.setdefault(status.runs + 1, status.next_run_at)
        if len(_starts(manager, name)) >= runs:
            return due
        time.sleep(0.02)
    raise AssertionError(f"{name} did not reach {runs} runs")


def test_the_schedule_is_a_fixed_grid_that_skips_missed_slots_without_a_burst() -> None:
    schedule = Schedule(2.0)
    schedule.start(100.0)
    assert schedule.next_due(100.7) == (102.0, 0)  # a run of 0.7 s: the next slot
    assert schedule.next_due(102.05) == (104.0, 0)  # started late: no drift
    assert schedule.next_due(108.5) == (110.0, 2)  # overran past 106 and 108: both skipped
    assert schedule.next_due(110.0) == (112.0, 0)  # exactly on a slot: the one after it


def test_every_run_starts_on_its_due_time_on_a_fresh_prewarmed_kernel(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "tick.ipynb", START_PROBE)
    manager.promote(
        PromoteBot(notebook=str(nb), name="Tick", mode=BotMode.EVERY, interval=4.0, start=True)
    )
    runs = 5
    due = _watch_due_times(manager, "Tick", runs)
    starts = _starts(manager, "Tick")
    manager.stop("Tick")
    # From run 2 on, each run's kernel was started while the bot waited for it (how late runs
    # start is measured by benchmarks/bench_schedule.py, not asserted here).
    for run in range(2, runs + 1):
        when, _, kernel_started = starts[run]
        assert kernel_started < due[run] - STARTED_BEFORE_DUE, (run, kernel_started, due[run])
        assert when >= due[run] - 0.005, (run, when, due[run])  # never early
    # Each run had a kernel process of its own.
    assert len({token for _, token, _ in starts.values()}) == len(starts)


def test_a_run_that_overruns_its_interval_skips_to_the_next_slot_and_says_so(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "slow.ipynb", START_PROBE, "time.sleep(2.2)")
    manager.promote(
        PromoteBot(notebook=str(nb), name="Slow", mode=BotMode.EVERY, interval=2.0, start=True)
    )
    due = _watch_due_times(manager, "Slow", 3)
    manager.stop("Slow")
    texts = [r.text for r in manager.logs("Slow") if r.stream == "system"]
    assert sum("skipping 1 scheduled run(s)" in text for text in texts) >= 2, texts
    # Run 3 is due two intervals after run 2, on the grid: not 2.2 s (sleep after the run,
    # drifting), not 2 s (a make-up run at once), however late run 2 itself started.
    assert abs(due[3] - due[2] - 4.0) < 0.01, due


def _sleeping_with_a_prewarmed_kernel(manager: BotManager, name: str) -> int:
    def ready() -> int | None:
        status = manager.describe(name).status
        pid = status.prewarmed_kernel_pid
        ready = status.state is BotState.SLEEPING and status.prewarmed_kernel_ready
        return pid if ready and process_exists(pid) else None

    return wait_for(ready, 60, "a prewarmed kernel")  # type: ignore[return-value]


def test_stopping_a_sleeping_bot_ends_its_prewarmed_kernel(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "wait.ipynb", START_PROBE)
    manager.promote(
        PromoteBot(notebook=str(nb), name="Wait", mode=BotMode.EVERY, interval=60, start=True)
    )
    spare = _sleeping_with_a_prewarmed_kernel(manager, "Wait")
    manager.stop("Wait")
    wait_for(lambda: not process_exists(spare), 5, "the prewarmed kernel to end")
    assert manager.describe("Wait").status.prewarmed_kernel_pid is None


def test_a_killed_runner_takes_its_prewarmed_kernel_with_it(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "orphan.ipynb", START_PROBE)
    manager.promote(
        PromoteBot(notebook=str(nb), name="Orphan", mode=BotMode.EVERY, interval=60, start=True)
    )
    spare = _sleeping_with_a_prewarmed_kernel(manager, "Orphan")
    runner = manager.describe("Orphan").status.pid
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    wait_for(lambda: not process_exists(spare), 10, "the prewarmed kernel to end")


def test_a_prewarmed_kernel_that_died_while_waiting_is_replaced(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "dead.ipynb", START_PROBE)
    manager.promote(
        PromoteBot(notebook=str(nb), name="Dead", mode=BotMode.EVERY, interval=4, start=True)
    )
    spare = _sleeping_with_a_prewarmed_kernel(manager, "Dead")
    os.killpg(spare, signal.SIGKILL)
    wait_for(lambda: 2 in _starts(manager, "Dead"), 30, "run 2")
    starts = _starts(manager, "Dead")
    manager.stop("Dead")
    assert starts[2][1] != starts[1][1]
    texts = [r.text for r in manager.logs("Dead") if r.stream == "system"]
    assert any(
        f"run 2: the prewarmed kernel (pid {spare}) died while the bot waited" in text
        for text in texts
    ), texts


COUNTER = (
    KERNEL_TOKEN + "try:\n    count += 1\nexcept NameError:\n    count = 1\n"
    "print('COUNT', count, TOKEN, flush=True)\n"
    "if count == 3:\n    raise RuntimeError('third run fails')"
)


def _counts(manager: BotManager, name: str) -> list[tuple[int, str]]:
    return [
        (int(r.text.split()[1]), r.text.split()[2])
        for r in manager.logs(name)
        if r.stream == "stdout" and r.text.startswith("COUNT ")
    ]


def test_a_reuse_kernel_bot_keeps_its_variables_between_runs(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "keep.ipynb", COUNTER)
    manager.promote(
        PromoteBot(
            notebook=str(nb),
            name="Keep",
            mode=BotMode.EVERY,
            interval=0.5,
            reuse_kernel=True,
            start=True,
        )
    )
    assert manager.describe("Keep").reuse_kernel
    wait_for(lambda: len(_counts(manager, "Keep")) >= 2, 60, "two runs")
    counts = _counts(manager, "Keep")[:2]
    manager.stop("Keep")
    assert [count for count, _ in counts] == [1, 2]
    assert counts[0][1] == counts[1][1]  # one kernel process


def test_a_reuse_kernel_bot_gets_a_fresh_kernel_after_a_failed_run(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "fresh.ipynb", COUNTER)
    manager.promote(
        PromoteBot(
            notebook=str(nb),
            name="Fresh",
            mode=BotMode.EVERY,
            interval=0.5,
            reuse_kernel=True,
            start=True,
        )
    )
    wait_for(lambda: len(_counts(manager, "Fresh")) >= 4, 60, "four runs")
    counts = _counts(manager, "Fresh")[:4]
    manager.stop("Fresh")
    assert [count for count, _ in counts] == [1, 2, 3, 1]  # the failure lost the state
    assert counts[3][1] != counts[2][1]
