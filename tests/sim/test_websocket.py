"""The simulator's WebSocket: a signed handshake, order-book snapshots and deltas, fills.

The client is tornado's own ``websocket_connect`` with the headers of ``conn.sign_ws()``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from .conftest import Trader

Make = Callable[..., Trader]
WAIT_SECONDS = 15  # only reached when a message never comes


async def connect(
    trader: Trader, headers: dict[str, str] | None = None
) -> WebSocketClientConnection:
    url = trader.conn.api_endpoint(host=trader.base_url.rsplit("/trade-api", 1)[0]).ws_url
    return await websocket_connect(HTTPRequest(url, headers=headers or trader.conn.sign_ws()))


async def receive(ws: WebSocketClientConnection) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.read_message(), WAIT_SECONDS)
    assert message is not None, "the simulator closed the socket"
    return json.loads(message)  # type: ignore[no-any-return]


async def receive_type(ws: WebSocketClientConnection, kind: str) -> dict[str, Any]:
    while (message := await receive(ws))["type"] != kind:
        pass
    return message


def place(trader: Trader, ticker: str, action: str, price: int, count: int) -> None:
    trader.ok(
        "POST",
        "/portfolio/orders",
        {"ticker": ticker, "side": "yes", "action": action, "count": count, "yes_price": price},
    )


def test_a_subscription_gets_the_book_then_its_changes_and_its_own_fills(trader: Make) -> None:
    alice = trader(0)
    market = alice.ok("GET", "/markets")["markets"][0]
    ticker, ask = market["ticker"], market["yes_ask"]
    rest_book = alice.ok("GET", f"/markets/{ticker}/orderbook")["orderbook"]

    async def scenario() -> tuple[dict[str, Any], ...]:
        ws = await connect(alice)
        ws.write_message(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta", "fill"], "market_tickers": [ticker]},
                }
            )
        )
        subscribed = await receive(ws)
        snapshot = await receive_type(ws, "orderbook_snapshot")
        await receive_type(ws, "subscribed")  # the fill channel's
        await asyncio.get_running_loop().run_in_executor(None, place, alice, ticker, "buy", ask, 2)
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 2:  # the two channels are independent: either may come first
            message = await receive(ws)
            seen[message["type"]] = message
        ws.close()
        delta, fill = seen["orderbook_delta"], seen["fill"]
        return subscribed, snapshot, delta, fill

    subscribed, snapshot, delta, fill = asyncio.run(scenario())
    assert subscribed["id"] == 1 and subscribed["msg"]["channel"] == "orderbook_delta"
    assert snapshot["msg"] == {"market_ticker": ticker, **rest_book}
    assert delta["msg"] == {"market_ticker": ticker, "price": 100 - ask, "delta": -2, "side": "no"}
    assert delta["seq"] == snapshot["seq"] + 1
    assert fill["msg"]["market_ticker"] == ticker
    assert (fill["msg"]["count"], fill["msg"]["yes_price"], fill["msg"]["is_taker"]) == (
        2,
        ask,
        True,
    )


def test_another_accounts_fills_are_not_sent(trader: Make) -> None:
    alice, bob = trader(0), trader(1)
    market = alice.ok("GET", "/markets")["markets"][0]
    ticker, ask = market["ticker"], market["yes_ask"]

    async def scenario() -> list[str]:
        ws = await connect(alice)
        ws.write_message(
            json.dumps({"id": 3, "cmd": "subscribe", "params": {"channels": ["fill"]}})
        )
        await receive_type(ws, "subscribed")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, place, bob, ticker, "buy", ask, 1)
        await loop.run_in_executor(None, place, alice, ticker, "buy", ask, 1)
        first = await receive_type(ws, "fill")
        ws.close()
        return [first["msg"]["order_id"]]

    [order_id] = asyncio.run(scenario())
    alice_orders = {o["order_id"] for o in alice.ok("GET", "/portfolio/orders")["orders"]}
    assert order_id in alice_orders


def test_a_handshake_with_a_stale_or_foreign_signature_is_refused(trader: Make) -> None:
    alice = trader(0)
    wrong_path = alice.conn.sign_request("GET", "/trade-api/v2/portfolio/balance")

    async def attempt() -> int:
        try:
            await connect(alice, headers=wrong_path)
        except HTTPClientError as exc:
            return exc.code
        return 101

    assert asyncio.run(attempt()) == 401


def test_an_unknown_channel_is_an_error_message_not_a_dropped_socket(trader: Make) -> None:
    alice = trader(0)

    async def scenario() -> dict[str, Any]:
        ws = await connect(alice)
        ws.write_message(json.dumps({"id": 9, "cmd": "subscribe", "params": {"channels": ["x"]}}))
        answer = await receive(ws)
        ws.close()
        return answer

    answer = asyncio.run(scenario())
    assert (answer["id"], answer["type"]) == (9, "error")
