"""The panel's Bots and Logs tabs in a real kernel: promote this notebook into a real bot (its
uv venv built from the shared cache), then watch its log tail while the kernel runs cells."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from tests.server import conftest as server_fixtures
from tests.server.botapi import LOOP_FOREVER
from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.support import write_notebook

from .test_panel import WidgetFront

pytestmark = pytest.mark.usefixtures("stop_bots")

# The bots' test server fixtures (bound by assignment, so that pytest finds them here).
bot_uv_cache = server_fixtures.bot_uv_cache
bots_server_config = server_fixtures.bots_server_config
stop_bots = server_fixtures.stop_bots

#: A promote builds a venv: longer than a widget round trip.
PROMOTE_SECONDS = 180.0


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


async def panel_on_notebook(kernels: Any, jp_root_dir: Path, *sources: str) -> WidgetFront:
    write_notebook(jp_root_dir / NOTEBOOK, *sources)
    kernel = await kernels.start(NOTEBOOK)
    front = WidgetFront(kernel)
    await front.show_panel()
    return front


async def test_promote_saves_first_then_shows_the_verdicts_then_the_steps(
    kernels, kalshi, jp_root_dir: Path
) -> None:
    front = await panel_on_notebook(kernels, jp_root_dir, LOOP_FOREVER)
    front.bridge = lambda request: {"ok": True}
    front.click("promote-open")
    await front.until(lambda: "Saved" in front.value("promote-saved"))
    assert [r["action"] for r in front.bridge_requests] == ["save"]
    await front.until(lambda: "Every dependency is approved" in front.value("promote-verdicts"))
    assert front.value("promote-name") == "strategy"
    front.type("promote-name", "Ticker")
    front.click("promote-go")
    await front.until(lambda: "is promoted" in front.value("promote-status"), PROMOTE_SECONDS)
    steps = front.value("promote-progress")
    for step in ("reading notebook", "checking dependencies", "promoted"):
        assert f"<li>{step}" in steps
    await front.until(lambda: "Ticker" in front.value("bots-table"))


async def test_promote_without_the_lab_extension_says_the_last_saved_version_goes(
    kernels, kalshi, jp_root_dir: Path
) -> None:
    front = await panel_on_notebook(kernels, jp_root_dir, "print('hello')")
    front.click("promote-open")
    await front.until(lambda: "last saved version" in front.value("promote-saved"))
    await front.until(lambda: "Every dependency is approved" in front.value("promote-verdicts"))


async def test_the_log_tail_follows_a_bot_while_a_cell_runs(
    kernels, kalshi, jp_root_dir: Path
) -> None:
    front = await panel_on_notebook(kernels, jp_root_dir, LOOP_FOREVER)
    front.click("promote-open")
    await front.until(lambda: "approved" in front.value("promote-verdicts"))
    front.type("promote-name", "Ticker")
    front.click("promote-go")
    await front.until(lambda: "is promoted" in front.value("promote-status"), PROMOTE_SECONDS)
    front.click("logs-refresh")
    await front.until(lambda: front.selected("logs-bot") == "Ticker")
    await front.until(lambda: "tick 3" in front.value("logs-view"), 60)
    # A long cell runs; the tail keeps moving, from its own thread.
    msg = front.client.session.msg(
        "execute_request",
        {
            "code": "import time; time.sleep(4)",
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    )
    front.client.shell_channel.send(msg)
    await front.until(lambda: "waits until it finishes" in front.value("busy"))
    before = front.value("logs-view")
    await front.until(lambda: front.value("logs-view") != before, 3)
    assert "waits until it finishes" in front.value("busy")  # the cell still runs


async def promoted(front: WidgetFront, name: str = "Ticker") -> None:
    """Promote the kernel's notebook from the Bots tab and wait until it is done."""
    front.click("promote-open")
    await front.until(lambda: "approved" in front.value("promote-verdicts"))
    front.type("promote-name", name)
    front.click("promote-go")
    await front.until(lambda: "is promoted" in front.value("promote-status"), PROMOTE_SECONDS)


async def test_the_text_filter_and_pause_hold_the_log_view(
    kernels, kalshi, jp_root_dir: Path
) -> None:
    front = await panel_on_notebook(kernels, jp_root_dir, LOOP_FOREVER)
    await promoted(front)
    front.click("logs-refresh")
    await front.until(lambda: "tick 12" in front.value("logs-view"), 60)
    front.type("logs-filter", "tick 1")
    await front.until(lambda: all(" tick 1" in line for line in _lines(front.value("logs-view"))))
    assert _lines(front.value("logs-view"))
    front.type("logs-follow", False)
    await front.pump(0.5)
    paused = front.value("logs-view")
    await front.pump(1.5)  # the bot prints ten lines a second
    assert front.value("logs-view") == paused
    front.type("logs-follow", True)
    await front.until(lambda: front.value("logs-view") != paused)


async def test_stop_from_the_bots_tab_stops_the_bot(kernels, kalshi, jp_root_dir: Path) -> None:
    front = await panel_on_notebook(kernels, jp_root_dir, LOOP_FOREVER)
    await promoted(front)
    front.send_comm(front.find("tabs"), _update(selected_index=2))
    await front.until(lambda: "running" in front.value("bots-table"), 60)
    front.click("bot-stop")
    await front.until(lambda: "stopped" in front.value("bots-table"), 60)
    bot = await front.kernel.broker("bot('Ticker')")
    assert bot["state"] == "stopped"


def _update(**state: Any) -> dict[str, Any]:
    return {"method": "update", "state": state, "buffer_paths": []}


def _lines(html: str) -> list[str]:
    return re.findall(r"<div data-seq='\d+'[^>]*>([^<]*)</div>", html)
