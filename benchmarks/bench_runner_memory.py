"""A continuous bot printing ~1 MB/s: does its runner's memory stay flat?

A real bot (promoted, sandboxed, its own venv) prints numbered 1 KB lines at a steady rate
for the whole run. Every few seconds the benchmark samples the resident memory (RSS) of the
bot's runner and of its kernel (with the kernel's child processes, e.g. bubblewrap's).

Side by side, the baseline: the same notebook under plain ``nbclient`` on the default kernel,
which keeps every output in the notebook until the cell ends, as papermill does. A continuous
bot's cell never ends, so that is the memory the runner would grow by without its cap.

Both results are checked, not only timed: the bot's log must hold every numbered line, in
order, none missing (the bytes really reached ``logs/bot.jsonl``); the baseline reports how
many characters it kept, which must be what the kernel printed.

Run from the repository root: ``python benchmarks/bench_runner_memory.py [--minutes 10]``.
The default (0.75 minutes) finishes in about 1.5 minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import wait_for, write_notebook
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotMode, BotState, LogRotation, PromoteBot, RestartPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, Vault

MB = 1024 * 1024
LINE_CHARS = 1000  # plus the 8-digit number, a space and the newline: 1,010 bytes a line
LINES_PER_SECOND = 1000  # ~1 MB/s
SAMPLES = 12
BASELINE_SLACK = 15.0  # seconds
FLOOD = """
import itertools, time
RATE = {rate}
filler = "y" * {chars}
start = time.monotonic()
for i in itertools.count():
    print(f"{{i:08d}} {{filler}}")
    if i % 100 == 99:
        ahead = (i + 1) / RATE - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
"""
LINE = re.compile(rf"(\d{{8}}) y{{{LINE_CHARS}}}")


def notebook(path: Path) -> Path:
    return write_notebook(path, FLOOD.format(rate=LINES_PER_SECOND, chars=LINE_CHARS))


def wait(predicate, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    return wait_for(predicate, timeout=timeout, what="the benchmark's condition")


def rss(pid: int | None) -> int:
    """Resident bytes of ``pid`` (0 once it is gone)."""
    if not pid:
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """``pid``'s child processes, their children, and so on."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_rss(pid: int | None) -> int:
    return rss(pid) + sum(rss(child) for child in descendants(pid)) if pid else 0


# ------------------------------------------------------------------------ baseline


