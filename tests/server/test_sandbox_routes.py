"""``GET watchdog-lab/sandbox`` (watchdog_lab/server/sandbox_handlers.py): the sandbox levels the
running server's interactive kernels and bots get, as the sidebar shows them."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_server.serverapp import ServerApp
from traitlets.config import Config

from tests.server.conftest import server_config
from watchdog_lab.bots.confine import describe_level
from watchdog_lab.provisioning import describe_kernel_sandbox
from watchdog_lab.provisioning.setup import describe_server_kernels
from watchdog_lab.server.app import WatchdogLab


async def test_the_route_answers_the_level_the_servers_kernels_and_bots_get(
    api, jp_serverapp: ServerApp, watchdog_app: WatchdogLab
) -> None:
    answer = await api.get("sandbox")
    assert answer.code == 200
    body = answer.json
    assert body["kernels"] == describe_server_kernels(jp_serverapp, watchdog_app.kernel_sandbox)
    assert body["bots"] == describe_level(watchdog_app.sandbox)
    assert set(body) == {"kernels", "kernels_confined", "bots", "bots_confined"}


async def test_kernels_count_as_confined_exactly_when_the_machine_confines_them(api) -> None:
    body = (await api.get("sandbox")).json
    machine_confines = describe_kernel_sandbox("best").startswith("landlock")
    assert body["kernels_confined"] is machine_confines
    assert body["bots_confined"] is describe_level("best").startswith(("landlock", "bubblewrap"))


class TestTurnedOff:
    """``kernel_sandbox = 'none'`` and ``sandbox = 'none'``: the route says so, as unconfined."""

    @pytest.fixture
    def jp_server_config(self, watchdog_home: Path) -> Config:
        return server_config(watchdog_home, kernel_sandbox="none", sandbox="none")

    async def test_kernels_are_reported_off_and_unconfined(self, api) -> None:
        body = (await api.get("sandbox")).json
        assert body["kernels"].startswith("off")
        assert body["kernels_confined"] is False

    async def test_bots_are_reported_unsandboxed_and_unconfined(self, api) -> None:
        body = (await api.get("sandbox")).json
        assert body["bots"] == "unsandboxed"
        assert body["bots_confined"] is False
