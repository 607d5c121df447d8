"""Acceptance for "a sandboxed bot cannot reach interactive kernels or the Jupyter server".

A real interactive kernel listens on TCP 127.0.0.1 (as Jupyter starts them); a plain listener
stands in for the Jupyter server. A real bot, granted no connection, tries to connect to the
kernel's IOPub and shell ports and to the server: each is refused by the sandbox. A port added
through the ``connect_ports`` setting is reached, and MPTCP (which Landlock does not see) gives
no way around.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager
from traitlets import TraitError

from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.server.app import WatchdogLab
from watchdog_lab.vault import Vault

from ..support import wait_for, write_notebook
from .conftest import wait_state
from .sandboxing import bot_outcomes, bubblewrap_or_skip, landlock_abi_or_skip

PROBE = """
import errno, socket

def attempt(label, connect):
    try:
        with connect() as sock:
            sock.sendall(b"from-the-bot")
    except OSError as exc:
        print(f"{label}: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
    else:
        print(f"{label}: connected", flush=True)

def mptcp(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock

for label, port in TARGETS.items():
    attempt(label, lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
attempt("iopub_mptcp", lambda: mptcp(TARGETS["iopub"]))
"""


class Listener:
    """A TCP server on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self.received.append(conn.recv(64))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def interactive_kernel() -> Iterator[KernelManager]:
    """A real interactive kernel with its channels on TCP 127.0.0.1."""
    km = KernelManager(kernel_name="python3", transport="tcp", ip="127.0.0.1")
    km.start_kernel()
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield km
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture
def jupyter_server_port() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def allowed_service() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.mark.parametrize("sandbox_mode", ["best", "bubblewrap"])
def test_a_bot_cannot_connect_to_interactive_kernels_or_the_server_but_to_allowed_ports(
    sandbox_mode: str,
    vault: Vault,
    uv_cache: Path,
    tmp_path: Path,
    interactive_kernel: KernelManager,
    jupyter_server_port: Listener,
    allowed_service: Listener,
) -> None:
    abi = landlock_abi_or_skip()
    if abi < 4:
        pytest.skip("Landlock has no TCP rules before ABI 4")
    if sandbox_mode == "bubblewrap":
        bubblewrap_or_skip()
    manager = BotManager(
        vault,
        uv_cache=uv_cache,
        sandbox_mode=sandbox_mode,
        connect_ports=[443, 80, allowed_service.port],
    )
    info = interactive_kernel.get_connection_info()
    targets = {
        "iopub": info["iopub_port"],
        "shell": info["shell_port"],
        "server": jupyter_server_port.port,
        "allowed": allowed_service.port,
    }
    nb = write_notebook(tmp_path / "probe.ipynb", f"TARGETS = {targets!r}", PROBE)
    try:
        manager.promote(PromoteBot(notebook=str(nb), name="Prober", start=True))
        wait_state(manager, "Prober", BotState.STOPPED, BotState.CRASHED)
        status = manager.describe("Prober").status
        expected_level = "bubblewrap" if sandbox_mode == "bubblewrap" else "landlock (ABI "
        assert (status.sandbox or "").startswith(expected_level)
        outcome = bot_outcomes(manager, "Prober")
    finally:
        for bot in manager.list():
            manager.stop(bot.id, timeout=10)
    assert outcome["iopub"] == "EACCES"
    assert outcome["shell"] == "EACCES"
    assert outcome["server"] == "EACCES"
    assert outcome["iopub_mptcp"] == "EPROTONOSUPPORT"
    assert not jupyter_server_port.received
    assert outcome["allowed"] == "connected", "the positive control: an allowed port is reached"
    wait_for(lambda: b"from-the-bot" in allowed_service.received, 10, "the allowed service")


def test_the_server_setting_reaches_every_promoted_bot(tmp_path: Path) -> None:
    app = WatchdogLab(home=str(tmp_path / "h"), bot_connect_ports=[443, 8443])
    assert app.bots.connect_ports == [443, 8443]
    assert WatchdogLab(home=str(tmp_path / "h")).bots.connect_ports == [443, 80]
    with pytest.raises(TraitError, match="not TCP ports"):
        WatchdogLab(home=str(tmp_path / "h"), bot_connect_ports=[443, 70000])
