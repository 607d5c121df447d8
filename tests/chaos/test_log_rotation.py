"""A bot's log rotating under a real runner, read across files by every reader; and a writer
killed in the middle of a rotation.

One real ``jupyter server`` (its settings from a config file, as a user sets them) promotes one
bot that prints about six files' worth of output under the smallest rotation allowed, while a
client of the live stream and a follower of the file read along; the tests then read what was
kept through the REST routes and the ``watchdog-lab`` command.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.logs import LogWriter, follow, last_seq, log_files, read_records
from watchdog_lab.bots.models import MIN_LOG_MAX_BYTES, LogRecord, LogRotation
from watchdog_lab.redact import Redactor
from watchdog_lab.vault import KdfParams, Vault

from ..server.botapi import (
    ServerProcess,
    bot_path,
    http_json,
    open_stream,
    start_server,
    write_notebook,
)
from ..support import wait_for

#: Two files of slack: a reader stalled for a second on a busy machine still finds its file.
KEEP_FILES = 4
CLI = (sys.executable, "-m", "watchdog_lab.cli")
FINISHED = "notebook finished"
#: About six files of the smallest size: the log rotates five times while the readers read.
CHATTY = (
    "import time\n"
    "time.sleep(1.5)  # the readers are attached before the first line\n"
    "for i in range(160):\n"
    "    print('line', i, 'x' * 20000, flush=True)\n"
    "    time.sleep(0.02)"
)


@dataclass
class RotatedBot:
    server: ServerProcess
    home: Path
    bot_id: str
    streamed: list[int] = field(default_factory=list)
    followed: list[int] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return BotPaths(self.home, self.bot_id).log_file


def _stream_until_finished(server: ServerProcess, name: str, into: list[int]) -> None:
    """The sidebar's way: the stream from the start, every event's sequence number kept."""

    async def read() -> None:
        url = server.api_url(bot_path(name, "logs", "stream")) + "?after=0"
        stream = await open_stream(url, server.headers)
        try:
            assert stream.status == 200
            while True:
                record = (await stream.next_event(timeout=60)).json()
                into.append(record["seq"])
                if record["stream"] == "system" and record["text"] == FINISHED:
                    return
        finally:
            await stream.close()

    asyncio.run(read())


def _follow_until_finished(log: Path, into: list[int]) -> None:
    """The CLI's way (``bots logs --follow``): the file itself."""
    for record in follow(log, after=0, poll=0.02):
        into.append(record.seq)
        if record.stream == "system" and record.text == FINISHED:
            return


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[RotatedBot]:
    root = tmp_path_factory.mktemp("rot")
    home = root / "h"
    with Vault(home, kdf=KdfParams(1, 8192, 1)) as vault:
        vault.create("rotation test password")
    notebooks = root / "notebooks"
    write_notebook(notebooks / "chatty.ipynb", CHATTY)
    config = root / "server" / "jupyter-config"
    config.mkdir(parents=True)
    settings = {"bot_log_max_bytes": MIN_LOG_MAX_BYTES, "bot_log_keep_files": KEEP_FILES}
    (config / "jupyter_server_config.json").write_text(json.dumps({"WatchdogLab": settings}))
    server = start_server(root / "server", home, notebooks, uv_cache=uv_cache)
    try:
        request = {"notebook": "chatty.ipynb", "name": "Chatty", "start": True}
        code, job = http_json(server, "POST", "bots", request)
        assert code == 202, job

        def finished() -> dict | None:  # type: ignore[type-arg]
            _, current = http_json(server, "GET", f"bots/jobs/{job['id']}")
            return current if current["state"] != "running" else None

        final = wait_for(finished, 120, "promote of Chatty")
        assert final["state"] == "done", final["error"]
        bot = RotatedBot(server, home, final["bot"]["id"])
        readers = [
            threading.Thread(target=_stream_until_finished, args=(server, "Chatty", bot.streamed)),
            threading.Thread(target=_follow_until_finished, args=(bot.log, bot.followed)),
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(120)
        assert not any(reader.is_alive() for reader in readers), "a reader never saw the end"
        yield bot
    finally:
        server.terminate()


def test_the_runner_rotates_at_the_configured_size_keeping_that_many_files(
    rotated: RotatedBot,
) -> None:
    files = log_files(rotated.log)
    sizes = [f.stat().st_size for f in files]
    assert len(files) == KEEP_FILES, [f.name for f in files]
    assert all(0 < size <= MIN_LOG_MAX_BYTES for size in sizes), sizes
    kept = [r.seq for r in read_records(rotated.log)]
    assert kept[0] > 1, "nothing was rotated away"
    assert kept == list(range(kept[0], last_seq(rotated.log) + 1))


def test_a_live_stream_follows_the_log_across_rotations_without_gap_or_repeat(
    rotated: RotatedBot,
) -> None:
    assert rotated.streamed == list(range(1, last_seq(rotated.log) + 1))


def test_a_follower_of_the_file_crosses_rotations_without_gap_or_repeat(
    rotated: RotatedBot,
) -> None:
    assert rotated.followed == list(range(1, last_seq(rotated.log) + 1))


def _firsts(log: Path) -> list[int]:
    return [LogRecord.model_validate_json(f.open("rb").readline()).seq for f in log_files(log)]


def test_the_logs_route_pages_and_tails_across_files(rotated: RotatedBot) -> None:
    boundary = _firsts(rotated.log)[-1]  # the current file's first record
    code, page = http_json(
        rotated.server, "GET", bot_path("Chatty", "logs") + f"?after={boundary - 4}&limit=6"
    )
    assert code == 200
    assert [r["seq"] for r in page["records"]] == list(range(boundary - 3, boundary + 3))
    last = last_seq(rotated.log)
    spanning = last - boundary + 5
    code, tail = http_json(rotated.server, "GET", bot_path("Chatty", "logs") + f"?tail={spanning}")
    assert [r["seq"] for r in tail["records"]] == list(range(last - spanning + 1, last + 1))


def test_bots_logs_reads_across_files(rotated: RotatedBot) -> None:
    last = last_seq(rotated.log)
    spanning = last - _firsts(rotated.log)[-1] + 5
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_LAB_")}
    env["WATCHDOG_LAB_HOME"] = str(rotated.home)
    done = subprocess.run(
        [*CLI, "bots", "logs", "Chatty", "-n", str(spanning), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seqs = [json.loads(line)["seq"] for line in done.stdout.splitlines()]
    assert seqs == list(range(last - spanning + 1, last + 1))


# ------------------------------------------------------------------- killed mid-rotation

#: A writer that reports each sequence number once its record is written, and kills itself
#: with SIGKILL just before its ``kill_at``-th rename or unlink: a step inside a rotation.
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from watchdog_lab.bots.logs import LogWriter
from watchdog_lab.bots.models import LogRotation
from watchdog_lab.redact import Redactor

path = Path(sys.argv[1])
kill_at, max_bytes, keep = (int(arg) for arg in sys.argv[2:])
calls = 0
def dying(real):
    def step(*args, **kwargs):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return step
os.rename, os.unlink = dying(os.rename), dying(os.unlink)
writer = LogWriter(path, Redactor(), LogRotation(max_bytes=max_bytes, keep_files=keep))
while True:
    print(writer.write("stdout", "k" * 50000).seq, flush=True)
"""
KILL_ROTATION = LogRotation(max_bytes=MIN_LOG_MAX_BYTES, keep_files=4)
KILL_ARGS = (str(KILL_ROTATION.max_bytes), str(KILL_ROTATION.keep_files))
#: Records of the killed writer in one file.
PER_FILE = MIN_LOG_MAX_BYTES // 50_100
#: Every step of the first four rotations (2, 3, 4 and 5 steps): the fourth deletes the oldest
#: file, moves .2 and .1 up, renames the current file to .1 and gives the new file its name.
ROTATION_STEPS = range(1, 15)


def _killed_writer(log: Path, kill_at: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(log), str(kill_at), *KILL_ARGS],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_writer_killed_at_any_step_of_a_rotation_loses_nothing_and_repeats_no_seq(
    tmp_path: Path,
) -> None:
    logs = {step: tmp_path / f"s{step}" / "bot.jsonl" for step in ROTATION_STEPS}
    for log in logs.values():
        log.parent.mkdir()
    writers = {step: _killed_writer(log, step) for step, log in logs.items()}
    for step, writer in writers.items():
        out, _ = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, (step, writer.returncode)
        written = [int(line) for line in out.split()]
        log = logs[step]
        kept = [r.seq for r in read_records(log)]
        # Nothing written is missing from what rotation keeps (every file but the one it
        # deletes), and nothing is there twice.
        assert kept == list(range(kept[0], written[-1] + 1)), step
        assert len(kept) >= min(len(written), (KILL_ROTATION.keep_files - 1) * PER_FILE), step
        restarted = LogWriter(log, Redactor(), KILL_ROTATION)
        for _ in range(40):  # four more rotations on what the killed one left
            restarted.write("stdout", "r" * 50_000)
        restarted.close()
        after = [r.seq for r in read_records(log)]
        assert after == list(range(after[0], written[-1] + 41)), step
        files = log_files(log)
        assert len(files) <= KILL_ROTATION.keep_files, [f.name for f in files]
        assert all(f.stat().st_size <= KILL_ROTATION.max_bytes for f in files), step
