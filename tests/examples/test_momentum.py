"""examples/momentum.ipynb: the ccxt-style strategy on its Kalshi adapter, researched with
papermill (a dry run on the simulator's public book), then live as a bot that keeps its price
history in ``wd.state`` between runs and buys when a counterparty lifts the market.
"""

from __future__ import annotations

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
    wait_until,
)

NOTEBOOK = EXAMPLES / "momentum.ipynb"
NAME = "momentum"
BOT_SECONDS = 120
LEVELS_LIFTED = 3


@dataclass
class Story:
    ticker: str
    research: Any = None
    research_error: Exception | None = None
    orders_after_research: list[dict[str, Any]] = field(default_factory=list)
    middle_before: float = 0.0
    middle_after: float = 0.0
    logs: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    position: int = 0


def middle(demo: Demo, ticker: str) -> float:
    book = demo.public(f"/markets/{ticker}/orderbook")["orderbook"]
    return (max(p for p, _ in book["yes"]) + 100 - max(p for p, _ in book["no"])) / 2


def lift_the_offers(demo: Demo, ticker: str) -> None:
    """Someone buys every YES offered at the three best prices and bids one more above."""
    book = demo.public(f"/markets/{ticker}/orderbook")["orderbook"]
    asks = sorted((100 - price, count) for price, count in book["no"])[:LEVELS_LIFTED]
    Trader.register(demo.sim_url).order(ticker, "buy", sum(c for _, c in asks) + 1, asks[-1][0])


def lines(logs: list[str]) -> list[str]:
    return "".join(logs).splitlines()


def bought(demo: Demo) -> list[str]:
    return [line for line in lines(demo.bot_logs(NAME)) if line.startswith("buy: ")]


@pytest.fixture(scope="module")
def story(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    s = Story(ticker=demo.first_market())
    out: Path = tmp_path_factory.mktemp("momentum") / "research.ipynb"
    params = {"sim_url": demo.sim_url, "symbol": s.ticker, "samples": 3, "pause": 0.1}
    s.research, s.research_error = run_papermill(NOTEBOOK, out, params)
    s.orders_after_research = demo.signed("GET", "/portfolio/orders")["orders"]

    demo.cli(
        "bots", "promote", str(NOTEBOOK), "--name", NAME, "--connection", CONNECTION,
        "--every", "1", "--param", f'sim_url="{demo.sim_url}"',
        "--param", f'symbol="{s.ticker}"', "--start",
        timeout=300,
    )  # fmt: skip
    wait_until(lambda: demo.bot_state(NAME).get("history"), BOT_SECONDS, "an observation")
    s.middle_before = middle(demo, s.ticker)
    lift_the_offers(demo, s.ticker)
    s.middle_after = middle(demo, s.ticker)
    wait_until(lambda: bought(demo), BOT_SECONDS, "the bot's buy")
    demo.cli("bots", "stop", NAME)
    s.logs = demo.bot_logs(NAME)
    s.state = demo.bot_state(NAME)
    positions = demo.signed("GET", "/portfolio/positions", {"ticker": s.ticker})
    s.position = sum(p["position"] for p in positions["market_positions"])
    yield s


def test_the_research_run_watches_the_book_and_places_no_order(story: Story) -> None:
    assert story.research_error is None
    text = cell_text(story.research, "mom-connection") + cell_text(story.research, "mom-strategy")
    assert "research (dry run)" in text
    assert "observation 3: middle " in text and "signal flat" in text
    assert story.orders_after_research == []


def test_the_bot_buys_once_the_market_moved_up_by_the_threshold(story: Story) -> None:
    assert story.middle_after - story.middle_before >= 2.0  # the notebook's threshold
    (line,) = [line for line in lines(story.logs) if line.startswith("buy: ")]
    assert line.startswith("buy: buy 1 at ") and line.endswith("executed")
    assert story.position == 1


def test_the_price_history_is_kept_in_wd_state_across_runs(story: Story) -> None:
    history = story.state["history"]
    assert story.middle_before in history and story.middle_after in history
    assert history.index(story.middle_before) < history.index(story.middle_after)
    assert story.state["symbol"] == story.ticker
