"""Acceptance for "a bot cannot change file metadata outside its own state".

Landlock does not govern ``chmod``, ``chown``, ``utime`` or ``setxattr``. A real bot kernel
tries each on a file of its venv (an inode shared with every bot and the uv cache), a system
file (owned by root, as a root-run bot is) and its own frozen notebook: each is refused by a
read-only mount. The same calls on a file in its ``state/`` succeed. The probes change nothing
when they are allowed (same mode, same owner, same times, replacing an attribute that does not
exist), so the tests harm nothing on a machine where they fail. Then a hostile bot really runs
``chmod 000`` on ``ipykernel/__init__.py`` and another bot still starts and finishes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault

from ..support import write_notebook
from .conftest import wait_state
from .sandboxing import bot_outcomes, bubblewrap_or_skip, landlock_abi_or_skip

PROBE = """
import errno, os, ipykernel

def attempt(label, action):
    try:
        action()
    except OSError as exc:
        print(f"{label}: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
    else:
        print(f"{label}: ok", flush=True)

def probe(label, path, xattr_flags=os.XATTR_REPLACE):
    st = os.stat(path)
    attempt(f"{label}.chmod", lambda: os.chmod(path, st.st_mode & 0o7777))
    attempt(f"{label}.chown", lambda: os.chown(path, -1, -1))
    attempt(f"{label}.utime", lambda: os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns)))
    attempt(f"{label}.setxattr", lambda: os.setxattr(path, "user.wdl-probe", b"x", xattr_flags))

open("mine.txt", "w").close()
probe("state", "mine.txt", xattr_flags=0)
probe("venv", ipykernel.__file__)
probe("system", "/usr/bin/env")
probe("notebook", os.path.join(os.environ["WATCHDOG_LAB_BOT_DIR"], "notebook", "v1.ipynb"))
probe("devnull", "/dev/null")
attempt("devnull.write", lambda: open("/dev/null", "w").write("still usable"))
"""

HOSTILE = """
import ipykernel, os
try:
    os.chmod(ipykernel.__file__, 0)
    print("hostile: chmod done", flush=True)
except OSError as exc:
    print("hostile:", type(exc).__name__, flush=True)
"""

REFUSED = ("EROFS", "EPERM")
OPS = ("chmod", "chown", "utime", "setxattr")


def _manager(vault: Vault, uv_cache: Path, sandbox_mode: str) -> Iterator[BotManager]:
    landlock_abi_or_skip()
    if sandbox_mode == "bubblewrap":
        bubblewrap_or_skip()
    manager = BotManager(vault, uv_cache=uv_cache, sandbox_mode=sandbox_mode)
    yield manager
    for bot in manager.list():
        manager.stop(bot.id, timeout=10)


@pytest.fixture(params=["best", "bubblewrap"])
def confined(request: pytest.FixtureRequest, vault: Vault, uv_cache: Path) -> Iterator[BotManager]:
    yield from _manager(vault, uv_cache, request.param)


def _run(manager: BotManager, tmp_path: Path, name: str, source: str) -> dict[str, str]:
    nb = write_notebook(tmp_path / f"{name}.ipynb", source)
    manager.promote(PromoteBot(notebook=str(nb), name=name, start=True))
    wait_state(manager, name, BotState.STOPPED, BotState.CRASHED)
    return bot_outcomes(manager, name)


def test_a_bot_changes_metadata_only_in_its_own_state(confined: BotManager, tmp_path: Path) -> None:
    outcome = _run(confined, tmp_path, "Prober", PROBE)
    level = confined.describe("Prober").status.sandbox or ""
    assert level == "bubblewrap" or "private mounts" in level, level
    for op in OPS:
        assert outcome[f"state.{op}"] == "ok", "the positive control: its own state is its own"
        for target in ("venv", "system", "notebook"):
            assert outcome[f"{target}.{op}"] in REFUSED, (target, op, outcome)
    if os.geteuid() == 0:  # only root owns the host's /dev/null
        assert outcome["devnull.chmod"] in REFUSED
    assert outcome["devnull.write"] == "ok", "a device on a read-only mount stays usable"


def test_a_hostile_bot_cannot_break_the_venv_every_other_bot_shares(
    vault: Vault, uv_cache: Path, tmp_path: Path
) -> None:
    for manager in _manager(vault, uv_cache, "best"):
        assert _run(manager, tmp_path, "Hostile", HOSTILE)["hostile"] == "OSError"  # EROFS
        _run(manager, tmp_path, "Bystander", "print('bystander ran')")
        status = manager.describe("Bystander").status
        assert status.state is BotState.STOPPED and status.reason == "finished"
        stdout = "".join(r.text for r in manager.logs("Bystander") if r.stream == "stdout")
        assert stdout == "bystander ran\n"
