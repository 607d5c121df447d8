"""The Jupyter server killed with SIGKILL while ten bots run.

Runners are detached from the server (their own session) and only the runner writes a bot's
log, so nothing of a bot depends on the server being alive: every bot keeps running and
logging while it is gone. The next server adopts the same runners, and a log stream client
that resumes the way the sidebar does (``?after=`` the last sequence number it saw) gets the
records written meanwhile, with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.logs import last_seq
from watchdog_lab.bots.supervisor import BotManager

from ..server.botapi import (
    ServerProcess,
    SseStream,
    bot_path,
    http_json,
    open_stream,
    start_server,
    write_notebook,
)
from ..support import process_exists, wait_for

BOTS = [f"Bot {index:02d}" for index in range(10)]
#: A line every 0.2 s: cheap for ten bots on a small machine, yet a second shows growth.
TICKER = (
    "import itertools, time\n"
    "for i in itertools.count():\n"
    "    print('tick', i, flush=True)\n"
    "    time.sleep(0.2)"
)
#: Stream events read from each bot before the kill, and written after the restart.
EVENTS_BEFORE = 3
EVENTS_AFTER = 3


def _promote_all(server: ServerProcess) -> dict[str, dict[str, Any]]:
    """Promote and start every bot (the server builds them side by side); each one running."""
    jobs = {}
    for name in BOTS:
        request = {"notebook": "ticker.ipynb", "name": name, "mode": "continuous", "start": True}
        code, job = http_json(server, "POST", "bots", request)
        assert code == 202, job
        jobs[name] = job["id"]
    for name, job_id in jobs.items():

        def finished(job_id: str = job_id) -> dict[str, Any] | None:
            _, job = http_json(server, "GET", f"bots/jobs/{job_id}")
            return job if job["state"] != "running" else None

        job = wait_for(finished, 180, f"promote of {name}")
        assert job["state"] == "done", job["error"]
    return {name: _wait_running(server, name) for name in BOTS}


def _wait_running(server: ServerProcess, name: str) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        _, bot = http_json(server, "GET", bot_path(name))
        return bot if bot["state"] == "running" and bot["status"]["kernel_pid"] else None

    return wait_for(running, 60, f"{name} running")


async def _open(server: ServerProcess, name: str, after: int) -> SseStream:
    url = server.api_url(bot_path(name, "logs", "stream")) + f"?after={after}"
    stream = await open_stream(url, server.headers)
    assert stream.status == 200, name
    return stream


async def _read_until_broken(stream: SseStream, into: list[int]) -> None:
    """Every event the server sent before it died, then the break the sidebar sees."""
    try:
        while True:
            into.append(int((await stream.next_event(timeout=30)).id or 0))
    except (EOFError, ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        await stream.close()


async def _read_past(stream: SseStream, moment: float, into: list[int]) -> None:
    """Events up to the first record written after ``moment``, and a few more."""
    try:
        late = 0
        while late < EVENTS_AFTER:
            event = await stream.next_event(timeout=30)
            into.append(int(event.id or 0))
            late += event.json()["ts"] > moment
    finally:
        await stream.close()


def test_bots_outlive_a_killed_server_are_adopted_and_their_streams_resume_without_gap(
    tmp_path: Path, bot_home: Path, manager: BotManager, uv_cache: Path
) -> None:
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "ticker.ipynb", TICKER)
    first = start_server(tmp_path / "one", bot_home, notebooks, uv_cache=uv_cache)
    second: ServerProcess | None = None
    try:
        before = {name: bot["status"] for name, bot in _promote_all(first).items()}
        logs = {name: BotPaths(bot_home, before[name]["bot_id"]).log_file for name in BOTS}
        seen: dict[str, list[int]] = {name: [] for name in BOTS}

        async def watch_then_kill() -> None:
            streams = {name: await _open(first, name, after=0) for name in BOTS}
            for name, stream in streams.items():
                while len(seen[name]) < EVENTS_BEFORE:
                    seen[name].append(int((await stream.next_event(timeout=30)).id or 0))
            os.kill(first.process.pid, signal.SIGKILL)
            await asyncio.gather(*(_read_until_broken(streams[n], seen[n]) for n in BOTS))

        asyncio.run(watch_then_kill())
        assert first.process.wait(10) == -signal.SIGKILL

        # With no server at all: every runner and kernel lives on, and every log grows.
        at_kill = {name: last_seq(logs[name]) for name in BOTS}
        wait_for(lambda: all(last_seq(logs[n]) > at_kill[n] + 2 for n in BOTS), 30, "logs grow")
        for name in BOTS:
            assert process_exists(before[name]["pid"]), name
            assert process_exists(before[name]["kernel_pid"]), name

        restarted_at = time.time()
        second = start_server(tmp_path / "two", bot_home, notebooks, uv_cache=uv_cache)
        server = second
        wait_for(lambda: "reconciled bots after server start" in server.log(), 60, "reconcile")
        for name in BOTS:
            assert f"{name}: adopted" in server.log(), name
            now = http_json(server, "GET", bot_path(name))[1]
            assert now["state"] == "running", name
            assert now["status"]["pid"] == before[name]["pid"], name
            assert now["status"]["kernel_pid"] == before[name]["kernel_pid"], name

        async def resume() -> None:
            streams = {name: await _open(server, name, after=seen[name][-1]) for name in BOTS}
            await asyncio.gather(*(_read_past(streams[n], restarted_at, seen[n]) for n in BOTS))

        asyncio.run(resume())
        for name in BOTS:
            # From the first record, through the downtime, to beyond the restart: each record
            # exactly once, in order.
            assert seen[name] == list(range(1, len(seen[name]) + 1)), (name, seen[name])
            assert seen[name][-1] > at_kill[name] + 2, name
    finally:
        for server_process in (first, second):
            if server_process is not None:
                server_process.terminate()
