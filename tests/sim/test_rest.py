"""The simulator's REST routes, driven by real connections signing real HTTP requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from watchdog_lab.kinds.kalshi import generate_key
from watchdog_lab.sdk import ConnectionConfigError
from watchdog_lab.sim.app import RunningSimulator, Simulator
from watchdog_lab.sim.book import DEFAULT_BALANCE_CENTS

from .conftest import Trader, http_call

Make = Callable[..., Trader]


def first_market(trader: Trader) -> dict[str, Any]:
    return trader.ok("GET", "/markets")["markets"][0]  # type: ignore[no-any-return]


def book(trader: Trader, ticker: str) -> dict[str, dict[int, int]]:
    levels = trader.ok("GET", f"/markets/{ticker}/orderbook")["orderbook"]
    return {side: {price: qty for price, qty in levels[side]} for side in ("yes", "no")}


def test_two_simulators_with_the_same_seed_list_the_same_markets_and_books() -> None:
    runs = []
    for seed in (11, 11, 12):
        running = RunningSimulator(Simulator(seed=seed))
        try:
            status, markets = http_call(f"{running.url}/trade-api/v2/markets", "GET")
            ticker = markets["markets"][0]["ticker"]
            _, orderbook = http_call(
                f"{running.url}/trade-api/v2/markets/{ticker}/orderbook", "GET"
            )
            runs.append((markets, orderbook))
        finally:
            running.stop()
    assert status == 200
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_buying_across_the_spread_fills_at_the_ask_and_moves_balance_and_position(
    trader: Make,
) -> None:
    alice = trader(0)
    market = first_market(alice)
    ticker, ask = market["ticker"], market["yes_ask"]
    before = book(alice, ticker)["no"][100 - ask]

    placed = alice.ok(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 3, "yes_price": ask + 5},
    )["order"]

    assert placed["status"] == "executed" and placed["fill_count"] == 3
    assert alice.ok("GET", "/portfolio/balance")["balance"] == DEFAULT_BALANCE_CENTS - 3 * ask
    [position] = alice.ok("GET", "/portfolio/positions")["market_positions"]
    assert (position["ticker"], position["position"]) == (ticker, 3)
    [fill] = alice.ok("GET", "/portfolio/fills")["fills"]
    assert (fill["yes_price"], fill["count"], fill["is_taker"]) == (ask, 3, True)
    assert book(alice, ticker)["no"].get(100 - ask, 0) == before - 3


def test_a_resting_order_fills_when_another_account_crosses_it(trader: Make) -> None:
    alice, bob = trader(0), trader(1)
    market = first_market(alice)
    ticker, price = market["ticker"], market["yes_bid"] + 1  # inside the spread: rests
    assert price < market["yes_ask"]
    resting = alice.ok(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 4, "yes_price": price},
    )["order"]
    assert resting["status"] == "resting"
    assert book(alice, ticker)["yes"][price] == 4

    bob.ok(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": "sell", "count": 4, "yes_price": price},
    )

    assert alice.ok("GET", f"/portfolio/orders/{resting['order_id']}")["order"]["status"] == (
        "executed"
    )
    [alice_fill], [bob_fill] = (t.ok("GET", "/portfolio/fills")["fills"] for t in (alice, bob))
    assert (alice_fill["is_taker"], bob_fill["is_taker"]) == (False, True)
    assert alice_fill["yes_price"] == bob_fill["yes_price"] == price
    positions = [t.ok("GET", "/portfolio/positions")["market_positions"][0] for t in (alice, bob)]
    assert [p["position"] for p in positions] == [4, -4]
    balances = [t.ok("GET", "/portfolio/balance")["balance"] for t in (alice, bob)]
    assert balances == [
        DEFAULT_BALANCE_CENTS - 4 * price,
        DEFAULT_BALANCE_CENTS - 4 * (100 - price),
    ]


def test_selling_what_an_account_holds_pays_the_bid_back(trader: Make) -> None:
    alice = trader(0)
    market = first_market(alice)
    ticker, ask, bid = market["ticker"], market["yes_ask"], market["yes_bid"]
    order = {"ticker": ticker, "side": "yes", "count": 2}
    alice.ok("POST", "/portfolio/orders", {**order, "action": "buy", "yes_price": ask})
    alice.ok("POST", "/portfolio/orders", {**order, "action": "sell", "yes_price": bid})
    assert alice.ok("GET", "/portfolio/balance")["balance"] == (
        DEFAULT_BALANCE_CENTS - 2 * ask + 2 * bid
    )
    assert alice.ok("GET", "/portfolio/positions")["market_positions"][0]["position"] == 0


def test_cancelling_a_resting_order_takes_it_off_the_book(trader: Make) -> None:
    alice = trader(0)
    market = first_market(alice)
    ticker, price = market["ticker"], market["yes_bid"] + 1
    order = alice.ok(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 6, "yes_price": price},
    )["order"]
    cancelled = alice.ok("DELETE", f"/portfolio/orders/{order['order_id']}")
    assert cancelled["reduced_by"] == 6 and cancelled["order"]["status"] == "canceled"
    assert price not in book(alice, ticker)["yes"]
    assert alice.ok("GET", "/portfolio/orders?status=resting")["orders"] == []


def test_an_order_beyond_the_balance_is_refused_in_kalshis_shape(trader: Make) -> None:
    alice = trader(0)
    ticker = first_market(alice)["ticker"]
    status, body = alice.call(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 100_000, "yes_price": 50},
    )
    assert status == 409
    assert body["error"]["code"] == "insufficient_balance"


def assert_refused(status: int, body: Any, words: str) -> None:
    assert status == 401
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert words in body["error"]["message"]


def test_a_signature_for_another_request_is_refused_with_kalshis_401(trader: Make) -> None:
    alice = trader(0)
    borrowed = alice.conn.sign_request("GET", "/portfolio/fills")
    status, body = alice.call("GET", "/portfolio/balance", sign=False, **borrowed)
    assert_refused(status, body, "signature does not verify")
    with pytest.raises(ConnectionConfigError, match="for the demo environment"):
        alice.conn.check_response(status, body)


def test_a_stale_timestamp_is_refused_even_with_a_valid_signature(trader: Make) -> None:
    alice = trader(0)
    stale = int(time.time() * 1000) - 60_000
    headers = alice.conn.sign_request("GET", "/portfolio/balance", timestamp_ms=stale)
    status, body = alice.call("GET", "/portfolio/balance", sign=False, **headers)
    assert_refused(status, body, "from the server's clock")


def test_a_key_the_simulator_was_never_given_is_refused(trader: Make) -> None:
    alice = trader(0)
    headers = alice.conn.sign_request("GET", "/portfolio/balance")
    headers["KALSHI-ACCESS-KEY"] = "00000000-0000-4000-8000-000000000000"
    status, body = alice.call("GET", "/portfolio/balance", sign=False, **headers)
    assert_refused(status, body, "unknown API key id")


def test_portfolio_routes_need_a_signature(trader: Make) -> None:
    status, body = trader(0).call("GET", "/portfolio/positions", sign=False)
    assert_refused(status, body, "missing KALSHI-ACCESS-KEY")


def test_a_private_key_posted_as_a_public_key_is_refused(sim: RunningSimulator) -> None:
    status, body = http_call(
        f"{sim.url}/trade-api/v2/api_keys",
        "POST",
        {"name": "oops", "public_key": generate_key().private_pem},
    )
    assert status == 400 and "give only the public half" in body["error"]["message"]


def test_the_same_seed_gives_the_same_key_id_to_the_same_key_file() -> None:
    public_pem = generate_key().public_pem
    ids = [Simulator(seed=3).keys.register(public_pem) for _ in range(2)]
    assert ids[0] == ids[1]
    assert Simulator(seed=4).keys.register(public_pem) != ids[0]
