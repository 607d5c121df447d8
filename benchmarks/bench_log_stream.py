"""Live log latency: from a bot's ``print`` to a client of the server's log stream.

A real ``jupyter server`` with WatchDog Lab promotes and starts ``--bots`` continuous bots
through its REST API; each prints ``--rate`` lines a second, every line carrying the time it
was printed. One client holds an SSE stream (``bots/{ref}/logs/stream``) per bot and, for every
line, subtracts the print time from the time the event arrived. The path measured is the whole
one: the bot kernel's stdout batching, its runner writing the redacted record, the server
polling the log file, the stream to the client. Two parts are reported separately: print to
record (kernel and runner, stamped by the runner when it writes) and record to client (the
server's stream). CPU load comes from ``/proc`` over the measuring window. Run from the
repository root (about two minutes; the first bot build fills a fresh uv cache unless
``--uv-cache`` points to a warm one):

    python benchmarks/bench_log_stream.py [--bots 10] [--rate 200] [--seconds 30]

With ``--log-max-bytes`` (``c.WatchdogLab.bot_log_max_bytes``, set in the server's config
file) and ``--pad`` (characters added to every line), the logs rotate many times during the
window, and the same checks show what following a rotating log costs the streams:

    python benchmarks/bench_log_stream.py --log-max-bytes 524288 --pad 1000

Exits with status 1 if the p99 print-to-client latency misses the target, or if any line of
the window is lost or duplicated on its way to the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.botapi import (
    ServerProcess,
    bot_path,
    http_json,
    open_stream,
    start_server,
    write_notebook,
)
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.vault import KdfParams, Vault

TARGET_MS = 300.0
WARMUP_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")

BOT_SOURCE = """\
import time
period = 1.0 / {rate}
pad = " " + "p" * {pad} if {pad} else ""
i = 0
next_at = time.time()
while True:
    print(f"bench {{i}} {{time.time():.6f}}{{pad}}")
    i += 1
    next_at += period
    delay = next_at - time.time()
    if delay > 0:
        time.sleep(delay)
