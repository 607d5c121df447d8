"""examples/market_maker.ipynb: research with papermill, then live as a bot on the simulator
that is stopped and started again, then has its kernel killed, and resumes from ``wd.state``.

One story per module, its steps in order: the research runs (papermill without a connection: a
dry run; then papermill in a kernel of a real Jupyter server that was granted the connection,
as from JupyterLab: real orders, cancelled when it ends), the promoted bot quoting with the
demo connection, a counterparty hitting its bid, a stop and a start, then a SIGKILL of its
kernel. Each test checks one thing the story left behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    CONNECTION,
    EXAMPLES,
    Demo,
    Trader,
    cell_text,
    run_papermill,
    start_lab_server,
    wait_until,
)

NOTEBOOK = EXAMPLES / "market_maker.ipynb"
NAME = "mm"
SIZE = 2
BOT_SECONDS = 120


@dataclass
class Snapshot:
    """The bot's saved state and the exchange's view of its account, at one moment."""

    state: dict[str, Any]
    orders: list[dict[str, Any]]
    position: int

    @property
    def resting(self) -> set[str]:
        return {o["order_id"] for o in self.orders if o["status"] == "resting"}


@dataclass
class Story:
    ticker: str
    research: Any = None
    research_error: Exception | None = None
    orders_after_research: list[dict[str, Any]] = field(default_factory=list)
    research_live: Any = None
    orders_after_live_research: list[dict[str, Any]] = field(default_factory=list)
    first_quotes: Snapshot | None = None
    before_restart: Snapshot | None = None
    after_restart: Snapshot | None = None
    after_kill: Snapshot | None = None
    restarts: int = 0


def snapshot(demo: Demo, ticker: str) -> Snapshot:
    orders = demo.signed("GET", "/portfolio/orders", {"ticker": ticker})["orders"]
    positions = demo.signed("GET", "/portfolio/positions", {"ticker": ticker})
    position = sum(p["position"] for p in positions["market_positions"])
    return Snapshot(demo.bot_state(NAME), orders, position)


def passes(demo: Demo) -> int:
    return int(demo.bot_state(NAME).get("passes", 0))


@pytest.fixture(scope="module")
def story(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    s = Story(ticker=demo.first_market())
    out: Path = tmp_path_factory.mktemp("mm") / "research.ipynb"
    params = {"sim_url": demo.sim_url, "ticker": s.ticker, "passes": 2, "pause": 0.1}
    s.research, s.research_error = run_papermill(NOTEBOOK, out, params)
    s.orders_after_research = demo.signed("GET", "/portfolio/orders")["orders"]
    lab = start_lab_server(demo, out.parent)
    try:
        kernel = lab.granted_kernel(CONNECTION, demo.password)
        s.research_live = lab.papermill(kernel, NOTEBOOK, out.parent / "live.ipynb", params)
    finally:
        lab.stop()
    s.orders_after_live_research = demo.signed("GET", "/portfolio/orders")["orders"]

    demo.cli(
        "bots", "promote", str(NOTEBOOK), "--name", NAME, "--connection", CONNECTION,
        "--continuous", "--param", "passes=0", "--param", "pause=0.2",
        "--param", f'sim_url="{demo.sim_url}"', "--param", f'ticker="{s.ticker}"',
        "--param", f"size={SIZE}", "--start",
        timeout=300,
    )  # fmt: skip
    wait_until(lambda: len(demo.bot_state(NAME).get("orders", {})) == 2, BOT_SECONDS, "quotes")
    s.first_quotes = snapshot(demo, s.ticker)

    # Someone sells YES into the bot's bid: the whole price level, so the bot's part fills too.
    bid = s.first_quotes.state["orders"]["bid"]["price"]
    book = demo.public(f"/markets/{s.ticker}/orderbook")["orderbook"]
    level = dict(map(tuple, book["yes"]))[bid]
    Trader.register(demo.sim_url).order(s.ticker, "sell", level, bid)
    wait_until(lambda: demo.bot_state(NAME).get("inventory") == SIZE, BOT_SECONDS, "the fill")
    settled = passes(demo) + 2  # two more passes: the bot has re-quoted and is steady
    wait_until(lambda: passes(demo) >= settled, BOT_SECONDS, "steady quotes")

    demo.cli("bots", "stop", NAME)
    s.before_restart = snapshot(demo, s.ticker)
    demo.cli("bots", "start", NAME)
    resumed = s.before_restart.state["passes"] + 2
    wait_until(lambda: passes(demo) >= resumed, BOT_SECONDS, "passes after the restart")
    s.after_restart = snapshot(demo, s.ticker)

    # Then a crash: the kernel killed mid-loop; the runner starts a new one on the same state.
    kernel = demo.bot(NAME).status.kernel_pid
    assert kernel is not None
    os.kill(kernel, signal.SIGKILL)
    wait_until(lambda: demo.bot(NAME).status.restarts >= 1, BOT_SECONDS, "the runner's restart")
    revived = passes(demo) + 2
    wait_until(lambda: passes(demo) >= revived, BOT_SECONDS, "passes after the kill")
    demo.cli("bots", "stop", NAME)
    s.after_kill = snapshot(demo, s.ticker)
    s.restarts = demo.bot(NAME).status.restarts
    yield s


def test_the_research_run_prints_its_quotes_and_places_no_order(story: Story) -> None:
    assert story.research_error is None
    text = cell_text(story.research, "mm-client") + cell_text(story.research, "mm-run")
    assert "research (dry run)" in text
    assert text.count("would quote {'bid': ") == 2, text
    assert story.orders_after_research == []


def test_a_research_run_in_a_granted_kernel_quotes_then_takes_its_quotes_down(
    story: Story,
) -> None:
    text = "".join(cell_text(story.research_live, c) for c in ("mm-client", "mm-cleanup"))
    assert f"live, as {CONNECTION}" in text
    assert "cancelled 2 quote(s)" in text
    orders = story.orders_after_live_research
    assert len(orders) == 2 and {o["status"] for o in orders} == {"canceled"}


def test_the_bot_quotes_each_side_once_and_saves_the_order_ids(story: Story) -> None:
    first = story.first_quotes
    assert first is not None
    saved = {known["id"] for known in first.state["orders"].values()}
    researched = len(story.orders_after_live_research)
    assert len(first.orders) == researched + 2 and first.resting == saved
    bid, ask = first.state["orders"]["bid"]["price"], first.state["orders"]["ask"]["price"]
    assert bid < ask


def test_a_fill_is_counted_once_into_the_saved_inventory(story: Story) -> None:
    before = story.before_restart
    assert before is not None
    assert before.state["inventory"] == before.position == SIZE
    assert before.state["last_fill_id"]


def test_after_a_restart_the_bot_keeps_its_orders_and_places_no_duplicate(story: Story) -> None:
    before, after = story.before_restart, story.after_restart
    assert before is not None and after is not None
    assert after.state["orders"] == before.state["orders"]
    assert after.resting == before.resting and len(after.resting) == 2
    assert len(after.orders) == len(before.orders)  # not one order sent since the restart


def test_after_a_restart_the_inventory_and_last_fill_are_the_saved_ones(story: Story) -> None:
    before, after = story.before_restart, story.after_restart
    assert before is not None and after is not None
    assert after.state["inventory"] == before.state["inventory"] == after.position
    assert after.state["last_fill_id"] == before.state["last_fill_id"]
    assert after.state["passes"] >= before.state["passes"] + 2


def test_after_its_kernel_is_killed_the_bot_resumes_without_a_new_order(story: Story) -> None:
    before, after = story.before_restart, story.after_kill
    assert before is not None and after is not None
    assert story.restarts >= 1
    assert after.state["orders"] == before.state["orders"]
    assert len(after.orders) == len(before.orders) and after.resting == before.resting
    assert after.state["inventory"] == before.state["inventory"] == after.position
