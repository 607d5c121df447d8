"""What a bot costs: promote-to-first-output, crash-to-running, memory and disk per idle bot.

1. Promote-to-first-output with a warm uv cache: from ``BotManager.promote(..., start=True)``
   to the first stdout record in the bot's log; side by side with the baseline, plain
   ``papermill`` executing the same notebook on the default kernel (target: at most 2x).
2. Kernel crash to running again: kill -9 a running bot's kernel and time until its runner
   reports a new kernel running (target: under 2 s at the first backoff step).
3. Memory and unique disk per idle bot with N bots (default 20): resident (RSS) and
   proportional (PSS) memory of each bot's runner + kernel, and the disk only that bot uses
   (hardlinks into the shared uv cache are not counted). Targets: < 150 MB RSS, < 15 MB disk.

Run from the repository root: ``python benchmarks/bench_bots.py [--bots 20] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.environment import unique_disk_bytes
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, Vault

MB = 1024 * 1024
CELLS = ("x = 1\nprint('first output', flush=True)", "y = x + 1", "print('done', y)")


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


def wait(predicate, timeout: float = 120.0, poll: float = 0.005):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError("benchmark condition not reached")


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def bench_first_output(manager: BotManager, work: Path, runs: int) -> tuple[float, float]:
    import papermill

    nb = notebook(work / "three.ipynb", *CELLS)
    papermill.execute_notebook(
        str(nb), str(work / "warm.ipynb"), kernel_name="python3", progress_bar=False
    )
    baseline = []
    for i in range(runs):
        t0 = time.perf_counter()
        papermill.execute_notebook(
            str(nb), str(work / f"pm{i}.ipynb"), kernel_name="python3", progress_bar=False
        )
        baseline.append(time.perf_counter() - t0)
    promote = []
    for i in range(runs):
        t0 = time.perf_counter()
        bot = manager.promote(PromoteBot(notebook=str(nb), name=f"first-{i}", start=True))
        wait(lambda b=bot: any(r.stream == "stdout" for r in manager.logs(b.id)))
        promote.append(time.perf_counter() - t0)
        manager.stop(bot.id)
    return statistics.median(promote), statistics.median(baseline)


def bench_crash(manager: BotManager, work: Path, runs: int) -> list[float]:
    nb = notebook(work / "spin.ipynb", "import time\nwhile True:\n    time.sleep(0.05)")
    bot = manager.promote(
        PromoteBot(notebook=str(nb), name="crash", mode=BotMode.CONTINUOUS, start=True)
    )
    times = []
    for _ in range(runs):
        status = wait(
            lambda: (
                (s := manager.describe(bot.id).status).state is BotState.RUNNING
                and s.kernel_pid
                and s
            )
        )
        time.sleep(1.0)
        old = status.kernel_pid
        t0 = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        wait(
            lambda o=old: (
                (s := manager.describe(bot.id).status).state is BotState.RUNNING
                and s.kernel_pid not in (None, o)
            )
        )
        times.append(time.perf_counter() - t0)
        manager.restart(bot.id)  # a fresh runner: the next kill is again a first failure
    manager.stop(bot.id)
    return times


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant (a bot is its runner, the kernel's wrapper, the PID
    namespace's init and the kernel)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over ``pid`` and its descendants that still exist."""
    rss = pss = 0
    for member in process_tree(pid):
        try:
            r, p = memory_kb(member)
        except OSError:
            continue
        rss, pss = rss + r, pss + p
    return rss, pss


def bench_idle(manager: BotManager, work: Path, count: int) -> None:
    nb = notebook(work / "idle.ipynb", "import time\nwhile True:\n    time.sleep(1)")
    bots = [
        manager.promote(
            PromoteBot(notebook=str(nb), name=f"idle-{i}", mode=BotMode.CONTINUOUS, start=True)
        )
        for i in range(count)
    ]
    for bot in bots:
        wait(lambda b=bot: manager.describe(b.id).state is BotState.RUNNING, 180)
    time.sleep(3)
    rss, pss, disk = [], [], []
    for bot in bots:
        status = manager.describe(bot.id).status
        members = process_tree(status.pid)  # type: ignore[arg-type]
        if status.kernel_pid not in members:
            raise SystemExit(f"the kernel of {bot.name} is not under its runner: wrong tree")
        r, p = tree_memory_kb(status.pid)  # type: ignore[arg-type]
        rss.append(r / 1024)
        pss.append(p / 1024)
        disk.append(unique_disk_bytes(BotPaths(manager.home, bot.id).root) / MB)
    print(f"\n[3] {count} idle bots (runner and every process under it)")
    print(
        f"    RSS per bot:  median {statistics.median(rss):6.1f} MB  max {max(rss):6.1f} MB"
        "  (target < 150)"
    )
    print(f"    PSS per bot:  median {statistics.median(pss):6.1f} MB  max {max(pss):6.1f} MB")
    print(
        f"    unique disk:  median {statistics.median(disk):6.1f} MB  max {max(disk):6.1f} MB"
        "  (target < 15)"
    )
    for bot in bots:
        manager.stop(bot.id)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wdl-bench-") as tmp:
        work = Path(tmp)
        vault = Vault(work / "h", kdf=KdfParams(1, 8192, 1))
        vault.create("benchmark password")
        manager = BotManager(vault, restart=RestartPolicy(backoff_initial=0.5, max_failures=100))
        warm = notebook(work / "warm-cache.ipynb", "print(1)")
        manager.promote(PromoteBot(notebook=str(warm), name="warm-cache"))  # fills the uv cache

        promote, baseline = bench_first_output(manager, work, args.runs)
        print("[1] promote-to-first-output (warm uv cache), median of", args.runs)
        print(f"    WatchDog promote + start:  {promote:6.2f} s")
        print(f"    papermill (default kernel): {baseline:6.2f} s")
        print(f"    ratio: {promote / baseline:5.2f}x  (target <= 2x)")

        crash = bench_crash(manager, work, args.runs)
        print("\n[2] kernel kill -9 -> running again (first backoff step 0.5 s)")
        print(
            f"    median {statistics.median(crash):5.2f} s  max {max(crash):5.2f} s  (target < 2 s)"
        )

        bench_idle(manager, work, args.bots)
        vault.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