"""


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def promote_all(server: ServerProcess, count: int) -> dict[str, dict[str, Any]]:
    jobs = {}
    for index in range(count):
        name = f"bench-{index:02d}"
        request = {"notebook": "bench.ipynb", "name": name, "mode": "continuous", "start": True}
        code, job = http_json(server, "POST", "bots", request)
        if code != 202:
            raise SystemExit(f"promote {name} refused ({code}): {job}")
        jobs[name] = job["id"]
    bots = {}
    for name, job_id in jobs.items():

        def done(job_id: str = job_id) -> dict[str, Any] | None:
            _, job = http_json(server, "GET", f"bots/jobs/{job_id}")
            return job if job["state"] != "running" else None

        job = wait_for(done, 180, f"promote of {name}")
        if job["state"] != "done":
            raise SystemExit(f"promote of {name} failed: {job['error']}")
        bots[name] = job["bot"]
    for name in bots:
        bots[name] = wait_for(
            lambda n=name: (
                (b := http_json(server, "GET", bot_path(n))[1])["state"] == "running" and b
            ),
            60,
            f"{name} running",
        )
    return bots


#: After the window, how long a stream may take to deliver the lines printed in it. Late lines
#: are still counted (as late latencies), never dropped: only a line that never comes is lost.
CATCH_UP_SECONDS = 30.0


async def collect(
    server: ServerProcess, names: list[str], start_at: float, end_at: float
) -> tuple[list[float], list[float], list[float], list[str]]:
    """Latencies in ms (print to client, print to record, record to client) of the lines
    printed between ``start_at`` and ``end_at``, and what went wrong: per bot, every line
    number in the window must arrive exactly once."""
    total: list[float] = []
    produce: list[float] = []
    deliver: list[float] = []
    problems: list[str] = []

    async def follow(name: str) -> None:
        url = server.api_url(bot_path(name, "logs", "stream")) + "?tail=0"
        stream = await open_stream(url, server.headers)
        if stream.status != 200:
            raise SystemExit(f"stream of {name} answered {stream.status}")
        seen: list[int] = []
        caught_up = False
        give_up = end_at + CATCH_UP_SECONDS
        try:
            while not caught_up and time.time() < give_up:
                try:
                    event = await stream.next_event(timeout=max(0.1, give_up - time.time()))
                except TimeoutError:
                    break
                record = event.json()
                if record["stream"] != "stdout":
                    continue
                for line in record["text"].splitlines():
                    parts = line.split()
                    if len(parts) not in (3, 4) or parts[0] != "bench":
                        continue
                    printed = float(parts[2])
                    if printed >= end_at:
                        caught_up = True  # the bot printed past the window: all of it is in
                    elif printed >= start_at:
                        seen.append(int(parts[1]))
                        total.append((event.received_at - printed) * 1000)
                        produce.append((record["ts"] - printed) * 1000)
                        deliver.append((event.received_at - record["ts"]) * 1000)
        finally:
            await stream.close()
        if not caught_up:
            problems.append(f"{name}: the stream did not catch up within {CATCH_UP_SECONDS:g} s")
        if not seen:
            problems.append(f"{name}: no line of the window arrived")
            return
        missing = set(range(min(seen), max(seen) + 1)) - set(seen)
        duplicated = len(seen) - len(set(seen))
        if missing or duplicated:
            problems.append(f"{name}: {len(missing)} line(s) lost, {duplicated} duplicated")

    await asyncio.gather(*(follow(name) for name in names))
    return total, produce, deliver, problems


def percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"median {statistics.median(values):7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f}  "
        f"max {max(values):7.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200, help="lines per second per bot")
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring window")
    parser.add_argument("--uv-cache", type=Path, default=None, help="a warm uv cache to reuse")
    parser.add_argument("--pad", type=int, default=0, help="characters added to every line")
    parser.add_argument(
        "--log-max-bytes", type=int, default=None, help="c.WatchdogLab.bot_log_max_bytes"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="wd-bench-stream-"))
    home = root / "home"
    notebooks = root / "notebooks"
    write_notebook(notebooks / "bench.ipynb", BOT_SOURCE.format(rate=args.rate, pad=args.pad))
    if args.log_max_bytes is not None:  # as a user sets it: the server's config file
        config = root / "server" / "jupyter-config"
        config.mkdir(parents=True)
        settings = {"WatchdogLab": {"bot_log_max_bytes": args.log_max_bytes}}
        (config / "jupyter_server_config.json").write_text(json.dumps(settings))
    with Vault(home, kdf=KdfParams(1, 8192, 1)) as vault:
        vault.create("benchmark password")
    cache = args.uv_cache or root / "uv-cache"
    server = start_server(root / "server", home, notebooks, uv_cache=cache)
    names: list[str] = []
    try:
        started = time.monotonic()
        bots = promote_all(server, args.bots)
        names = list(bots)
        print(
            f"{len(bots)} bots promoted and running in {time.monotonic() - started:.1f} s; "
            f"each prints {args.rate} lines/s; warming up {WARMUP_SECONDS:g} s, "
            f"measuring {args.seconds:g} s"
        )
        pids = [server.process.pid] + [
            pid for b in bots.values() for pid in (b["status"]["pid"], b["status"]["kernel_pid"])
        ]
        start_at = time.time() + WARMUP_SECONDS
        end_at = start_at + args.seconds

        async def measured() -> tuple[Any, ...]:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            return (
                machine_busy(),
                {pid: cpu_seconds(pid) for pid in pids},
                time.process_time(),
                time.monotonic(),
            )

        logs = [BotPaths(home, b["id"]).log_file for b in bots.values()]
        rotations = [0] * len(logs)

        async def count_rotations() -> None:
            """A new current file (inode) is a rotation; looked for every 50 ms."""
            await asyncio.sleep(max(0.0, start_at - time.time()))
            inodes = [os.stat(log).st_ino for log in logs]
            while time.time() < end_at:
                await asyncio.sleep(0.05)
                for index, log in enumerate(logs):
                    with contextlib.suppress(FileNotFoundError):
                        inode = os.stat(log).st_ino
                        rotations[index] += inode != inodes[index]
                        inodes[index] = inode

        async def run() -> tuple[Any, ...]:
            collector = asyncio.ensure_future(collect(server, names, start_at, end_at))
            counter = asyncio.ensure_future(count_rotations())
            before = await measured()
            await asyncio.sleep(max(0.0, end_at - time.time()))
            await counter
            after = (
                machine_busy(),
                {pid: cpu_seconds(pid) for pid in pids},
                time.process_time(),
                time.monotonic(),
            )
            return await collector, before, after

        (total, produce, deliver, problems), before, after = asyncio.run(run())
    finally:
        for name in names:
            http_json(server, "POST", bot_path(name, "stop"))
        server.terminate()
        shutil.rmtree(root, ignore_errors=True)

    expected = args.bots * args.rate * args.seconds
    if not total:
        raise SystemExit("no line arrived")
    wall = after[3] - before[3]
    busy = (after[0][0] - before[0][0]) / max(1, after[0][1] - before[0][1])
    server_cpu = (after[1][pids[0]] - before[1][pids[0]]) / wall
    bots_cpu = sum(after[1][p] - before[1][p] for p in pids[1:]) / wall
    client_cpu = (after[2] - before[2]) / wall
    p99 = statistics.quantiles(total, n=100, method="inclusive")[98]
    print(f"lines received: {len(total)} of ~{expected:.0f} printed ({args.bots} streams)")
    print(
        f"log rotations in the window, per bot: min {min(rotations)}, "
        f"median {statistics.median(rotations):g}, max {max(rotations)}"
    )
    print(f"print -> client   {percentiles(total)}")
    print(f"print -> record   {percentiles(produce)}   (bot kernel's stdout batching + runner)")
    print(f"record -> client  {percentiles(deliver)}   (server log stream)")
    print(
        f"CPU over the window: machine {busy * 100:.0f}% of {os.cpu_count()} cores; "
        f"server {server_cpu * 100:.1f}% of a core, {args.bots} runners+kernels "
        f"{bots_cpu * 100:.1f}%, client {client_cpu * 100:.1f}%"
    )
    verdict = "meets" if p99 < TARGET_MS else "MISSES"
    print(f"p99 {p99:.1f} ms {verdict} the target of {TARGET_MS:.0f} ms")
    for problem in problems:
        print(f"WRONG: {problem}")
    if not problems:
        print("check: every line of the window arrived once, in every stream (right)")
    return 0 if p99 < TARGET_MS and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
