"""The simulator's HTTP and WebSocket routes (tornado), shaped like Kalshi's trade API v2.

Every route answers Kalshi's JSON; every refusal is ``{"error": {"code", "message"}}`` with
Kalshi's status. Portfolio routes and the WebSocket need a signed request; market data may be
read without one, as on Kalshi, but a request that carries signature headers must carry valid
ones. ``POST /api_keys`` registers a public key without a signature, so a first key can be
given to a fresh simulator: the simulator holds play money only and listens on loopback only.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from ..kinds.kalshi import HEADER_SIGNATURE, REST_PATH_PREFIX, WS_PATH, is_loopback
from .auth import TIMESTAMP_WINDOW_MS, KeyRegistry
from .book import DEFAULT_BALANCE_CENTS, DEFAULT_MARKETS, BookDelta, Exchange
from .errors import BadRequest, NotFound, SimError, SimulatorConfigError
from .models import CONTRACT_CENTS, Fill

MAX_BODY_BYTES: Final = 64 * 1024
_TICKER: Final = r"([A-Za-z0-9._-]{1,96})"
_ORDER_ID: Final = r"([A-Za-z0-9-]{1,64})"
CHANNEL_ORDERBOOK: Final = "orderbook_delta"
CHANNEL_FILL: Final = "fill"
CHANNELS: Final = (CHANNEL_ORDERBOOK, CHANNEL_FILL)
# Kalshi's WebSocket error codes for the commands the simulator understands.
WS_ERROR_UNKNOWN_COMMAND: Final = 5
WS_ERROR_BAD_PARAMS: Final = 2
WS_ERROR_UNKNOWN_CHANNEL: Final = 8


@dataclass
class Simulator:
    """One simulated exchange: its book, the keys it accepts and the sockets listening to it."""

    seed: int = 0
    markets: int = DEFAULT_MARKETS
    starting_balance: int = DEFAULT_BALANCE_CENTS
    window_ms: int = TIMESTAMP_WINDOW_MS
    exchange: Exchange = field(init=False)
    keys: KeyRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.exchange = Exchange(self.seed, self.markets, self.starting_balance)
        self.keys = KeyRegistry(self.exchange.new_id, self.window_ms)

    def application(self) -> tornado.web.Application:
        prefix = REST_PATH_PREFIX
        args = {"sim": self}
        return tornado.web.Application(
            [
                (rf"{prefix}/exchange/status", ExchangeStatus, args),
                (rf"{prefix}/markets", Markets, args),
                (rf"{prefix}/markets/{_TICKER}", OneMarket, args),
                (rf"{prefix}/markets/{_TICKER}/orderbook", Orderbook, args),
                (rf"{prefix}/api_keys", ApiKeys, args),
                (rf"{prefix}/portfolio/balance", Balance, args),
                (rf"{prefix}/portfolio/positions", Positions, args),
                (rf"{prefix}/portfolio/fills", Fills, args),
                (rf"{prefix}/portfolio/orders", Orders, args),
                (rf"{prefix}/portfolio/orders/{_ORDER_ID}", OneOrder, args),
                (WS_PATH, Stream, args),
            ],
            default_handler_class=Missing,
            default_handler_args=args,
        )


class Base(tornado.web.RequestHandler):
    """JSON in and out; a :class:`SimError` becomes Kalshi's error body with its status."""

    sim: Simulator

    def initialize(self, sim: Simulator) -> None:
        self.sim = sim

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def check_xsrf_cookie(self) -> None:
        """Requests are authenticated by signature, never by cookie."""

    def reply(self, body: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SimError):
            self.set_status(exc.status)
            self.finish(json.dumps(exc.body()))
            return
        reason = "not_found" if status_code == 404 else "internal_error"
        self.finish(json.dumps({"error": {"code": reason, "message": self._reason}}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, SimError):
            super().log_exception(typ, value, tb)

    def account(self) -> str:
        """The key id that signed this request (its account), or a 401."""
        return self.sim.keys.verify(
            self.request.method or "", self.request.path, self.request.headers
        )

    def optional_account(self) -> str | None:
        """Public data: no signature is needed, but one that is given must be valid."""
        if HEADER_SIGNATURE in self.request.headers:
            return self.account()
        return None

    def body(self) -> dict[str, Any]:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise BadRequest("request body too large")
        try:
            parsed = json.loads(self.request.body or b"{}")
        except ValueError:
            raise BadRequest("request body is not JSON") from None
        if not isinstance(parsed, dict):
            raise BadRequest("request body must be a JSON object")
        return parsed


class Missing(Base):
    def prepare(self) -> None:
        raise NotFound(f"no route {self.request.method} {self.request.path[:120]}")


class ExchangeStatus(Base):
    def get(self) -> None:
        self.optional_account()
        self.reply({"exchange_active": True, "trading_active": True})


class Markets(Base):
    def get(self) -> None:
        self.optional_account()
        exchange = self.sim.exchange
        wanted = {t for t in self.get_query_argument("tickers", "").split(",") if t}
        self.reply(
            {
                "markets": [
                    market.as_json(exchange.quotes(ticker))
                    for ticker, market in exchange.markets.items()
                    if not wanted or ticker in wanted
                ],
                "cursor": "",
            }
        )


class OneMarket(Base):
    def get(self, ticker: str) -> None:
        self.optional_account()
        exchange = self.sim.exchange
        self.reply({"market": exchange.market(ticker).as_json(exchange.quotes(ticker))})


class Orderbook(Base):
    def get(self, ticker: str) -> None:
        self.optional_account()
        exchange = self.sim.exchange
        exchange.market(ticker)
        self.reply({"orderbook": {side: exchange.levels(ticker, side) for side in ("yes", "no")}})


class ApiKeys(Base):
    def get(self) -> None:
        self.account()
        self.reply({"api_keys": self.sim.keys.listed()})

    def post(self) -> None:
        self.optional_account()
        body = self.body()
        name = body.get("name", "")
        if not isinstance(name, str):
            raise BadRequest("name must be text")
        key_id = self.sim.keys.register(body.get("public_key"), name[:100])  # type: ignore[arg-type]
        self.reply({"api_key_id": key_id}, 201)


class Balance(Base):
    def get(self) -> None:
        account = self.account()
        exchange = self.sim.exchange
        self.reply(
            {
                "balance": exchange.account(account).balance,
                "portfolio_value": exchange.portfolio_value(account),
                "updated_ts": int(time.time()),
            }
        )


class Positions(Base):
    def get(self) -> None:
        account = self.account()
        ticker = self.get_query_argument("ticker", "")
        rows = self.sim.exchange.positions_json(account)
        self.reply(
            {
                "market_positions": [r for r in rows if not ticker or r["ticker"] == ticker],
                "event_positions": [],
                "cursor": "",
            }
        )


class Fills(Base):
    def get(self) -> None:
        account = self.account()
        ticker = self.get_query_argument("ticker", "")
        fills = [
            fill.as_json()
            for fill in reversed(self.sim.exchange.fills)
            if fill.account == account and (not ticker or fill.ticker == ticker)
        ]
        self.reply({"fills": fills, "cursor": ""})


def _order_price(body: dict[str, Any], side: str) -> int:
    """The limit price of ``side`` from ``yes_price`` or ``no_price`` (one of them)."""
    yes, no = body.get("yes_price"), body.get("no_price")
    if (yes is None) == (no is None):
        raise BadRequest("give exactly one of yes_price and no_price")
    given = yes if yes is not None else no
    if not isinstance(given, int) or isinstance(given, bool):
        raise BadRequest("yes_price and no_price are whole cents")
    named = "yes" if yes is not None else "no"
    return given if named == side else CONTRACT_CENTS - given


class Orders(Base):
    def get(self) -> None:
        account = self.account()
        ticker = self.get_query_argument("ticker", "")
        status = self.get_query_argument("status", "")
        orders = [
            order.as_json()
            for order in reversed(self.sim.exchange.orders.values())
            if order.account == account
            and (not ticker or order.ticker == ticker)
            and (not status or order.status == status)
        ]
        self.reply({"orders": orders, "cursor": ""})

    def post(self) -> None:
        account = self.account()
        body = self.body()
        if body.get("type", "limit") != "limit":
            raise BadRequest("the simulator takes limit orders only")
        side, action = body.get("side"), body.get("action")
        ticker, count = body.get("ticker"), body.get("count")
        client_order_id = body.get("client_order_id", "")
        if not isinstance(ticker, str) or not isinstance(side, str) or not isinstance(action, str):
            raise BadRequest("ticker, side and action are required text fields")
        if not isinstance(client_order_id, str):
            raise BadRequest("client_order_id must be text")
        order = self.sim.exchange.place(
            account,
            ticker,
            side,
            action,
            count,  # type: ignore[arg-type]  # the exchange checks it
            _order_price(body, side),
            client_order_id[:64],
        )
        self.reply({"order": order.as_json()}, 201)


class OneOrder(Base):
    def get(self, order_id: str) -> None:
        account = self.account()
        order = self.sim.exchange.orders.get(order_id)
        if order is None or order.account != account:
            raise NotFound(f"order {order_id!r} not found")
        self.reply({"order": order.as_json()})

    def delete(self, order_id: str) -> None:
        account = self.account()
        order, reduced = self.sim.exchange.cancel(account, order_id)
        self.reply({"order": order.as_json(), "reduced_by": reduced})


@dataclass
class _Subscription:
    channel: str
    tickers: frozenset[str]
    seq: int = 0


class Stream(tornado.websocket.WebSocketHandler):
    """``/trade-api/ws/v2``: a signed handshake, then subscribe to order books and fills."""

    sim: Simulator

    def initialize(self, sim: Simulator) -> None:
        self.sim = sim
        self.key_id = ""
        self.subscriptions: dict[int, _Subscription] = {}
        self._next_sid = 1

    def prepare(self) -> None:
        try:
            self.key_id = self.sim.keys.verify("GET", self.request.path, self.request.headers)
        except SimError as exc:
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps(exc.body()))

    def check_origin(self, origin: str) -> bool:
        # Authentication is the signed handshake, not the browser's origin.
        return True

    def open(self, *args: str, **kwargs: str) -> None:
        self.sim.exchange.listeners.append(self._on_event)

    def on_close(self) -> None:
        if self._on_event in self.sim.exchange.listeners:
            self.sim.exchange.listeners.remove(self._on_event)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.write_message(json.dumps(message))
        except tornado.websocket.WebSocketClosedError:
            self.on_close()

    def _error(self, command_id: object, code: int, text: str) -> None:
        self._send({"id": command_id, "type": "error", "msg": {"code": code, "msg": text}})

    def on_message(self, message: str | bytes) -> None:
        try:
            command = json.loads(message)
        except ValueError:
            command = None
        if not isinstance(command, dict):
            self._error(None, WS_ERROR_BAD_PARAMS, "a command is a JSON object")
            return
        command_id = command.get("id")
        params = command.get("params") or {}
        if not isinstance(params, dict):
            self._error(command_id, WS_ERROR_BAD_PARAMS, "params must be an object")
        elif command.get("cmd") == "subscribe":
            self._subscribe(command_id, params)
        elif command.get("cmd") == "unsubscribe":
            for sid in params.get("sids") or []:
                if self.subscriptions.pop(sid, None) is not None:
                    self._send({"id": command_id, "type": "unsubscribed", "sid": sid})
        else:
            self._error(command_id, WS_ERROR_UNKNOWN_COMMAND, "unknown command")

    def _subscribe(self, command_id: object, params: dict[str, Any]) -> None:
        channels = params.get("channels")
        tickers = params.get("market_tickers") or (
            [params["market_ticker"]] if "market_ticker" in params else []
        )
        if not isinstance(channels, list) or not isinstance(tickers, list):
            self._error(command_id, WS_ERROR_BAD_PARAMS, "channels and market_tickers are lists")
            return
        unknown = [t for t in tickers if t not in self.sim.exchange.markets]
        if unknown:
            self._error(command_id, WS_ERROR_BAD_PARAMS, f"unknown market {str(unknown[0])[:64]}")
            return
        for channel in channels:
            if channel not in CHANNELS:
                self._error(
                    command_id, WS_ERROR_UNKNOWN_CHANNEL, f"unknown channel {channel!s:.40}"
                )
                continue
            if channel == CHANNEL_ORDERBOOK and not tickers:
                self._error(command_id, WS_ERROR_BAD_PARAMS, "orderbook_delta needs market_tickers")
                continue
            sid = self._next_sid
            self._next_sid += 1
            subscription = _Subscription(channel, frozenset(tickers))
            self.subscriptions[sid] = subscription
            self._send(
                {"id": command_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}}
            )
            if channel == CHANNEL_ORDERBOOK:
                for ticker in tickers:
                    subscription.seq += 1
                    self._send(
                        {
                            "type": "orderbook_snapshot",
                            "sid": sid,
                            "seq": subscription.seq,
                            "msg": {
                                "market_ticker": ticker,
                                "yes": self.sim.exchange.levels(ticker, "yes"),
                                "no": self.sim.exchange.levels(ticker, "no"),
                            },
                        }
                    )

    def _on_event(self, event: BookDelta | Fill) -> None:
        for sid, subscription in list(self.subscriptions.items()):
            if isinstance(event, BookDelta) and subscription.channel == CHANNEL_ORDERBOOK:
                if event.ticker not in subscription.tickers:
                    continue
                subscription.seq += 1
                self._send(
                    {
                        "type": "orderbook_delta",
                        "sid": sid,
                        "seq": subscription.seq,
                        "msg": {
                            "market_ticker": event.ticker,
                            "price": event.price,
                            "delta": event.delta,
                            "side": event.side,
                        },
                    }
                )
            elif isinstance(event, Fill) and subscription.channel == CHANNEL_FILL:
                if event.account != self.key_id:
                    continue
                if subscription.tickers and event.ticker not in subscription.tickers:
                    continue
                self._send({"type": "fill", "sid": sid, "msg": event.as_json()})


# --- serving ----------------------------------------------------------------------------------


def checked_host(host: str) -> str:
    """Only loopback: the simulator has no TLS and lets anyone on it register a key."""
    if not is_loopback(host):
        raise SimulatorConfigError(
            f"The simulator listens on this machine only (127.0.0.1, ::1 or localhost), "
            f"not {host[:60]!r}: it has no TLS and registers keys without a signature."
        )
    return host


class RunningSimulator:
    """A simulator served on its own thread and event loop (for tests and notebooks)."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = checked_host(host)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(port,), daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self, port: int) -> None:
        asyncio.run(self._serve(port))

    async def _serve(self, port: int) -> None:
        try:
            server, self.port = listen(self.sim, self.host, port)
        except BaseException as exc:  # reported to the starting thread
            self._failure = exc
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()
        await server.close_all_connections()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()


def listen(sim: Simulator, host: str, port: int) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Bind ``host:port`` (0 picks a free port) on the running loop; returns the real port."""
    sockets = tornado.netutil.bind_sockets(port, checked_host(host))
    server = tornado.httpserver.HTTPServer(sim.application(), max_body_size=MAX_BODY_BYTES)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]
