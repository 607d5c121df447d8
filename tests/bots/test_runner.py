"""The runner hands a bot kernel its connections on an inherited pipe, never its environment."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.runner import ConnectionHandOver
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import wait_for, write_notebook
from .sandboxing import bubblewrap_or_skip, landlock_abi_or_skip

SECRET = "sk-live-NotInEnviron-0123456789abcdef"

PROBE = textwrap.dedent(
    """
    import os
    import watchdog_lab as wd
    c = wd.connection("Ex")
    print("handover ok", c.name, len(c["token"]), flush=True)
    print("fd variable after preload:", os.environ.get("WATCHDOG_LAB_CONNECTIONS_FD"))
    environ = open("/proc/self/environ", "rb").read()
    print("self environ:", environ.replace(b"\\0", b" ").decode(errors="replace"))
    try:
        parent = open(f"/proc/{os.getppid()}/environ", "rb").read()
        print("parent environ:", parent.replace(b"\\0", b" ").decode(errors="replace"))
    except OSError as exc:
        print("parent environ:", type(exc).__name__)
    try:
        from watchdog_lab.sdk import PipeSource
    except ImportError:
        print("second read: no PipeSource", flush=True)
    else:
        print("second read:", PipeSource().names(), flush=True)
    """
)


def _manager(vault: Vault, uv_cache: Path, sandbox_mode: str) -> Iterator[BotManager]:
    manager = BotManager(
        vault,
        uv_cache=uv_cache,
        sandbox_mode=sandbox_mode,
        restart=RestartPolicy(backoff_initial=0.2, backoff_max=1.0, max_failures=4),
    )
    yield manager
    for bot in manager.list():
        manager.stop(bot.id, timeout=10)


@pytest.fixture(params=["landlock", "bubblewrap"])
def sandboxed_manager(
    request: pytest.FixtureRequest, vault: Vault, uv_cache: Path
) -> Iterator[BotManager]:
    if request.param == "bubblewrap":
        bubblewrap_or_skip()
    else:
        landlock_abi_or_skip()
    yield from _manager(vault, uv_cache, request.param)


def test_each_bot_kernel_gets_its_connections_on_a_fresh_pipe_and_none_in_its_environ(
    sandboxed_manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    manager = sandboxed_manager
    vault.add_connection(CreateConnection(name="Ex", kind="generic", fields={"token": SECRET}))
    nb = write_notebook(tmp_path / "env.ipynb", PROBE, "raise RuntimeError('run again')")
    manager.promote(PromoteBot(notebook=str(nb), name="Env", connections=["Ex"], start=True))

    def two_runs() -> object:
        texts = [r.text for r in manager.logs("Env")]
        return sum("second read:" in t for t in texts) >= 2 and texts

    texts = wait_for(two_runs, 120, "two runs of the probe")
    manager.stop("Env")
    log = "\n".join(texts)  # type: ignore[arg-type]
    # Every run (a fresh kernel) received the connection...
    assert log.count(f"handover ok Ex {len(SECRET)}") >= 2, log
    # ...the kernel's initial environment holds no secret, only the number of a pipe...
    environ_lines = [
        line for line in log.splitlines() if line.startswith(("self environ:", "parent environ:"))
    ]
    assert environ_lines and all("[REDACTED" not in line for line in environ_lines), log
    assert all("WATCHDOG_LAB_CONNECTIONS=" not in line for line in environ_lines)
    assert any("WATCHDOG_LAB_CONNECTIONS_FD=" in line for line in environ_lines)
    # ...which was read once, before the first cell ran.
    assert log.count("second read: []") >= 2, log
    assert "fd variable after preload: None" in log
    assert manager.describe("Env").state in (BotState.STOPPED, BotState.STARTING)
    for path in vault.home.rglob("*"):
        if path.is_file() and "venv" not in path.parts:
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_grant_beyond_a_pipe_buffer_and_an_environment_variable_reaches_the_kernel_whole(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    # 5 x 21,000 characters: ~140,000 encoded, more than Linux lets one environment string
    # hold (128 KiB) and more than a pipe buffers (64 KiB).
    values = {f"part{i}": secrets.token_hex(10_500) for i in range(5)}
    vault.add_connection(CreateConnection(name="Big", kind="generic", fields=values))
    digest = hashlib.sha256("".join(values[k] for k in sorted(values)).encode()).hexdigest()
    nb = write_notebook(
        tmp_path / "big.ipynb",
        "import hashlib, watchdog_lab as wd\nc = wd.connection('Big')\n"
        "print('sizes', sorted(len(c[f]) for f in c.field_names))\n"
        "print('digest', hashlib.sha256(''.join(c[f] for f in sorted(c.field_names)).encode())"
        ".hexdigest())",
    )
    manager.promote(PromoteBot(notebook=str(nb), name="Big", connections=["Big"], start=True))
    wait_for(
        lambda: (
            manager.describe("Big").state in (BotState.STOPPED, BotState.CRASHED)
            or manager.describe("Big").status.restarts
        ),
        120,
        "the run's end",
    )
    log = "\n".join(r.text for r in manager.logs("Big"))
    assert f"sizes {[21_000] * 5}" in log, log
    assert f"digest {digest}" in log


def test_a_hand_over_that_no_kernel_reads_never_holds_the_runner() -> None:
    payload = b"A" * (4 * 1024 * 1024)  # far beyond what a pipe buffers
    # A kernel that dies before reading: the write fails and the writer ends at once.
    handover = ConnectionHandOver(payload)
    subprocess.run(["true"], pass_fds=(handover.read_fd,), check=True)
    handover.launched()
    wait_for(lambda: not handover.writing, 5, "the writer to give up on a dead reader")
    handover.close()
    # A kernel that neither reads nor dies: closing the hand-over ends the writer.
    handover = ConnectionHandOver(payload)
    holder = subprocess.Popen(["sleep", "30"], pass_fds=(handover.read_fd,))
    try:
        handover.launched()
        time.sleep(0.5)
        assert handover.writing  # blocked on the full pipe, as it should be
        started = time.monotonic()
        handover.close()
        assert not handover.writing and time.monotonic() - started < 1.5
    finally:
        holder.kill()
        holder.wait()
