"""``status.json``: the runner's report of what its bot is doing, and process identity checks.

A pid alone can be reused by an unrelated process after a reboot or a long time; a pid plus the
process start time (from ``/proc/<pid>/stat``) identifies one process for good. Supervisors
adopt a runner only when both match.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .layout import write_json_atomic
from .models import BotState, BotStatus


def read_status(path: Path, bot_id: str) -> BotStatus:
    try:
        return BotStatus.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return BotStatus(bot_id=bot_id, state=BotState.STOPPED)


def write_status(path: Path, status: BotStatus) -> None:
    write_json_atomic(path, status.model_dump(mode="json"))


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[19])  # field 22 of stat(5); fields[0] is field 3


def is_alive(pid: int | None, start_time: int | None) -> bool:
    """True only for the very process that was recorded (same pid, same start time)."""
    if not pid or start_time is None:
        return False
    current = process_start_time(pid)
    if current is None or current != start_time:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def runner_is_alive(status: BotStatus) -> bool:
    return is_alive(status.pid, status.pid_start)


def self_identity() -> tuple[int, int | None]:
    pid = os.getpid()
    return pid, process_start_time(pid)
