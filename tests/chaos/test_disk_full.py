"""A bot's disk fills up: the bot says so, waits it out, and the rest carries on.

The disk is a real small filesystem, a tmpfs, so writes fail with a real ``ENOSPC``. A file
size limit (``bot_rlimits``' ``fsize``) would fail the bot's writes with ``EFBIG`` instead,
which is not a full disk, so it is not used to fake one. The tmpfs is mounted

- as root, on the bot's ``state/`` folder, where every process sees it (the bot then runs in
  its full sandbox);
- without privilege, in a user and mount namespace of the bot's runner's own (``unshare``),
  which its kernel inherits; the test reaches it through the runner's ``/proc/<pid>/root``.
  The log writer's folder and the runner's check of a full folder are tested the same way.
  Where unprivileged user namespaces are not allowed, those variants are skipped.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.logs import iter_records
from watchdog_lab.bots.models import BotMode, BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from ..bots.conftest import wait_for, write_notebook

#: Small enough to fill in a moment, big enough for a few of the bot's runs.
TMPFS_BYTES = 1024 * 1024
#: What each run of the filling bot writes to a new file in its state folder.
RUN_WRITES = 16 * 1024
#: Seconds between runs of both bots.
EVERY = 0.3

WRITER_NOTEBOOK = textwrap.dedent(
    f"""
    import os, pathlib, time
    state = pathlib.Path(os.environ["WATCHDOG_LAB_STATE_DIR"])
    new = state / f"run-{{time.time_ns()}}.bin"
    new.write_bytes(os.urandom({RUN_WRITES}))  # before the old one goes: a full disk fails it
    for old in state.glob("run-*.bin"):
        if old != new:
            old.unlink()
    print("wrote", new.name, flush=True)
    """
)


def _fill(folder: Path) -> Path:
    """Write a file until the filesystem refuses more; the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        chunk = b"\0" * 4096
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


#: The runner started in a user and mount namespace of its own, with a tmpfs on its bot's
#: state folder: arguments ``-m watchdog_lab.bots.runner BOT_ID --home HOME``.
_NAMESPACED_RUNNER = """#!/bin/sh
state="$5/bots/$3/state"
exec {unshare} --user --map-root-user --mount /bin/sh -c \\
  'mount -t tmpfs -o size={size},mode=0700 tmpfs "$0" && exec "$@"' "$state" {python} "$@"
"""


class SmallState:
    """A bot's state folder on a tmpfs of ``TMPFS_BYTES``, by one of two means:

    - ``mount``: mounted where every process sees it (root only);
    - ``user namespace``: the bot's runner (and so its kernel) starts in a user and mount
      namespace of its own, with the tmpfs mounted there; the test reaches it through the
      runner's ``/proc/<pid>/root``. No privilege needed.
    """

    def __init__(self, how: str, manager: BotManager, tmp_path: Path) -> None:
        self.how, self.manager, self.tmp_path = how, manager, tmp_path
        self.mounted: list[Path] = []
        if how == "mount" and (os.geteuid() != 0 or shutil.which("mount") is None):
            pytest.skip("mounting a tmpfs where every process sees it needs root")
        if how == "user namespace" and shutil.which("unshare") is None:
            pytest.skip("unshare(1) is missing")

    def start(self, bot_id: str) -> None:
        state = self.manager.paths(bot_id).state
        if self.how == "mount":
            options = f"size={TMPFS_BYTES},mode=0700"
            subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(state)], check=True)
            self.mounted.append(state)
            self.manager.start(bot_id)
            return
        wrapper = self.tmp_path / "namespaced-runner"
        wrapper.write_text(
            _NAMESPACED_RUNNER.format(
                unshare=shutil.which("unshare"), size=TMPFS_BYTES, python=sys.executable
            )
        )
        wrapper.chmod(0o700)
        python, self.manager.python = self.manager.python, str(wrapper)
        try:
            self.manager.start(bot_id)
        except Exception:
            log = self.manager.paths(bot_id).runner_log.read_text(errors="replace")
            if "Operation not permitted" in log:
                pytest.skip("this machine allows no unprivileged user namespace")
            raise
        finally:
            self.manager.python = python

    def folder(self, bot_id: str) -> Path:
        """The state folder as the test can write into it."""
        state = self.manager.paths(bot_id).state
        if self.how == "mount":
            return state
        runner = self.manager.describe(bot_id).status.pid
        return Path(f"/proc/{runner}/root") / state.relative_to("/")

    def close(self) -> None:
        for folder in self.mounted:  # lazily: a kernel's private mount view may still hold it
            subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(params=["mount", "user namespace"])
def small_state(
    request: pytest.FixtureRequest, manager: BotManager, tmp_path: Path
) -> Iterator[SmallState]:
    small = SmallState(request.param, manager, tmp_path)
    yield small
    small.close()


def _promote(manager: BotManager, tmp_path: Path, name: str, source: str) -> str:
    notebook = write_notebook(tmp_path / f"{name}.ipynb", source)
    request = PromoteBot(notebook=str(notebook), name=name, mode=BotMode.EVERY, interval=EVERY)
    return manager.promote(request).id


