"""Process identity: a pid is adopted only with its start time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from watchdog_lab.bots.models import BotState, BotStatus
from watchdog_lab.bots.status import is_alive, process_start_time, read_status, write_status


def test_own_process_is_alive_with_its_start_time() -> None:
    pid = os.getpid()
    assert is_alive(pid, process_start_time(pid))


def test_same_pid_with_another_start_time_is_not_adopted() -> None:
    pid = os.getpid()
    assert not is_alive(pid, (process_start_time(pid) or 0) + 1)


def test_exited_process_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start_time(proc.pid)
    proc.wait()
    assert not is_alive(proc.pid, start)


def test_status_round_trips_and_a_missing_file_reads_as_stopped(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    assert read_status(path, "b" * 32).state is BotState.STOPPED
    write_status(path, BotStatus(bot_id="b" * 32, state=BotState.RUNNING, pid=12, runs=3))
    status = read_status(path, "b" * 32)
    assert (status.state, status.pid, status.runs) == (BotState.RUNNING, 12, 3)
