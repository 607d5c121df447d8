"""A kernel opened on a bot's kernelspec (as JupyterLab's launcher opens it) is confined as
the bot: the ``watchdog-lab-bot`` provisioner the spec names applies the bot's own sandbox plan.

The bots are real (promoted by a real :class:`BotManager`, with a uv venv), and the kernel is
started by jupyter_client on TCP, as the Jupyter server starts kernels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from tests.bots.conftest import PASSWORD
from tests.bots.sandboxing import bubblewrap_or_skip, landlock_abi_or_skip
from tests.support import write_notebook
from watchdog_lab.bots.kernelspec import kernel_dirs
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import KdfParams, Vault

TIMEOUT = 60


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(params=["best", "bubblewrap"])
def sandbox_mode(request: pytest.FixtureRequest) -> str:
    """The bots' sandbox setting: Landlock here, or bubblewrap where a bot asks for it."""
    if request.param == "bubblewrap":
        bubblewrap_or_skip()
    else:
        landlock_abi_or_skip()
    return str(request.param)


@pytest.fixture
def manager(tmp_path: Path, uv_cache: Path, sandbox_mode: str) -> Iterator[BotManager]:
    with Vault(tmp_path / "h", kdf=KdfParams(1, 8192, 1)) as vault:
        vault.create(PASSWORD)
        yield BotManager(vault, uv_cache=uv_cache, sandbox_mode=sandbox_mode)


@pytest.fixture
def bot(manager: BotManager, tmp_path: Path) -> BotPaths:
    notebook = write_notebook(tmp_path / "strategy.ipynb", "print('tick')")
    promoted = manager.promote(PromoteBot(notebook=str(notebook), name="Momentum"))
    return BotPaths(manager.home, promoted.id)


def run(client: Any, code: str) -> Any:
    """The JSON value ``code`` prints last, run in the kernel."""
    printed: list[str] = []

    def collect(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(json.dumps({"error": msg["content"]["ename"]}))

    client.execute_interactive(code, output_hook=collect, timeout=TIMEOUT)
    return json.loads("".join(printed).strip().splitlines()[-1])


PROBE = """
import json, os
def attempt(action):
    try:
        value = action()
    except OSError as exc:
        return type(exc).__name__
    return "allowed" if value is None else value
def write(path):
    with open(path, "w") as handle:
        handle.write("x")
print(json.dumps({{
    "vault": attempt(lambda: open({vault!r}, "rb").close()),
    "home": attempt(lambda: sorted(os.listdir({home!r}))),
    "venv": attempt(lambda: write({venv!r} + "/planted.py")),
    "state": attempt(lambda: write("positions.json")),
    "cwd": os.getcwd(),
}}))
"""


def test_a_kernel_on_a_bots_kernelspec_is_confined_as_the_bot(
    bot: BotPaths, tmp_path: Path
) -> None:
    config = json.loads(bot.config_file.read_text())
    km = KernelManager(
        kernel_name=config["kernel_name"],
        kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs(bot.home)),
    )
    assert km.transport == "tcp"
    km.start_kernel(cwd=str(tmp_path))  # as the server starts it, in the notebook's folder
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT)
        seen = run(
            client,
            PROBE.format(
                vault=str(bot.home / "vault.db"),
                home=str(bot.home),
                venv=str(bot.venv / "lib"),
            ),
        )
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    assert seen["vault"] in ("FileNotFoundError", "PermissionError")
    assert "vault.db" not in seen["home"]
    assert seen["venv"] in ("PermissionError", "OSError")
    assert seen["state"] == "allowed" and Path(seen["cwd"]) == bot.state
    assert (bot.state / "positions.json").read_text() == "x"
    assert not (bot.venv / "lib" / "planted.py").exists()
