"""The runner hands a bot kernel its connections on an inherited pipe, never its environment."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.bots.models import BotMode, BotState, LogRotation, PromoteBot, RestartPolicy
from watchdog_lab.bots.runner import ConnectionHandOver
from watchdog_lab.bots.runner_output import MARKER_METADATA_KEY
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from .conftest import wait_for, wait_state, write_notebook
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


MB = 1024 * 1024
FLOOD_MB = 160
#: Resident memory the runner and the kernel may each keep after a flood of FLOOD_MB: a few
#: MiB of outputs and allocator slack. Keeping every output keeps all FLOOD_MB.
GROWTH_LIMIT_MB = 60
# ~20 MB/s of fresh strings (as real output is), then a trickle that goes on until stopped.
FLOOD = textwrap.dedent(
    f"""
    import itertools, time
    chunk = ("x" * 1023 + "\\n") * 256
    for i in range({FLOOD_MB * 4}):
        print(f"block {{i}}\\n" + chunk, end="")
        time.sleep(0.0125)
    print("flood done", flush=True)
    for i in itertools.count():
        print(f"trickle {{i}} " + "y" * 1000)
        time.sleep(0.01)
    """
)


def _rss_mb(pid: int, *, descendants: bool) -> float:
    """Resident MiB of ``pid``, with its descendants' (a sandbox wrapper's kernel) if asked."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        for line in Path(f"/proc/{current}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        if descendants:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return total / 1024


def test_a_continuous_bot_flooding_output_stays_flat_in_memory_and_stops_gracefully(
    manager: BotManager, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "flood.ipynb", FLOOD)
    manager.log_rotation = LogRotation(keep_files=1000)  # the whole flood stays on disk
    bot = manager.promote(
        PromoteBot(notebook=str(nb), name="Flood", mode=BotMode.CONTINUOUS, start=True)
    )
    wait_state(manager, "Flood", BotState.RUNNING)
    status = manager.describe("Flood").status
    pids = {"runner": status.pid, "kernel": status.kernel_pid}
    assert all(pids.values())

    def rss() -> dict[str, float]:  # the kernel is the runner's child: counted apart
        return {
            "runner": _rss_mb(pids["runner"], descendants=False),  # type: ignore[arg-type]
            "kernel": _rss_mb(pids["kernel"], descendants=True),  # type: ignore[arg-type]
        }

    wait_for(lambda: any(r.stream == "stdout" for r in manager.logs("Flood", limit=50)), 30)
    before = rss()
    # Measured once the runner has caught up with the flood: a backlog in flight is not kept.
    wait_for(
        lambda: any("flood done\n" in r.text for r in manager.tail("Flood", 200)), 120, "flood"
    )
    time.sleep(1.0)
    growth = {name: mb - before[name] for name, mb in rss().items()}
    log_file = manager.paths("Flood").log_file
    logged = sum(part.stat().st_size for part in log_file.parent.glob(f"{log_file.name}*"))
    assert logged > FLOOD_MB * MB, "the log lacks part of the flood (cut records?)"
    assert all(grown < GROWTH_LIMIT_MB for grown in growth.values()), growth
    started = time.monotonic()
    manager.stop("Flood")
    # The runner ended itself (status written on its way out): not the supervisor's SIGKILL.
    status = manager.describe("Flood").status
    assert status.state is BotState.STOPPED and status.reason == "stopped on request", status
    assert time.monotonic() - started < 10
    runs = sorted(manager.paths(bot.id).runs.glob("*.ipynb"))
    assert runs, "the run notebook is saved"
    cell = json.loads(runs[-1].read_text())["cells"][0]
    dropped = cell["metadata"][MARKER_METADATA_KEY]["dropped_outputs"]
    assert dropped > 0 and "dropped from the notebook" in "".join(cell["outputs"][0]["text"])
    assert runs[-1].stat().st_size < 8 * MB
