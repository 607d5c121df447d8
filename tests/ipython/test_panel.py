"""``wd.panel()`` in real kernels of a real test server, driven through widget comm messages.

:class:`WidgetFront` plays the part of JupyterLab's widget manager: it reads the kernel's
``comm_open`` and ``comm_msg`` messages on IOPub into model states, and types and clicks by
sending ``update`` and ``custom`` comm messages on the shell channel, as the browser does.
Controls are found by their DOM class (``wd-panel-*``), as the browser tests find them.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.server.kernels import GRANT_SECRET_DIGEST as SECRET_DIGEST

WIDGET_TARGET = "jupyter.widget"
BRIDGE_TARGET = "watchdog-lab"
WAIT_SECONDS = 30.0


class WidgetFront:
    """The widget models of one kernel, as a front end sees them, and a way to act on them."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.client = kernel.client
        self.models: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        #: Comms the kernel opened to the bridge target, and what it sent on them.
        self.bridge_comms: list[str] = []
        self.bridge_requests: list[dict[str, Any]] = []
        #: Answers this front end gives bridge requests: None (say nothing) or a callable.
        self.bridge: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.payloads: list[dict[str, Any]] = []

    def apply(self, msg: dict[str, Any]) -> None:
        self.messages.append(msg)
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == WIDGET_TARGET:
            self.models[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_open" and content.get("target_name") == BRIDGE_TARGET:
            self.bridge_comms.append(content["comm_id"])
        elif kind == "comm_msg" and content["comm_id"] in self.models:
            data = content["data"]
            if data.get("method") in ("update", "echo_update"):
                self.models[content["comm_id"]].update(data.get("state", {}))
        elif kind == "comm_msg" and content["comm_id"] in self.bridge_comms:
            request = content["data"]
            self.bridge_requests.append(request)
            if self.bridge is not None:
                self.send_comm(content["comm_id"], {"id": request["id"], **self.bridge(request)})

    async def pump(self, seconds: float = 0.2) -> None:
        """Read IOPub for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.client.get_iopub_msg(timeout=left)
            except (queue.Empty, asyncio.TimeoutError):
                return
            self.apply(msg)

    async def until(self, check: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
        """Read IOPub until ``check()`` is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            await self.pump(0.1)
        raise AssertionError(f"not seen within {timeout}s: {check}")

    async def show_panel(
        self, code: str = "import watchdog_lab as wd\npanel = wd.panel()\npanel"
    ) -> Any:
        out = (await self.kernel.run(code)).check()
        for msg in out.messages:
            self.apply(msg)
        await self.pump(0.5)
        return out

    def find(self, name: str) -> str:
        """The model id of the control with DOM class ``wd-panel-<name>``."""
        found = [
            comm_id
            for comm_id, state in self.models.items()
            if f"wd-panel-{name}" in (state.get("_dom_classes") or [])
        ]
        assert len(found) == 1, f"{len(found)} controls named {name}"
        return found[0]

    def state(self, name: str) -> dict[str, Any]:
        return self.models[self.find(name)]

    def value(self, name: str) -> Any:
        return self.state(name).get("value")

    def selected(self, name: str) -> str | None:
        """A Dropdown's chosen label (Dropdowns sync an index into their labels)."""
        state = self.state(name)
        index = state.get("index")
        return None if index is None else str(state["_options_labels"][index])

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def type(self, name: str, value: Any) -> None:
        """What a front end sends when an input's value changes."""
        comm_id = self.find(name)
        self.models[comm_id]["value"] = value
        self.send_comm(comm_id, {"method": "update", "state": {"value": value}, "buffer_paths": []})

    def click(self, name: str) -> None:
        self.send_comm(self.find(name), {"method": "custom", "content": {"event": "click"}})

    def everything(self) -> str:
        """Every widget and bridge message: what the panel showed or could be saved with."""
        comms = [m for m in self.messages if m["header"]["msg_type"].startswith("comm_")]
        return json.dumps(comms, default=str)


async def panel_for(kernels: Any) -> WidgetFront:
    kernel = await kernels.start(NOTEBOOK)
    front = WidgetFront(kernel)
    await front.show_panel()
    return front


async def test_the_panel_has_the_five_tabs(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    tabs = front.state("tabs")
    assert tabs["titles"] == ["Vault", "Connections", "Bots", "Logs", "AI Fix"]


async def test_a_typed_password_leaves_the_widget_as_soon_as_the_kernel_has_it(
    kernels, kalshi
) -> None:
    front = await panel_for(kernels)
    front.type("connections-password", PASSWORD)
    await front.until(lambda: front.value("connections-password") == "")
    assert "kept until used" in front.state("connections-password")["placeholder"]
    # Not echoed back to the front ends either.
    echoes = [
        m for m in front.messages if m["content"].get("data", {}).get("method") == "echo_update"
    ]
    assert PASSWORD not in json.dumps(echoes)


async def test_grant_to_this_kernel_takes_the_password_and_grants(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    await front.until(lambda: front.state("connection-pick").get("_options_labels"))
    assert front.state("connection-pick")["_options_labels"] == ["Kalshi"]
    front.type("connections-password", PASSWORD)
    front.click("grant")
    await front.until(lambda: "is granted" in front.value("connections-status"))
    assert (await front.kernel.lookup("Kalshi"))["digest"] == SECRET_DIGEST
    assert front.value("connections-password") == ""


async def test_grant_with_a_wrong_password_shows_the_refusal(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    await front.until(lambda: front.state("connection-pick").get("_options_labels"))
    front.type("connections-password", "not the password")
    front.click("grant")
    await front.until(lambda: "Wrong vault password" in front.value("connections-status"))
    assert not (await front.kernel.lookup("Kalshi"))["ok"]


async def test_grant_without_a_password_asks_for_it_and_sends_nothing(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    await front.until(lambda: front.state("connection-pick").get("_options_labels"))
    front.click("grant")
    await front.until(lambda: "type the vault password" in front.value("connections-status"))
    assert not (await front.kernel.lookup("Kalshi"))["ok"]


async def test_unlock_takes_the_password_and_the_state_follows(
    kernels, kalshi, watchdog_app
) -> None:
    watchdog_app.vault.lock()
    front = await panel_for(kernels)
    await front.until(lambda: "the vault is locked" in front.value("vault-state"))
    front.type("vault-password", PASSWORD)
    front.click("unlock")
    await front.until(lambda: "the vault is unlocked" in front.value("vault-state"))
    assert watchdog_app.vault.state.value == "unlocked"
    assert front.value("vault-password") == ""


async def test_a_wrong_unlock_password_is_refused_in_the_status_line(
    kernels, kalshi, watchdog_app
) -> None:
    watchdog_app.vault.lock()
    front = await panel_for(kernels)
    front.type("vault-password", "not the password")
    front.click("unlock")
    await front.until(lambda: "wrong" in front.value("vault-status").lower())
    assert watchdog_app.vault.state.value == "locked"


async def test_lock_locks_the_vault(kernels, kalshi, watchdog_app) -> None:
    front = await panel_for(kernels)
    front.click("lock")
    await front.until(lambda: "the vault is locked" in front.value("vault-state"))
    assert watchdog_app.vault.state.value == "locked"


async def test_add_connection_builds_the_form_from_the_kind_and_clears_the_secret(
    kernels, kalshi, watchdog_app
) -> None:
    secret = "sk-ant-api03-PanelAdd" + "Xy7" * 10
    front = await panel_for(kernels)
    await front.until(lambda: "anthropic" in (front.state("new-kind").get("_options_labels") or []))
    front.type("new-name", "claude")
    front.send_comm(front.find("new-kind"), _select(front, "new-kind", "anthropic"))
    await front.until(lambda: _has(front, "field-api_key"))
    front.type("field-api_key", secret)
    front.type("add-password", PASSWORD)
    front.click("add")
    await front.until(lambda: "claude is added" in front.value("connections-status"))
    assert front.value("field-api_key") == ""
    names = [c.name for c in watchdog_app.vault.list_connections()]
    assert "claude" in names
    await front.until(lambda: "claude" in front.value("connections-list"))
    assert secret not in front.everything()


async def test_a_click_while_a_cell_runs_is_announced_as_waiting(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    assert front.value("busy") == ""
    msg = front.client.session.msg(
        "execute_request",
        {
            "code": "import time; time.sleep(3)",
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    )
    front.client.shell_channel.send(msg)
    await front.until(lambda: "waits until it finishes" in front.value("busy"))
    front.click("lock")
    await front.pump(1.0)
    assert "the vault is locked" not in front.value("vault-state")  # queued behind the cell
    await front.until(lambda: front.value("busy") == "")
    await front.until(lambda: "the vault is locked" in front.value("vault-state"))


def _has(front: WidgetFront, name: str) -> bool:
    return any(f"wd-panel-{name}" in (s.get("_dom_classes") or []) for s in front.models.values())


def _select(front: WidgetFront, name: str, label: str) -> dict[str, Any]:
    """A Dropdown's change as a front end sends it: the index of the label."""
    index = front.state(name)["_options_labels"].index(label)
    return {"method": "update", "state": {"index": index}, "buffer_paths": []}


async def test_a_new_panel_stops_the_old_ones_polling(kernels, kalshi) -> None:
    front = await panel_for(kernels)
    polling = (
        "sum(t.name == 'wd-panel-poll' and t.is_alive() "
        "for t in __import__('threading').enumerate())"
    )
    once = await front.kernel.value(polling)
    assert once > 0
    await front.show_panel()
    await front.show_panel()
    await asyncio.sleep(2.5)  # the old threads end at their next tick
    assert await front.kernel.value(polling) == once


def test_in_a_bot_the_panel_is_a_no_op_that_needs_no_ipywidgets(tmp_path: Path) -> None:
    blocker = tmp_path / "ipywidgets.py"
    blocker.write_text("raise ImportError('a bot venv has no ipywidgets')\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()]),
        "WATCHDOG_LAB_BOT_ID": "bot-1",
        "WATCHDOG_LAB_BOT_DIR": str(tmp_path),
    }
    code = "import watchdog_lab as wd; print(repr(wd.panel()))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
