"""How late an every-N bot's runs start: prewarmed kernels against a kernel started at the due time.

Two bots run the same one-cell notebook ``--every 2`` side by side, so machine noise hits both
alike:

- **prewarmed** (the default): the next run's fresh kernel starts while the bot waits;
- **baseline**: the strongest simple peer, a fresh kernel started when the run is due (the
  same monotonic schedule, with ``prewarm_kernel`` off).

A run's lateness is the start of its first cell (the cell prints the wall clock) minus the due
time the runner announced while it slept (``next_run_at``, on the same clock). The first two
runs of each bot are left out (the first starts with the bot, the second's kernel only when
the first ends). The result is checked: every run happened exactly once (one first-cell line
per run number, none missing), and the slots each bot skipped are counted.

Run from the repository root (200 runs: about 7 minutes; ``--runs 20`` for a quick look):

    python benchmarks/bench_schedule.py [--runs 200] [--every 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.status import read_status
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, Vault

FIRST_CELL = "import time\nprint('START', repr(time.time()), flush=True)"
#: Runs left out of the figures: the bot's cold start, and the run whose kernel starts only
#: when that first run ends.
WARM_UP_RUNS = 2
POLL_SECONDS = 0.01


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(FIRST_CELL)]
    nbformat.write(nb, str(path))
    return path


def starts(manager: BotManager, bot_id: str) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for record in manager.logs(bot_id):
        if record.stream == "stdout" and record.text.startswith("START ") and record.run:
            found.setdefault(record.run, []).append(float(record.text.split()[1]))
    return found


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--every", type=float, default=2.0)
    args = parser.parse_args()
    if args.runs <= WARM_UP_RUNS:
        parser.error(f"--runs must be more than {WARM_UP_RUNS}")
    with tempfile.TemporaryDirectory(prefix="wdl-bench-") as tmp:
        work = Path(tmp)
        vault = Vault(work / "h", kdf=KdfParams(1, 8192, 1))
        vault.create("benchmark password")
        managers = {
            "prewarmed": BotManager(vault),
            "baseline": BotManager(vault, prewarm_kernel=False),
        }
        nb = notebook(work / "tick.ipynb")
        bots = {}
        for label, manager in managers.items():  # promote both first: the same start
            bots[label] = manager.promote(
                PromoteBot(notebook=str(nb), name=label, mode=BotMode.EVERY, interval=args.every)
            ).id
        due: dict[str, dict[int, float]] = {label: {} for label in bots}
        for label, manager in managers.items():
            manager.start(bots[label])
        deadline = time.monotonic() + 120 + args.runs * args.every * 3
        try:
            while time.monotonic() < deadline:
                done = True
                for label, bot_id in bots.items():
                    status = read_status(BotPaths(vault.home, bot_id).status_file, bot_id)
                    if status.state is BotState.SLEEPING and status.next_run_at:
                        due[label].setdefault(status.runs + 1, status.next_run_at)
                    done = done and status.runs > args.runs
                if done:
                    break
                time.sleep(POLL_SECONDS)
            else:
                raise SystemExit("the bots did not reach the runs asked for in time")
        finally:
            for label, manager in managers.items():
                manager.stop(bots[label])
        print(
            f"{args.runs} runs every {args.every:g}s, side by side; lateness = first cell's "
            f"start - due time (runs 1-{WARM_UP_RUNS} left out)"
        )
        for label, manager in managers.items():
            found = starts(manager, bots[label])
            runs = range(1, args.runs + 1)
            missing = [run for run in runs if run not in found]
            doubled = [run for run in runs if len(found.get(run, [])) > 1]
            if missing or doubled:
                raise SystemExit(f"{label}: runs missing {missing}, run more than once {doubled}")
            texts = [r.text for r in manager.logs(bots[label]) if r.stream == "system"]
            skipped = sum(
                int(text.split("skipping ", 1)[1].split()[0])
                for text in texts
                if "skipping " in text
            )
            lateness = [
                (found[run][0] - due[label][run]) * 1000
                for run in runs
                if run > WARM_UP_RUNS and run in due[label]
            ]
            print(
                f"  {label:9}  median {statistics.median(lateness):7.1f} ms   "
                f"p99 {percentile(lateness, 0.99):7.1f} ms   max {max(lateness):7.1f} ms   "
                f"({len(lateness)} runs timed, every run once, {skipped} slot(s) skipped)"
            )
        vault.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
