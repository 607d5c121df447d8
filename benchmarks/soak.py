"""A soak: many bots of every mode running for a while; does anything grow?

``--bots`` bots (default 50) in three mixes, a third each:

- **continuous**: a loop printing a line a second, forever;
- **every N** (``--every``, default 20 s): one short run per slot, on a fresh (prewarmed) kernel;
- **run-once**: one short run; each one that finished is started again at every sample, so
  starts and ends are soaked too.

Every ``--sample`` seconds (default 60) it records, per bot, the memory of its runner and
every process under it (the kernel, a prewarmed kernel, the sandbox's wrapper and init): RSS
and PSS from ``/proc/<pid>/smaps_rollup``; their open file descriptors; the CPU they used
since the last sample; the disk its log takes; and, for every-N bots, how late each run's
first cell started after its due time. At the end it prints each figure over time and the
verdict: memory flat (last sample against the first after warm-up), and under 150 MB per bot.

Run from the repository root (default 10 minutes, after a few minutes of promotes):

    python benchmarks/soak.py [--bots 50] [--duration 600] [--sample 60] [--every 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.status import read_status
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, Vault

MB = 1024 * 1024
TARGET_MB = 150
#: Memory may grow this much between the first and the last sample (allocator slack, caches
#: filled once) and still count as flat.
FLAT_MB = 10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.05
SOURCES = {
    BotMode.CONTINUOUS: (
        "import itertools, time\n"
        "for i in itertools.count():\n"
        "    print('tick', i, flush=True)\n"
        "    time.sleep(1)"
    ),
    BotMode.EVERY: (
        "import time\nprint('START', repr(time.time()), flush=True)\n"
        "total = sum(i * i for i in range(100_000))\nprint('sum', total)"
    ),
    BotMode.ONCE: "total = sum(i * i for i in range(100_000))\nprint('once', total)",
}


@dataclass
class Sample:
    at: float
    rss_mb: dict[str, float] = field(default_factory=dict)
    pss_mb: dict[str, float] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)
    cpu_percent: float = 0.0
    log_mb: float = 0.0


def notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, str(path))
    return path


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    return children


def tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def measure(pids: list[int]) -> tuple[int, int, int, int]:
    """(RSS KiB, PSS KiB, open fds, CPU ticks) summed over ``pids`` that still exist."""
    rss = pss = fds = ticks = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            continue
    return rss, pss, fds, ticks


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--sample", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=20.0)
    args = parser.parse_args()
    modes = [(BotMode.CONTINUOUS, BotMode.EVERY, BotMode.ONCE)[i % 3] for i in range(args.bots)]
    with tempfile.TemporaryDirectory(prefix="wdl-soak-") as tmp:
        work = Path(tmp)
        vault = Vault(work / "h", kdf=KdfParams(1, 8192, 1))
        vault.create("soak password")
        manager = BotManager(vault, restart=RestartPolicy(backoff_initial=1, max_failures=100))
        books = {mode: notebook(work / f"{mode.value}.ipynb", SOURCES[mode]) for mode in SOURCES}
        started = time.monotonic()
        bots: dict[str, BotMode] = {}
        for i, mode in enumerate(modes):
            request = PromoteBot(
                notebook=str(books[mode]),
                name=f"{mode.value}-{i}",
                mode=mode,
                interval=args.every if mode is BotMode.EVERY else None,
            )
            bots[manager.promote(request).id] = mode
        print(f"promoted {len(bots)} bots in {time.monotonic() - started:.0f}s", flush=True)
        for bot_id in bots:
            manager.start(bot_id)
        samples: list[Sample] = []
        due: dict[str, dict[int, float]] = {b: {} for b, m in bots.items() if m is BotMode.EVERY}
        cpu_before: dict[str, int] = {}
        begin = time.monotonic()
        next_sample = begin
        try:
            while time.monotonic() - begin < args.duration:
                for bot_id in due:
                    status = read_status(BotPaths(vault.home, bot_id).status_file, bot_id)
                    if status.state is BotState.SLEEPING and status.next_run_at:
                        due[bot_id].setdefault(status.runs + 1, status.next_run_at)
                if time.monotonic() >= next_sample:
                    samples.append(sample(manager, vault, bots, cpu_before, args.sample))
                    report_line(samples[-1], begin, bots)
                    next_sample += args.sample
                time.sleep(POLL_SECONDS)
        finally:
            for bot_id in bots:
                manager.stop(bot_id, timeout=10)
        lateness = every_lateness(manager, due)
        verdict(samples, bots, lateness)
        vault.close()
    return 0


def sample(
    manager: BotManager,
    vault: Vault,
    bots: dict[str, BotMode],
    cpu_before: dict[str, int],
    period: float,
) -> Sample:
    children = children_map()
    now = Sample(at=time.monotonic())
    cpu_ticks = 0
    for bot_id, mode in bots.items():
        paths = BotPaths(vault.home, bot_id)
        status = read_status(paths.status_file, bot_id)
        now.log_mb += folder_bytes(paths.logs) / MB
        if mode is BotMode.ONCE and status.state in (BotState.STOPPED, BotState.CRASHED):
            manager.start(bot_id)  # soak the start path too
            continue
        if status.pid is None or status.state in (BotState.STOPPED, BotState.CRASHED):
            continue
        rss, pss, fds, ticks = measure(tree(status.pid, children))
        now.rss_mb[bot_id], now.pss_mb[bot_id], now.fds[bot_id] = rss / 1024, pss / 1024, fds
        cpu_ticks += max(0, ticks - cpu_before.get(bot_id, ticks))
        cpu_before[bot_id] = ticks
    now.cpu_percent = 100.0 * cpu_ticks / CLOCK_TICKS / period
    return now


def by_mode(values: dict[str, float], bots: dict[str, BotMode], mode: BotMode) -> list[float]:
    return [v for b, v in values.items() if bots[b] is mode]


def report_line(s: Sample, begin: float, bots: dict[str, BotMode]) -> None:
    parts = [f"t={s.at - begin:5.0f}s"]
    for mode in (BotMode.CONTINUOUS, BotMode.EVERY, BotMode.ONCE):
        pss = by_mode(s.pss_mb, bots, mode)
        if pss:
            parts.append(
                f"{mode.value} PSS med {statistics.median(pss):5.1f} max {max(pss):5.1f} MB"
            )
    rss = list(s.rss_mb.values())
    if rss:
        parts.append(f"RSS max {max(rss):5.1f} MB")
    fds = list(s.fds.values())
    if fds:
        parts.append(f"fds max {max(fds)}")
    parts.append(f"CPU {s.cpu_percent:5.1f}%  logs {s.log_mb:6.2f} MB")
    print("  ".join(parts), flush=True)


def every_lateness(manager: BotManager, due: dict[str, dict[int, float]]) -> list[float]:
    """Milliseconds from each every-N run's due time to its first cell (runs 1 and 2 left
    out: the cold start, and the run whose kernel starts when the first ends)."""
    late: list[float] = []
    for bot_id, announced in due.items():
        for record in manager.logs(bot_id):
            timed = record.run is not None and record.run > 2 and record.run in announced
            if timed and record.stream == "stdout" and record.text.startswith("START "):
                late.append((float(record.text.split()[1]) - announced[record.run]) * 1000)
    return late


def verdict(samples: list[Sample], bots: dict[str, BotMode], lateness: list[float]) -> None:
    if len(samples) < 2:
        print("too short for a verdict: run longer than two samples")
        return
    # The first sample sees start-up (kernels importing); from the second on, steady state.
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    growth = [
        last.pss_mb[b] - first.pss_mb[b]
        for b in last.pss_mb
        if b in first.pss_mb and bots[b] is not BotMode.ONCE
    ]
    worst = max(max(s.rss_mb.values(), default=0.0) for s in samples)
    worst_pss = max(max(s.pss_mb.values(), default=0.0) for s in samples)
    print("\nverdict (figures taken with other work on the machine: noisy)")
    if growth:
        print(
            f"  PSS growth per bot, sample 2 -> last: median {statistics.median(growth):+.1f} MB, "
            f"max {max(growth):+.1f} MB  ({'flat' if max(growth) < FLAT_MB else 'GROWING'}; "
            f"flat: < {FLAT_MB} MB)"
        )
    print(
        f"  largest bot: RSS {worst:.1f} MB, PSS {worst_pss:.1f} MB  "
        f"({'under' if worst_pss < TARGET_MB else 'OVER'} the {TARGET_MB} MB target, by PSS)"
    )
    fds = [max(s.fds.values(), default=0) for s in samples]
    print(f"  open fds of the largest bot per sample: {fds}")
    print(f"  log disk: {samples[0].log_mb:.2f} MB -> {samples[-1].log_mb:.2f} MB")
    if lateness:
        ordered = sorted(lateness)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        print(
            f"  every-N lateness over {len(lateness)} runs: median "
            f"{statistics.median(lateness):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
