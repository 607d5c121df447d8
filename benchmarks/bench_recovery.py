"""How fast a bot is back after its runner is killed with ``kill -9``: the server's runner watch
against a supervisor that restarts the runner itself.

One continuous bot prints a tick every 50 ms. Each round kills its runner with SIGKILL and
times two moments from the kill:

- **runner**: a new runner has written its status (its pid, alive by pid and start time);
- **running**: the bot prints again (the first tick stamped after the kill), so its new kernel
  runs the notebook.

Two ways of bringing it back, alternating round by round so machine noise hits both alike:

- **watch**: what the server does, :class:`~watchdog_lab.server.jobs.RunnerWatch` (a pidfd per
  runner, then a reconcile: the registry read, the status checked, the seal verified, a runner
  spawned);
- **baseline**: the strongest simple peer, a supervisor that is told the moment its child ends
  (a pidfd, as systemd and supervisord learn it from SIGCHLD) and spawns the runner again
  straight away, with no registry, status or seal step: the floor for this runner.

The result is checked: every round gets a new runner pid, the old kernel is gone, and the log's
sequence numbers run from 1 with no gap and no repeat.

Run from the repository root (about a minute):

    python benchmarks/bench_recovery.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.logs import iter_records
from watchdog_lab.bots.models import BotMode, BotState, BotStatus, PromoteBot
from watchdog_lab.bots.status import is_alive, read_status
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.server.jobs import BotOperations
from watchdog_lab.vault import KdfParams, Vault

TICKS = (
    "import time\n"
    "while True:\n"
    "    print('tick', repr(time.time()), flush=True)\n"
    "    time.sleep(0.05)"
)
POLL_SECONDS = 0.005
#: The watch's periodic scan; the pidfd, not this, is what notices a kill.
WATCH_INTERVAL = 5.0
ROUND_TIMEOUT = 60.0


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(TICKS)]
    nbformat.write(nb, str(path))
    return path


def wait(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


def status_of(manager: BotManager, bot_id: str) -> BotStatus:
    return read_status(BotPaths(manager.home, bot_id).status_file, bot_id)


def ticked_after(log: Path, since: float) -> bool:
    return any(
        r.stream == "stdout" and r.text.startswith("tick ") and float(r.text.split()[1]) > since
        for r in iter_records(log)
    )


def restart_directly(manager: BotManager, bot_id: str, pid: int) -> None:
    """The baseline's supervisor: wait for the runner's end, spawn it again at once."""
    fd = os.pidfd_open(pid)
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)
    record = manager.registry.get(bot_id)
    manager.spawn(record, manager.granted_connections(record))


def one_round(manager: BotManager, bot_id: str, how: str) -> tuple[float, float]:
    before = status_of(manager, bot_id)
    assert before.pid is not None and before.kernel_pid is not None
    log = BotPaths(manager.home, bot_id).log_file
    ops = None
    if how == "watch":
        ops = BotOperations(lambda: manager, logging.getLogger("bench"))
        ops.watch_runners(WATCH_INTERVAL, lambda: True)
        time.sleep(0.2)  # the watch has taken the runner's pidfd
    killed_at, killed_wall = time.monotonic(), time.time()
    os.kill(before.pid, signal.SIGKILL)
    if how == "baseline":
        restart_directly(manager, bot_id, before.pid)

    def new_runner() -> bool:
        now = status_of(manager, bot_id)
        return now.pid not in (None, before.pid) and is_alive(now.pid, now.pid_start)

    wait(new_runner, "a new runner")
    runner = time.monotonic() - killed_at
    wait(lambda: ticked_after(log, killed_wall), "the bot to tick again")
    running = time.monotonic() - killed_at
    if ops is not None:
        ops.shutdown()
    if is_alive(before.kernel_pid, before.kernel_pid_start):
        raise SystemExit("the killed runner's kernel still runs")
    return runner, running


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wdl-bench-") as tmp:
        work = Path(tmp)
        vault = Vault(work / "h", kdf=KdfParams(1, 8192, 1))
        vault.create("benchmark password")
        manager = BotManager(vault)
        bot_id = manager.promote(
            PromoteBot(notebook=str(notebook(work / "tick.ipynb")), name="phoenix",
                       mode=BotMode.CONTINUOUS)
        ).id  # fmt: skip
        manager.start(bot_id)
        figures: dict[str, list[tuple[float, float]]] = {"watch": [], "baseline": []}
        try:
            wait(lambda: status_of(manager, bot_id).state is BotState.RUNNING, "the bot to run")
            for _ in range(args.rounds):
                for how in figures:
                    wait(
                        lambda: status_of(manager, bot_id).state is BotState.RUNNING,
                        "the bot to run",
                    )
                    figures[how].append(one_round(manager, bot_id, how))
        finally:
            manager.stop(bot_id)
        seqs = [r.seq for r in iter_records(BotPaths(manager.home, bot_id).log_file)]
        if seqs != list(range(1, len(seqs) + 1)):
            raise SystemExit("the log's sequence numbers have a gap or a repeat")
        print(f"{args.rounds} rounds each, kill -9 of the runner of a continuous bot; seconds")
        print("  how        new runner (median / worst)   bot running again (median / worst)")
        for how, rows in figures.items():
            runner = [r for r, _ in rows]
            running = [r for _, r in rows]
            print(
                f"  {how:9}  {statistics.median(runner):6.2f} / {max(runner):5.2f}"
                f"                {statistics.median(running):6.2f} / {max(running):5.2f}"
            )
        vault.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