def test_a_full_state_folder_says_disk_full_retries_without_crashing_and_recovers(
    manager: BotManager, vault: Vault, tmp_path: Path, small_state: SmallState
) -> None:
    filling = _promote(manager, tmp_path, "Filling", WRITER_NOTEBOOK)
    calm = _promote(manager, tmp_path, "Calm", "print('calm', flush=True)")
    small_state.start(filling)
    manager.start(calm)
    wait_for(lambda: manager.describe(filling).status.runs >= 2, 90, "a good run")

    filler = _fill(small_state.folder(filling))
    policy = manager.restart_policy

    def disk_full_reported() -> bool:
        status = manager.describe(filling).status
        return (status.reason or "").startswith("disk full: no space left in its state folder")

    wait_for(disk_full_reported, 60, "disk full in the status")
    restarts = manager.describe(filling).status.restarts
    calm_runs = manager.describe(calm).status.runs
    # More failed runs than a crash loop allows: still trying, not crashed.
    wait_for(
        lambda: manager.describe(filling).status.restarts > restarts + policy.max_failures,
        60,
        "retries past the crash-loop limit",
    )
    now = manager.describe(filling)
    assert now.state is not BotState.CRASHED, now.status.reason
    assert disk_full_reported()
    # The other bot and the vault never noticed.
    assert manager.describe(calm).status.runs > calm_runs
    assert manager.describe(calm).status.consecutive_failures == 0
    vault.add_connection(CreateConnection(name="During", kind="generic", fields={"t": "v"}))

    filler.unlink()
    freed_at = manager.describe(filling).status.runs
    wait_for(
        lambda: (
            (s := manager.describe(filling).status).runs > freed_at + 1
            and s.consecutive_failures == 0
        ),
        60,
        "good runs once space is back",
    )
    assert manager.describe(filling).state is not BotState.CRASHED
    for bot_id in (filling, calm):
        seqs = [r.seq for r in iter_records(manager.paths(bot_id).log_file)]
        assert seqs == list(range(1, len(seqs) + 1)), bot_id
    texts = [r.text for r in iter_records(manager.paths(filling).log_file)]
    assert any("disk full: no space left in its state folder" in t for t in texts)


_LOG_WRITER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    from watchdog_lab.bots.logs import LogWriter, iter_records
    from watchdog_lab.redact import Redactor

    folder = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    writer = LogWriter(folder / "bot.jsonl", Redactor())
    for i in range(20):
        writer.write("stdout", f"before {i}")
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\\0" * 1024)
                handle.flush()
        except OSError:
            pass
    for i in range(50):  # every one refused: the disk is full
        writer.write("stdout", f"while full {i}")
    dropped = writer.dropped
    filler.unlink()
    for i in range(5):
        writer.write("stdout", f"after {i}")
    writer.close()
    records = [r.model_dump() for r in iter_records(folder / "bot.jsonl")]
    print(json.dumps({"dropped": dropped, "records": records}))
    """
)


def test_the_log_writer_on_a_full_disk_keeps_going_without_a_gap_and_says_what_it_lost(
    tmp_path: Path,
) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is missing")
    folder = tmp_path / "logs"
    folder.mkdir()
    argv = [unshare, "--user", "--map-root-user", "--mount", sys.executable, "-c", _LOG_WRITER]
    done = subprocess.run(
        [*argv, str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip("this machine allows no unprivileged user namespace")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    records = result["records"]
    assert result["dropped"] > 0
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    texts = [r["text"] for r in records]
    assert texts[:20] == [f"before {i}" for i in range(20)]
    assert texts[-5:] == [f"after {i}" for i in range(5)]
    notes = [t for t in texts if "could not be written" in t]
    assert len(notes) == 1 and "no space left on device" in notes[0]
    assert texts.index(notes[0]) == len(texts) - 6  # just before the first record after
    assert sum(t.startswith("while full") for t in texts) + result["dropped"] == 50


_DISK_FULL_CHECK = textwrap.dedent(
    """
    import json, subprocess, sys, uuid
    from pathlib import Path
    from watchdog_lab.bots.diskspace import disk_full
    from watchdog_lab.bots.layout import BotPaths

    paths = BotPaths(Path(sys.argv[1]), uuid.uuid4().hex)
    for folder in (paths.state, paths.tmp):
        folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(paths.state)],
                   check=True)
    seen = [disk_full(paths)]
    filler = paths.state / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\\0" * 4096)
        except OSError:
            pass
    seen.append(disk_full(paths))
    filler.unlink()
    seen.append(disk_full(paths))
    print(json.dumps(seen))
    """
)


def test_a_full_state_folder_is_told_apart_from_a_failing_cell_by_the_filesystem(
    tmp_path: Path,
) -> None:
    """What the runner asks after a failed run (the bot test above needs root; this part of it
    runs anywhere a user namespace may be made)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is missing")
    argv = [unshare, "--user", "--map-root-user", "--mount", sys.executable, "-c"]
    done = subprocess.run(
        [*argv, _DISK_FULL_CHECK, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip("this machine allows no unprivileged user namespace")
    assert done.returncode == 0, done.stderr[-2000:]
    before, full, after = json.loads(done.stdout)
    assert before is None and after is None
    assert full.startswith("no space left in its state folder (0 KiB free)")