def baseline_child(path: str, seconds: float) -> int:
    """Run in a subprocess: plain nbclient keeps every output until the cell ends."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=int(seconds), interrupt_on_timeout=True
    )
    try:
        client.execute()
    except Exception as exc:  # the interrupt at the timeout ends the endless cell
        print(f"baseline ended: {type(exc).__name__}", file=sys.stderr)
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    numbers = [int(m.group(1)) for m in LINE.finditer(text)]
    print(json.dumps({"outputs": len(outputs), "chars": len(text), "lines": numbers[-1:]}))
    return 0


# ---------------------------------------------------------------------- the bot


def logged_lines(manager: BotManager, bot_id: str) -> tuple[int, int, bool]:
    """(numbered lines, their bytes, whether they run 0..n-1 with none missing or repeated)."""
    text = "".join(r.text for r in manager.logs(bot_id) if r.stream == "stdout")
    numbers = [int(m.group(1)) for m in LINE.finditer(text)]
    return len(numbers), len(numbers) * (LINE_CHARS + 10), numbers == list(range(len(numbers)))


def sample(manager: BotManager, bot_id: str, baseline: subprocess.Popen, seconds: float) -> list:
    """RSS rows (t, runner, bot kernel, nbclient, its kernel) over ``seconds``."""
    status = wait(
        lambda: (
            (s := manager.describe(bot_id).status).state is BotState.RUNNING and s.kernel_pid and s
        )
    )
    wait(lambda: descendants(baseline.pid))  # the baseline's kernel is up too
    time.sleep(2.0)  # both print by now: the first sample is the flood's start
    started = time.monotonic()
    rows = []
    for i in range(SAMPLES + 1):
        time.sleep(max(0.0, started + i * seconds / SAMPLES - time.monotonic()))
        rows.append(
            (
                time.monotonic() - started,
                rss(status.pid),
                tree_rss(status.kernel_pid),
                rss(baseline.pid),
                sum(rss(k) for k in descendants(baseline.pid)),
            )
        )
    return rows


def report(rows: list, seconds: float, checks: dict) -> int:
    print(
        f"continuous bot printing ~{LINES_PER_SECOND * (LINE_CHARS + 10) / MB:.2f} MB/s "
        f"for {seconds:.0f} s; resident memory (MB)"
    )
    print("     t (s)   runner  bot kernel   nbclient  its kernel")
    for t, runner, kernel, base, base_kernel in rows:
        print(
            f"    {t:6.0f}  {runner / MB:7.1f}  {kernel / MB:10.1f}  {base / MB:9.1f}  "
            f"{base_kernel / MB:10.1f}"
        )
    first, last = rows[0], rows[-1]
    print(
        f"    growth   {(last[1] - first[1]) / MB:+7.1f}  {(last[2] - first[2]) / MB:+10.1f}  "
        f"{(last[3] - first[3]) / MB:+9.1f}  {(last[4] - first[4]) / MB:+10.1f}"
    )
    lines, kept = checks["lines"], checks["kept"]
    print(
        f"\n    bot log: {lines:,} numbered lines ({checks['logged'] / MB:.1f} MB of output; log "
        f"file {checks['log_bytes'] / MB:.1f} MB), in order with none missing: {checks['in_order']}"
    )
    print(f"    saved run notebook: {checks['run_bytes'] / MB:.2f} MB")
    print(
        f"    stop: {checks['stop_seconds']:.2f} s, ended by the runner itself (no SIGKILL): "
        f"{checks['graceful']}"
    )
    print(f"    nbclient kept {kept['outputs']:,} outputs, {kept['chars'] / MB:.1f} MB of text")
    expected = LINES_PER_SECOND * seconds
    ok = checks["in_order"] and lines > 0.8 * expected and checks["graceful"]
    ok = ok and kept["chars"] > 0.8 * expected * (LINE_CHARS + 10)
    print(f"    result check: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=0.75, help="flood duration")
    parser.add_argument("--baseline-child", nargs=2, metavar=("NOTEBOOK", "SECONDS"))
    args = parser.parse_args()
    if args.baseline_child:
        return baseline_child(args.baseline_child[0], float(args.baseline_child[1]))
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="wdl-bench-") as tmp:
        work = Path(tmp)
        vault = Vault(work / "h", kdf=KdfParams(1, 8192, 1))
        vault.create("benchmark password")
        # Keep every file: the check reads the whole flood back from line 0.
        manager = BotManager(
            vault,
            restart=RestartPolicy(max_failures=100),
            log_rotation=LogRotation(keep_files=1000),
        )
        nb = notebook(work / "flood.ipynb")
        bot = manager.promote(PromoteBot(notebook=str(nb), name="flood", mode=BotMode.CONTINUOUS))
        paths = BotPaths(manager.home, bot.id)
        manager.start(bot.id)
        baseline = subprocess.Popen(
            # It outlasts the sampling (which starts once both print), then is interrupted.
            [sys.executable, __file__, "--baseline-child", str(nb), str(seconds + BASELINE_SLACK)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            rows = sample(manager, bot.id, baseline, seconds)
            t0 = time.monotonic()
            manager.stop(bot.id)
            stop_seconds = time.monotonic() - t0
            final = manager.describe(bot.id).status
            out, _ = baseline.communicate(timeout=max(120.0, seconds))
            lines, logged, in_order = logged_lines(manager, bot.id)
            run_files = sorted(paths.runs.glob("*.ipynb"))
            checks = {
                "stop_seconds": stop_seconds,
                "graceful": final.state is BotState.STOPPED
                and final.reason == "stopped on request",
                "kept": json.loads(out.strip().splitlines()[-1]),
                "lines": lines,
                "logged": logged,
                "in_order": in_order,
                "log_bytes": paths.log_file.stat().st_size,
                "run_bytes": run_files[-1].stat().st_size if run_files else 0,
            }
        finally:  # never leave the detached runner (or the baseline) behind an interrupt
            manager.stop(bot.id)
            if baseline.poll() is None:
                baseline.kill()
                baseline.wait()
            vault.close()
    return report(rows, seconds, checks)


if __name__ == "__main__":
    sys.exit(main())
